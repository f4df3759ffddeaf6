//! Hydration entry point (filled in by the dashboard work).
