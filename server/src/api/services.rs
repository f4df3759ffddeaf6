//! The simulated services for operators: ledgers, stock, fault knobs and
//! card declines, through the services handle this process hosts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{Actor, ApiPath, ApiQuery, Operator, limit};
use super::openapi::{ActorAuth, JsonBodyErrors, OperatorAuth};
use super::{ApiError, ApiJson};
use crate::services::faults::FaultUpdate;
use crate::services::{
    AllFaults, DeclineStatus, ErrorBody, FaultConfig, Ledger, ServiceName, Services, Stock,
};
use crate::state::AppState;

fn hosted(state: &AppState) -> Result<&Services, ApiError> {
    state.services.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "services_not_hosted",
            "this process does not host the simulated services",
        )
    })
}

fn service(name: &str) -> Result<ServiceName, ApiError> {
    name.parse::<ServiceName>().map_err(|_| {
        ApiError::not_found(format!("no simulated service is called `{name}`"))
            .with_details(serde_json::json!({ "known": ServiceName::ALL.map(ServiceName::as_str) }))
    })
}

/// The faults of every simulated service.
#[utoipa::path(
    get,
    path = "/api/services/faults",
    operation_id = "all_faults",
    tag = "services",
    security(("operator" = [])),
    responses(
        (status = 200, description = "The faults, by service.", body = AllFaults),
        (status = 404, description = "This process does not host the simulated services \
            (`services_not_hosted`).", body = ErrorBody),
        OperatorAuth,
    )
)]
pub async fn all_faults(
    State(state): State<AppState>,
    _: Operator,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(hosted(&state)?.all_faults()))
}

/// The faults of one simulated service.
#[utoipa::path(
    get,
    path = "/api/services/{service}/faults",
    operation_id = "service_faults",
    tag = "services",
    security(("operator" = [])),
    params(("service" = ServiceName, Path, description = "The service.")),
    responses(
        (status = 200, description = "The service's faults.", body = FaultConfig),
        (status = 400, description = "The name is not UTF-8 (`invalid_path`).",
            body = ErrorBody),
        (status = 404, description = "No such service (`not_found`), or this process does not \
            host the simulated services (`services_not_hosted`).", body = ErrorBody),
        OperatorAuth,
    )
)]
pub async fn faults(
    State(state): State<AppState>,
    _: Operator,
    ApiPath(name): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(hosted(&state)?.faults(service(&name)?)))
}

/// Change the faults of one simulated service.
///
/// Fields left out keep their value; an out-of-range value changes nothing.
#[utoipa::path(
    put,
    path = "/api/services/{service}/faults",
    operation_id = "set_service_faults",
    tag = "services",
    security(("operator" = [])),
    params(("service" = ServiceName, Path, description = "The service.")),
    request_body = FaultUpdate,
    responses(
        (status = 200, description = "The service's faults now.", body = FaultConfig),
        (status = 404, description = "No such service (`not_found`), or this process does not \
            host the simulated services (`services_not_hosted`).", body = ErrorBody),
        (status = 422, description = "The body does not fit (`invalid_request`), or a value is \
            out of range (`rejected`, with the reasons in `details`).", body = ErrorBody),
        JsonBodyErrors,
        ActorAuth,
    )
)]
pub async fn set_faults(
    State(state): State<AppState>,
    _: Actor,
    ApiPath(name): ApiPath<String>,
    ApiJson(update): ApiJson<FaultUpdate>,
) -> Result<impl IntoResponse, ApiError> {
    let services = hosted(&state)?;
    Ok(ApiJson(services.update_faults(service(&name)?, &update)?))
}

/// Query of a ledger.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// The newest this many entries, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The ledger of one simulated service.
///
/// Every mutating call it answered, by idempotency key, newest first.
#[utoipa::path(
    get,
    path = "/api/services/{service}/ledger",
    operation_id = "service_ledger",
    tag = "services",
    security(("operator" = [])),
    params(("service" = ServiceName, Path, description = "The service."), LedgerQuery),
    responses(
        (status = 200, description = "The newest entries.", body = Ledger),
        (status = 400, description = "The name is not UTF-8 (`invalid_path`).",
            body = ErrorBody),
        (status = 404, description = "No such service (`not_found`), or this process does not \
            host the simulated services (`services_not_hosted`).", body = ErrorBody),
        (status = 422, description = "A query parameter does not fit (`invalid_request`).",
            body = ErrorBody),
        (status = 500, description = "The services' database failed (`internal`).",
            body = ErrorBody),
        OperatorAuth,
    )
)]
pub async fn ledger(
    State(state): State<AppState>,
    _: Operator,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = i64::from(limit(q.limit, 100)?);
    Ok(ApiJson(
        hosted(&state)?.ledger(service(&name)?, limit).await?,
    ))
}

/// The inventory's items and their stock.
#[utoipa::path(
    get,
    path = "/api/services/inventory/stock",
    operation_id = "inventory_stock",
    tag = "services",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Every item.", body = Stock),
        (status = 404, description = "This process does not host the simulated services \
            (`services_not_hosted`).", body = ErrorBody),
        (status = 500, description = "The services' database failed (`internal`).",
            body = ErrorBody),
        OperatorAuth,
    )
)]
pub async fn stock(
    State(state): State<AppState>,
    _: Operator,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(hosted(&state)?.stock().await?))
}

/// The body of `PUT /api/services/payment/declines/{user}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decline {
    /// True: the user's charges are declined (`card_declined`); false:
    /// they go through.
    pub decline: bool,
}

/// Decline a user's card, or stop declining it.
#[utoipa::path(
    put,
    path = "/api/services/payment/declines/{user}",
    operation_id = "set_decline",
    tag = "services",
    security(("operator" = [])),
    params(("user" = String, Path, description = "The user (a customer token's `sub`).")),
    request_body = Decline,
    responses(
        (status = 200, description = "The user's switch now.", body = DeclineStatus),
        (status = 404, description = "This process does not host the simulated services \
            (`services_not_hosted`).", body = ErrorBody),
        (status = 422, description = "The body does not fit (`invalid_request`), or the user is \
            blank (`rejected`).", body = ErrorBody),
        (status = 500, description = "The services' database failed (`internal`).",
            body = ErrorBody),
        JsonBodyErrors,
        ActorAuth,
    )
)]
pub async fn set_decline(
    State(state): State<AppState>,
    _: Actor,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<Decline>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(
        hosted(&state)?.set_decline(&user, body.decline).await?,
    ))
}
