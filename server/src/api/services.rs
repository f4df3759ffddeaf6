//! The simulated services for operators: ledgers, stock, fault knobs and
//! card declines, through the services handle this process hosts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::extract::{Actor, ApiQuery, Operator};
use super::{ApiError, ApiJson};
use crate::services::faults::FaultUpdate;
use crate::services::{ServiceName, Services};
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

pub async fn all_faults(
    State(state): State<AppState>,
    _: Operator,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(hosted(&state)?.all_faults()))
}

pub async fn faults(
    State(state): State<AppState>,
    _: Operator,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(hosted(&state)?.faults(service(&name)?)))
}

pub async fn set_faults(
    State(state): State<AppState>,
    _: Actor,
    Path(name): Path<String>,
    ApiJson(update): ApiJson<FaultUpdate>,
) -> Result<impl IntoResponse, ApiError> {
    let services = hosted(&state)?;
    Ok(ApiJson(services.update_faults(service(&name)?, &update)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    pub limit: Option<u32>,
}

pub async fn ledger(
    State(state): State<AppState>,
    _: Operator,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000) as i64;
    Ok(ApiJson(
        hosted(&state)?.ledger(service(&name)?, limit).await?,
    ))
}

pub async fn stock(
    State(state): State<AppState>,
    _: Operator,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(hosted(&state)?.stock().await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decline {
    pub decline: bool,
}

pub async fn set_decline(
    State(state): State<AppState>,
    _: Actor,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<Decline>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(
        hosted(&state)?.set_decline(&user, body.decline).await?,
    ))
}
