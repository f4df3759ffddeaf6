//! The JSON HTTP API: orders for customers, workflows and services for
//! operators, and the operational endpoints (health, readiness, metrics).

pub mod error;
mod extract;
mod ops;
mod orders;
mod services;
mod workflows;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

pub use error::{ApiError, ApiJson};

use crate::state::AppState;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every API route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/orders", post(orders::create))
        .route("/api/orders/{id}", get(orders::show))
        .route("/api/workflows", get(workflows::list))
        .route("/api/workflows/{id}", get(workflows::describe))
        .route("/api/workflows/{id}/history", get(workflows::history))
        .route("/api/workflows/{id}/cancel", post(workflows::cancel))
        .route("/api/workflows/{id}/terminate", post(workflows::terminate))
        .route("/api/workflows/{id}/retry", post(workflows::retry))
        .route("/api/workflows/{id}/signal/{name}", post(workflows::signal))
        .route(
            "/api/workflows/{id}/activities/{seq}/retry-now",
            post(workflows::retry_activity_now),
        )
        .route(
            "/api/workflows/{id}/timers/{seq}/fire-now",
            post(workflows::fire_timer_now),
        )
        .route(
            "/api/pending/activities",
            get(workflows::pending_activities),
        )
        .route("/api/pending/timers", get(workflows::pending_timers))
        .route("/api/services/faults", get(services::all_faults))
        .route(
            "/api/services/{service}/faults",
            get(services::faults).put(services::set_faults),
        )
        .route("/api/services/{service}/ledger", get(services::ledger))
        .route("/api/services/inventory/stock", get(services::stock))
        .route(
            "/api/services/payment/declines/{user}",
            put(services::set_decline),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/{*rest}", axum::routing::any(ops::not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
