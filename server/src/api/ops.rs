//! Operational endpoints: liveness, readiness, Prometheus metrics, and the
//! JSON 404 for unknown API paths.

use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, ApiJson};
use crate::services::ErrorBody;
use crate::state::AppState;

/// How the process is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (liveness) or `ready` (readiness).
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    responses((status = 200, description = "Up: `{\"status\": \"ok\"}`.", body = Health))
)]
pub async fn healthz() -> impl IntoResponse {
    ApiJson(Health { status: "ok" })
}

/// Readiness: the process can serve.
///
/// Its database answers and it is not draining.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\"}`.", body = Health),
        (status = 503, description = "Shutting down (`draining`), or the database does not \
            answer (`database_unavailable`).", body = ErrorBody),
    )
)]
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
    Ok(ApiJson(Health { status: "ready" }))
}

/// Prometheus metrics.
///
/// The text exposition format (version 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses((status = 200, description = "The metrics.", body = String,
        content_type = "text/plain"))
)]
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
