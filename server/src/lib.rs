//! The steadfast server: wiring of the engine, the orders domain, the
//! simulated downstream services and the dashboard.

pub mod api;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod metrics;
pub mod orders;
pub mod serve;
pub mod services;
pub mod sessions;
pub mod state;
pub mod web;
