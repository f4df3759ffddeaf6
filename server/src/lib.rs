//! The steadfast server: wiring of the engine, the orders domain, the
//! simulated downstream services and the dashboard.
