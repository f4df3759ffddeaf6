//! The operations dashboard (filled in by the dashboard work).
