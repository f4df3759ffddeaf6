//! `POST /api/orders` and `GET /api/orders/{id}` for customers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use engine::{Failure, WorkflowStatus};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::extract::{ApiPath, Customer};
use super::openapi::{CustomerAuth, JsonBodyErrors, ServerErrors};
use super::{ApiError, ApiJson};
use crate::orders::model::{Order, OrderRequest};
use crate::orders::place::{self, place};
use crate::services::ErrorBody;
use crate::state::AppState;

/// Where to look at an order next.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLinks {
    /// This order, for its customer: `GET /api/orders/{id}`.
    pub order: String,
    /// Its workflow, for operators: `GET /api/workflows/{id}`.
    pub workflow: String,
    /// Its page on the dashboard.
    pub dashboard: String,
}

/// Links to what a caller may look at next.
fn links(id: &str) -> OrderLinks {
    let id = urlencode(id);
    OrderLinks {
        order: format!("/api/orders/{id}"),
        workflow: format!("/api/workflows/{id}"),
        dashboard: format!("/workflows/{id}"),
    }
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

/// The answer to a new order: its workflow runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderAccepted {
    /// The order's workflow id: its request id.
    pub workflow_id: String,
    /// `running`.
    pub status: WorkflowStatus,
    pub links: OrderLinks,
}

/// A customer's order: where it stands and how it ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub workflow_id: String,
    pub status: WorkflowStatus,
    /// The run of the workflow (an operator retry starts the next).
    pub run: u32,
    /// What a completed order returns: `reservation_id`, `charge_id`,
    /// `amount_cents`, `tracking_id`.
    pub result: Option<Value>,
    /// Why the order failed, was cancelled or was stopped.
    pub error: Option<Failure>,
    pub links: OrderLinks,
}

/// Place an order.
///
/// Starts `process_order` (reserve, charge, ship) for the caller. The
/// request id is the idempotency key and becomes the workflow id.
#[utoipa::path(
    post,
    path = "/api/orders",
    operation_id = "create_order",
    tag = "orders",
    security(("customer" = [])),
    request_body = OrderRequest,
    responses(
        (status = 202, description = "The order's workflow started.", body = OrderAccepted,
            links(
                ("GetOrder" = (operation_id = "get_order",
                    parameters(("id" = "$response.body#/workflow_id")))),
                ("DescribeWorkflow" = (operation_id = "describe_workflow",
                    parameters(("id" = "$response.body#/workflow_id")))),
                ("WorkflowHistory" = (operation_id = "workflow_history",
                    parameters(("id" = "$response.body#/workflow_id")))),
                ("CancelWorkflow" = (operation_id = "cancel_workflow",
                    parameters(("id" = "$response.body#/workflow_id")))),
                ("TerminateWorkflow" = (operation_id = "terminate_workflow",
                    parameters(("id" = "$response.body#/workflow_id")))),
                ("RetryWorkflow" = (operation_id = "retry_workflow",
                    parameters(("id" = "$response.body#/workflow_id")))),
                ("SignalWorkflow" = (operation_id = "signal_workflow",
                    parameters(("id" = "$response.body#/workflow_id")))),
            )),
        (status = 409, description = "The request id was already submitted \
            (`already_submitted`: the existing workflow is the order) or used with other \
            data (`idempotency_key_reused`); `details` has `workflow_id` and `links`.",
            body = ErrorBody),
        (status = 422, description = "The body does not fit (`invalid_request`); for invalid \
            values `details.fields` lists each field and why.", body = ErrorBody),
        JsonBodyErrors,
        CustomerAuth,
        ServerErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Customer(user): Customer,
    ApiJson(request): ApiJson<OrderRequest>,
) -> Result<impl IntoResponse, ApiError> {
    match place(&state.client, &user, request, state.hold_seconds).await {
        Ok(id) => Ok((
            StatusCode::ACCEPTED,
            ApiJson(OrderAccepted {
                links: links(&id),
                workflow_id: id,
                status: WorkflowStatus::Running,
            }),
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

/// One of the caller's orders.
///
/// Its status and outcome. Orders of other customers are not found.
#[utoipa::path(
    get,
    path = "/api/orders/{id}",
    operation_id = "get_order",
    tag = "orders",
    security(("customer" = [])),
    params(("id" = String, Path, description = "The order's request id.")),
    responses(
        (status = 200, description = "The order.", body = OrderView),
        (status = 400, description = "The id is not UTF-8 (`invalid_path`).", body = ErrorBody),
        (status = 404, description = "The caller has no such order (`not_found`).",
            body = ErrorBody),
        CustomerAuth,
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Customer(user): Customer,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::not_found(format!("you have no order `{id}`"));
    let record = state.client.get(&id).await.map_err(|_| not_found())?;
    let order: Order = serde_json::from_value(record.input.clone()).map_err(|_| not_found())?;
    if order.user != user {
        return Err(not_found());
    }
    Ok(ApiJson(OrderView {
        links: links(&record.id),
        workflow_id: record.id,
        status: record.status,
        run: record.run,
        result: record.result,
        error: record.error,
    }))
}
