//! The JSON HTTP API: orders for customers, workflows and services for
//! operators, and the operational endpoints (health, readiness, metrics,
//! and the OpenAPI document at `GET /api/openapi.json`).

pub mod error;
mod extract;
pub mod openapi;
mod ops;
mod orders;
mod services;
mod workflows;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

pub use error::{ApiError, ApiJson};

use crate::state::AppState;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// One endpoint: a method and a path (axum's syntax, which is also
/// OpenAPI's: `/api/workflows/{id}`) and the handler mounted there.
///
/// [`routes`] (and [`crate::services::routes`]) list every endpoint once;
/// the router mounts exactly those, and a test checks that the OpenAPI
/// document describes each of them and nothing else.
pub struct Route<S> {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<S>,
}

impl<S: Clone + Send + Sync + 'static> Route<S> {
    pub fn get<H: Handler<T, S>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Method::GET, path, axum::routing::get(handler))
    }

    pub fn post<H: Handler<T, S>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Method::POST, path, axum::routing::post(handler))
    }

    pub fn put<H: Handler<T, S>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self::new(Method::PUT, path, axum::routing::put(handler))
    }

    fn new(method: Method, path: &'static str, handler: MethodRouter<S>) -> Self {
        Self {
            method,
            path,
            handler,
        }
    }
}

/// A router with every route of `routes` (routes of one path share it).
pub fn mount<S: Clone + Send + Sync + 'static>(routes: Vec<Route<S>>) -> Router<S> {
    routes.into_iter().fold(Router::new(), |router, route| {
        router.route(route.path, route.handler)
    })
}

/// Every endpoint of the API.
pub fn routes() -> Vec<Route<AppState>> {
    vec![
        Route::post("/api/orders", orders::create),
        Route::get("/api/orders/{id}", orders::show),
        Route::get("/api/workflows", workflows::list),
        Route::get("/api/workflows/{id}", workflows::describe),
        Route::get("/api/workflows/{id}/history", workflows::history),
        Route::post("/api/workflows/{id}/cancel", workflows::cancel),
        Route::post("/api/workflows/{id}/terminate", workflows::terminate),
        Route::post("/api/workflows/{id}/retry", workflows::retry),
        Route::post("/api/workflows/{id}/signal/{name}", workflows::signal),
        Route::post(
            "/api/workflows/{id}/activities/{seq}/retry-now",
            workflows::retry_activity_now,
        ),
        Route::post(
            "/api/workflows/{id}/timers/{seq}/fire-now",
            workflows::fire_timer_now,
        ),
        Route::get("/api/pending/activities", workflows::pending_activities),
        Route::get("/api/pending/timers", workflows::pending_timers),
        Route::get("/api/services/faults", services::all_faults),
        Route::get("/api/services/{service}/faults", services::faults),
        Route::put("/api/services/{service}/faults", services::set_faults),
        Route::get("/api/services/{service}/ledger", services::ledger),
        Route::get("/api/services/inventory/stock", services::stock),
        Route::put(
            "/api/services/payment/declines/{user}",
            services::set_decline,
        ),
        Route::get("/api/openapi.json", openapi::serve),
        Route::get("/healthz", ops::healthz),
        Route::get("/readyz", ops::readyz),
        Route::get("/metrics", ops::metrics),
    ]
}

/// The API's router.
pub fn router(state: AppState) -> Router {
    mount(routes())
        // Not an endpoint (so neither in `routes` nor in the document):
        // unknown paths under the API answer in the API's error shape.
        .route("/api/{*rest}", axum::routing::any(ops::not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
