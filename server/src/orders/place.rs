//! Placing an order: the one start-order path that the API and the
//! dashboard's order form share. It validates, starts `process_order` under
//! the request id, and tells a repeated request from a reused key.

use super::WORKFLOW_TYPE;
use super::model::{FieldError, Order, OrderRequest};

/// Why an order was not placed. Nothing was persisted in any case.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the order is invalid")]
    Invalid(Vec<FieldError>),
    #[error("request `{0}` was already submitted")]
    AlreadySubmitted(String),
    #[error("request id `{0}` was already used for a different order")]
    KeyReused(String),
    #[error(transparent)]
    Engine(#[from] engine::Error),
}

/// Starts `process_order` for `user`; answers once the start is durable.
pub async fn place(
    client: &engine::Client,
    user: &str,
    request: OrderRequest,
    hold_seconds: u64,
) -> Result<String, Error> {
    request.validate().map_err(Error::Invalid)?;
    let order = request.into_order(user, hold_seconds);
    match client.start(WORKFLOW_TYPE, &order.order_id, &order).await? {
        engine::Start::Started { id, .. } => Ok(id),
        engine::Start::AlreadyStarted(existing) => Err(refusal(&existing, &order)),
    }
}

/// [`place`], then waits up to `timeout` for the order's workflow to end
/// (see [`engine::Client::execute`]).
pub async fn place_and_wait(
    client: &engine::Client,
    user: &str,
    request: OrderRequest,
    timeout: std::time::Duration,
) -> Result<engine::WorkflowRecord, Error> {
    request.validate().map_err(Error::Invalid)?;
    let order = request.into_order(user, 0);
    match client
        .execute(WORKFLOW_TYPE, &order.order_id, &order, timeout)
        .await?
    {
        engine::Execution::Closed(record) => Ok(*record),
        engine::Execution::AlreadyStarted(existing) => Err(refusal(&existing, &order)),
    }
}

/// Why an existing workflow under the order's id refuses it: the same
/// request again, or its key reused for another order.
fn refusal(existing: &engine::WorkflowRecord, order: &Order) -> Error {
    let same = existing.workflow_type == WORKFLOW_TYPE
        && serde_json::from_value::<Order>(existing.input.clone())
            .is_ok_and(|earlier| earlier.same_request(order));
    if same {
        Error::AlreadySubmitted(existing.id.clone())
    } else {
        Error::KeyReused(existing.id.clone())
    }
}
