//! Workflows for operators: list, describe, history, and the actions.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Actor, ApiQuery, Operator, optional_body};
use super::{ApiError, ApiJson};
use crate::state::AppState;
use engine::{Cursor, ListFilter, RetryMode, Timestamp, WorkflowStatus};

/// Query of `GET /api/workflows`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<WorkflowStatus>,
    #[serde(rename = "type")]
    pub workflow_type: Option<String>,
    pub id_prefix: Option<String>,
    pub started_after: Option<Timestamp>,
    pub started_before: Option<Timestamp>,
    #[serde(default)]
    pub backing_off: bool,
    #[serde(default)]
    pub waiting_on_timer: bool,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit must be between 1 and 1000")
            .with_details(json!({ "field": "limit" })));
    }
    let cursor = q.cursor.as_deref().map(Cursor::decode).transpose()?;
    let filter = ListFilter {
        status: q.status,
        workflow_type: q.workflow_type,
        id_prefix: q.id_prefix,
        started_after: q.started_after,
        started_before: q.started_before,
        backing_off: q.backing_off,
        waiting_on_timer: q.waiting_on_timer,
    };
    let page = state.client.list(&filter, cursor.as_ref(), limit).await?;
    let counts = state.client.counts(&filter).await?;
    Ok(ApiJson(json!({
        "workflows": page.workflows,
        "next_cursor": page.next.map(|c| c.encode()),
        "counts": counts,
    })))
}

pub async fn describe(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(state.client.describe(&id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub run: Option<u32>,
}

pub async fn history(
    State(state): State<AppState>,
    _: Operator,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let events = state.client.history(&id, q.run).await?;
    Ok(ApiJson(json!({ "events": events })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    #[serde(default)]
    pub reason: Option<String>,
}

fn reason(body: &[u8], default: &str) -> Result<String, ApiError> {
    let reason = optional_body::<Reason>(body)?.unwrap_or_default().reason;
    let reason = reason.unwrap_or_else(|| default.to_string());
    if reason.len() > 1_000 {
        return Err(ApiError::invalid("reason must be at most 1000 bytes"));
    }
    Ok(reason)
}

fn done(action: &str, id: &str) -> impl IntoResponse + use<> {
    (
        StatusCode::ACCEPTED,
        ApiJson(json!({ "workflow_id": id, "accepted": action })),
    )
}

pub async fn cancel(
    State(state): State<AppState>,
    _: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    state
        .client
        .cancel(&id, &reason(&body, "cancelled by an operator")?)
        .await?;
    Ok(done("cancel", &id))
}

pub async fn terminate(
    State(state): State<AppState>,
    _: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    state
        .client
        .terminate(&id, &reason(&body, "terminated by an operator")?)
        .await?;
    Ok(done("terminate", &id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    pub mode: RetryMode,
}

pub async fn retry(
    State(state): State<AppState>,
    _: Actor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let mode = optional_body::<RetryBody>(&body)?.map_or(RetryMode::FromStart, |b| b.mode);
    let run = state.client.retry(&id, mode).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(json!({ "workflow_id": id, "run": run, "mode": mode })),
    ))
}

pub async fn signal(
    State(state): State<AppState>,
    _: Actor,
    Path((id, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let payload = optional_body::<Value>(&body)?.unwrap_or(Value::Null);
    state.client.signal(&id, &name, payload).await?;
    Ok(done("signal", &id))
}

pub async fn retry_activity_now(
    State(state): State<AppState>,
    _: Actor,
    Path((id, seq)): Path<(String, u32)>,
) -> Result<impl IntoResponse, ApiError> {
    state.client.retry_activity_now(&id, seq).await?;
    Ok(done("retry_activity_now", &id))
}

pub async fn fire_timer_now(
    State(state): State<AppState>,
    _: Actor,
    Path((id, seq)): Path<(String, u32)>,
) -> Result<impl IntoResponse, ApiError> {
    state.client.fire_timer_now(&id, seq).await?;
    Ok(done("fire_timer_now", &id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingQuery {
    #[serde(default)]
    pub backing_off: bool,
    pub limit: Option<u32>,
}

pub async fn pending_activities(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(q): ApiQuery<PendingQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let activities = state
        .client
        .pending_activities(q.backing_off, q.limit.unwrap_or(200))
        .await?;
    Ok(ApiJson(json!({ "activities": activities })))
}

pub async fn pending_timers(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(q): ApiQuery<PendingQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let timers = state.client.pending_timers(q.limit.unwrap_or(200)).await?;
    Ok(ApiJson(json!({ "timers": timers })))
}
