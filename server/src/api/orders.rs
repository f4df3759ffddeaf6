//! `POST /api/orders` and `GET /api/orders/{id}` for customers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use super::extract::Customer;
use super::{ApiError, ApiJson};
use crate::orders::model::{Order, OrderRequest};
use crate::orders::place::{self, place};
use crate::state::AppState;

/// Links to what a caller may look at next.
fn links(id: &str) -> serde_json::Value {
    let id = urlencode(id);
    json!({
        "order": format!("/api/orders/{id}"),
        "workflow": format!("/api/workflows/{id}"),
        "dashboard": format!("/workflows/{id}"),
    })
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Starts `process_order`: 202 with the workflow id, 409 for a repeated or
/// reused request id, 422 with per-field details for invalid values.
pub async fn create(
    State(state): State<AppState>,
    Customer(user): Customer,
    ApiJson(request): ApiJson<OrderRequest>,
) -> Result<impl IntoResponse, ApiError> {
    match place(&state.client, &user, request, state.hold_seconds).await {
        Ok(id) => Ok((
            StatusCode::ACCEPTED,
            ApiJson(json!({ "workflow_id": id, "status": "running", "links": links(&id) })),
        )),
        Err(place::Error::Invalid(fields)) => {
            Err(ApiError::invalid("the order has invalid fields")
                .with_details(json!({ "fields": fields })))
        }
        Err(place::Error::AlreadySubmitted(id)) => Err(ApiError::conflict(
            "already_submitted",
            format!("request `{id}` was already submitted; its order is the existing workflow"),
        )
        .with_details(json!({ "workflow_id": id, "links": links(&id) }))),
        Err(place::Error::KeyReused(id)) => Err(ApiError::conflict(
            "idempotency_key_reused",
            format!("request id `{id}` was already used with other data; use a new request id"),
        )
        .with_details(json!({ "workflow_id": id, "links": links(&id) }))),
        Err(place::Error::Engine(e)) => Err(e.into()),
    }
}

/// The caller's own order: its status and outcome.
pub async fn show(
    State(state): State<AppState>,
    Customer(user): Customer,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::not_found(format!("you have no order `{id}`"));
    let record = state.client.get(&id).await.map_err(|_| not_found())?;
    let order: Order = serde_json::from_value(record.input.clone()).map_err(|_| not_found())?;
    if order.user != user {
        return Err(not_found());
    }
    Ok(ApiJson(json!({
        "workflow_id": record.id,
        "status": record.status,
        "run": record.run,
        "result": record.result,
        "error": record.error,
        "links": links(&record.id),
    })))
}
