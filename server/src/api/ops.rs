//! Operational endpoints: liveness, readiness, Prometheus metrics, and the
//! JSON 404 for unknown API paths.

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;

use super::{ApiError, ApiJson};
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> impl IntoResponse {
    ApiJson(serde_json::json!({ "status": "ok" }))
}

/// The process can serve: its database answers and it is not draining.
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    if !state.is_ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "shutting down",
        ));
    }
    state
        .client
        .counts(&engine::ListFilter::default())
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                e.to_string(),
            )
        })?;
    Ok(ApiJson(serde_json::json!({ "status": "ready" })))
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = match &state.metrics {
        Some(handle) => {
            crate::metrics::refresh_gauges(&state.client).await;
            handle.render()
        }
        None => String::new(),
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Unknown paths under the API answer in the API's error shape.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}
