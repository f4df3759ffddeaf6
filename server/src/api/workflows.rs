//! Workflows for operators: list, describe, history, and the actions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::extract::{
    Actor, ApiBody, ApiPath, ApiQuery, Operator, limit, optional_json, optional_object,
};
use super::openapi::{ActorAuth, OperatorAuth, OptionalBodyErrors, ServerErrors};
use super::{ApiError, ApiJson};
use crate::services::ErrorBody;
use crate::state::AppState;
use engine::{
    Counts, Cursor, Description, Event, ListFilter, PendingActivity, PendingTimer, RetryMode,
    Timestamp, WorkflowRecord, WorkflowStatus,
};

/// Query of `GET /api/workflows`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only workflows in this status.
    #[param(inline)]
    pub status: Option<WorkflowStatus>,
    /// Only workflows of this type, such as `process_order`.
    #[serde(rename = "type")]
    pub workflow_type: Option<String>,
    /// Only workflows whose id starts with this.
    pub id_prefix: Option<String>,
    /// Only workflows started at or after this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub started_after: Option<Timestamp>,
    /// Only workflows started before this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub started_before: Option<Timestamp>,
    /// Only workflows with an activity backing off after a failure.
    #[serde(default)]
    pub backing_off: bool,
    /// Only workflows waiting on a timer.
    #[serde(default)]
    pub waiting_on_timer: bool,
    /// Where the page starts: the `next_cursor` of the previous page (empty:
    /// the first page).
    pub cursor: Option<String>,
    /// Workflows per page, 1 to 1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// One page of workflows, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowList {
    pub workflows: Vec<WorkflowRecord>,
    /// The `cursor` of the next page; null on the last one.
    pub next_cursor: Option<String>,
    /// Workflows per status that match the filter (its status aside).
    pub counts: Counts,
}

/// List workflows.
///
/// Newest first, filtered, a page at a time.
#[utoipa::path(
    get,
    path = "/api/workflows",
    operation_id = "list_workflows",
    tag = "workflows",
    security(("operator" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of workflows.", body = WorkflowList),
        (status = 422, description = "A query parameter does not fit, or the cursor is \
            malformed (`invalid_request`).", body = ErrorBody),
        OperatorAuth,
        ServerErrors,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = limit(q.limit, 50)?;
    let cursor = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(Cursor::decode)
        .transpose()?;
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
    Ok(ApiJson(WorkflowList {
        workflows: page.workflows,
        next_cursor: page.next.map(|c| c.encode()),
        counts,
    }))
}

/// Describe a workflow.
///
/// Its current run, all its runs, and its pending activities and timers.
#[utoipa::path(
    get,
    path = "/api/workflows/{id}",
    operation_id = "describe_workflow",
    tag = "workflows",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The workflow id.")),
    responses(
        (status = 200, description = "The workflow.", body = Description),
        (status = 400, description = "The id is not UTF-8 (`invalid_path`).", body = ErrorBody),
        (status = 404, description = "No such workflow (`not_found`).", body = ErrorBody),
        OperatorAuth,
        ServerErrors,
    )
)]
pub async fn describe(
    State(state): State<AppState>,
    _: Operator,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(state.client.describe(&id).await?))
}

/// Query of `GET /api/workflows/{id}/history`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The run whose history to read (default: the current run).
    #[param(maximum = 4_294_967_295_u64)]
    pub run: Option<u32>,
}

/// A run's history, oldest event first.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub events: Vec<Event>,
}

/// A workflow run's history.
#[utoipa::path(
    get,
    path = "/api/workflows/{id}/history",
    operation_id = "workflow_history",
    tag = "workflows",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The workflow id."), HistoryQuery),
    responses(
        (status = 200, description = "The run's events.", body = History),
        (status = 400, description = "The id is not UTF-8 (`invalid_path`).", body = ErrorBody),
        (status = 404, description = "No such workflow or run (`not_found`).", body = ErrorBody),
        (status = 422, description = "A query parameter does not fit (`invalid_request`).",
            body = ErrorBody),
        OperatorAuth,
        ServerErrors,
    )
)]
pub async fn history(
    State(state): State<AppState>,
    _: Operator,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let events = state.client.history(&id, q.run).await?;
    Ok(ApiJson(History { events }))
}

/// The optional body of cancel and terminate.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why, for the history (at most 1000 bytes); a default when left out.
    #[serde(default)]
    pub reason: Option<String>,
}

fn reason(body: &[u8], default: &str) -> Result<String, ApiError> {
    let reason = optional_object::<Reason>(body)?.unwrap_or_default().reason;
    let reason = reason.unwrap_or_else(|| default.to_string());
    if reason.len() > 1_000 {
        return Err(ApiError::invalid("reason must be at most 1000 bytes"));
    }
    Ok(reason)
}

/// What an action was accepted for.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Cancel,
    Terminate,
    Signal,
    RetryActivityNow,
    FireTimerNow,
}

/// An action was recorded; the workflow acts on it shortly.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub workflow_id: String,
    pub accepted: Action,
}

fn done(action: Action, id: &str) -> impl IntoResponse + use<> {
    (
        StatusCode::ACCEPTED,
        ApiJson(Accepted {
            workflow_id: id.to_string(),
            accepted: action,
        }),
    )
}

/// Defines an action that takes the workflow id and an optional [`Reason`]
/// (cancel, terminate): the handler, which calls `Client::$method` and
/// answers [`Accepted`], and its OpenAPI description. The two differ only
/// in the words given here.
macro_rules! reason_action {
    (
        $(#[doc = $doc:tt])*
        $name:ident: path = $path:tt, operation_id = $operation_id:tt,
        accepted = $accepted:tt, default_reason = $default:tt,
        call = $method:ident, action = $action:ident $(,)?
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $operation_id,
            tag = "workflows",
            security(("operator" = [])),
            params(("id" = String, Path, description = "The workflow id.")),
            request_body = Option<Reason>,
            responses(
                (status = 202, description = $accepted, body = Accepted),
                (status = 404, description = "No such workflow (`not_found`).", body = ErrorBody),
                (status = 409, description = "The workflow is not running (`wrong_state`).",
                    body = ErrorBody),
                (status = 422, description = "The body does not fit (`invalid_request`).",
                    body = ErrorBody),
                OptionalBodyErrors,
                ActorAuth,
                ServerErrors,
            )
        )]
        pub async fn $name(
            State(state): State<AppState>,
            _: Actor,
            ApiPath(id): ApiPath<String>,
            ApiBody(body): ApiBody,
        ) -> Result<impl IntoResponse, ApiError> {
            state.client.$method(&id, &reason(&body, $default)?).await?;
            Ok(done(Action::$action, &id))
        }
    };
}

reason_action! {
    /// Cancel a running workflow.
    ///
    /// Records a cancel request: the operation the workflow awaits ends as
    /// cancelled, the workflow compensates what it did and ends `cancelled`.
    /// The body is optional.
    cancel: path = "/api/workflows/{id}/cancel", operation_id = "cancel_workflow",
    accepted = "The cancel request is recorded.",
    default_reason = "cancelled by an operator",
    call = cancel, action = Cancel,
}

reason_action! {
    /// Terminate a running workflow.
    ///
    /// The hard stop: no more workflow code runs, nothing is compensated. The
    /// body is optional.
    terminate: path = "/api/workflows/{id}/terminate", operation_id = "terminate_workflow",
    accepted = "The workflow is terminated.",
    default_reason = "terminated by an operator",
    call = terminate, action = Terminate,
}

/// The optional body of retry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    pub mode: RetryMode,
}

/// A retry started a new run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryAccepted {
    pub workflow_id: String,
    /// The new run's number.
    pub run: u32,
    pub mode: RetryMode,
}

/// Retry a failed, cancelled or terminated workflow.
///
/// Starts a new run of the same id, from the start (the default) or
/// resuming after the last step the earlier run completed.
#[utoipa::path(
    post,
    path = "/api/workflows/{id}/retry",
    operation_id = "retry_workflow",
    tag = "workflows",
    security(("operator" = [])),
    params(("id" = String, Path, description = "The workflow id.")),
    request_body = Option<RetryBody>,
    responses(
        (status = 202, description = "The new run started.", body = RetryAccepted),
        (status = 404, description = "No such workflow (`not_found`).", body = ErrorBody),
        (status = 409, description = "The workflow is still running (`wrong_state`).",
            body = ErrorBody),
        (status = 422, description = "The body does not fit (`invalid_request`).",
            body = ErrorBody),
        OptionalBodyErrors,
        ActorAuth,
        ServerErrors,
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    _: Actor,
    ApiPath(id): ApiPath<String>,
    ApiBody(body): ApiBody,
) -> Result<impl IntoResponse, ApiError> {
    let mode = optional_object::<RetryBody>(&body)?.map_or(RetryMode::FromStart, |b| b.mode);
    let run = state.client.retry(&id, mode).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(RetryAccepted {
            workflow_id: id,
            run,
            mode,
        }),
    ))
}

/// Signal a running workflow.
///
/// Delivers named data (any JSON; none is `null`), recorded in its history.
#[utoipa::path(
    post,
    path = "/api/workflows/{id}/signal/{name}",
    operation_id = "signal_workflow",
    tag = "workflows",
    security(("operator" = [])),
    params(
        ("id" = String, Path, description = "The workflow id."),
        ("name" = String, Path, description = "The signal's name."),
    ),
    request_body(content = Option<Value>, description = "The signal's payload: any JSON.",
        content_type = "application/json"),
    responses(
        (status = 202, description = "The signal is recorded.", body = Accepted),
        (status = 404, description = "No such workflow (`not_found`).", body = ErrorBody),
        (status = 409, description = "The workflow is not running (`wrong_state`).",
            body = ErrorBody),
        (status = 422, description = "The signal is refused (`invalid_request`).",
            body = ErrorBody),
        OptionalBodyErrors,
        ActorAuth,
        ServerErrors,
    )
)]
pub async fn signal(
    State(state): State<AppState>,
    _: Actor,
    ApiPath((id, name)): ApiPath<(String, String)>,
    ApiBody(body): ApiBody,
) -> Result<impl IntoResponse, ApiError> {
    let payload = optional_json(&body)?.unwrap_or(Value::Null);
    state.client.signal(&id, &name, payload).await?;
    Ok(done(Action::Signal, &id))
}

/// Defines an action on one pending operation (`seq`) of a workflow
/// (retry an activity now, fire a timer now): the handler, which calls
/// `Client::$method` and answers [`Accepted`], and its OpenAPI description.
/// The two differ only in the words given here; the operation id is the
/// handler's name.
macro_rules! operation_action {
    (
        $(#[doc = $doc:tt])*
        $name:ident: path = $path:tt, seq = $seq:tt, accepted = $accepted:tt,
        conflict = $conflict:tt, action = $action:ident $(,)?
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            tag = "workflows",
            security(("operator" = [])),
            params(
                ("id" = String, Path, description = "The workflow id."),
                ("seq" = u32, Path, maximum = 4_294_967_295_u64, description = $seq),
            ),
            responses(
                (status = 202, description = $accepted, body = Accepted),
                (status = 400, description = "`seq` is not a whole number (`invalid_path`).",
                    body = ErrorBody),
                (status = 404, description = "No such workflow (`not_found`).", body = ErrorBody),
                (status = 409, description = $conflict, body = ErrorBody),
                ActorAuth,
                ServerErrors,
            )
        )]
        pub async fn $name(
            State(state): State<AppState>,
            _: Actor,
            ApiPath((id, seq)): ApiPath<(String, u32)>,
        ) -> Result<impl IntoResponse, ApiError> {
            state.client.$name(&id, seq).await?;
            Ok(done(Action::$action, &id))
        }
    };
}

operation_action! {
    /// Retry a pending activity now.
    ///
    /// Skips the backoff of an activity waiting for its next attempt.
    retry_activity_now: path = "/api/workflows/{id}/activities/{seq}/retry-now",
    seq = "The activity's operation number.",
    accepted = "The activity's next attempt is due now.",
    conflict = "The workflow is not running (`wrong_state`), or has no such pending \
        activity (`no_such_operation`).",
    action = RetryActivityNow,
}

operation_action! {
    /// Fire a pending timer now.
    fire_timer_now: path = "/api/workflows/{id}/timers/{seq}/fire-now",
    seq = "The timer's operation number.",
    accepted = "The timer fires now.",
    conflict = "The workflow is not running (`wrong_state`), or has no such pending \
        timer (`no_such_operation`).",
    action = FireTimerNow,
}

/// Query of the pending views.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PendingQuery {
    /// Only activities backing off after a failure (activities only).
    #[serde(default)]
    pub backing_off: bool,
    /// At most this many, 1 to 1000 (default 200).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Activities scheduled but not finished, across all workflows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingActivities {
    pub activities: Vec<PendingActivity>,
}

/// Timers not yet fired, across all workflows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingTimers {
    pub timers: Vec<PendingTimer>,
}

/// Pending activities of all workflows.
#[utoipa::path(
    get,
    path = "/api/pending/activities",
    operation_id = "pending_activities",
    tag = "workflows",
    security(("operator" = [])),
    params(PendingQuery),
    responses(
        (status = 200, description = "The pending activities.", body = PendingActivities),
        (status = 422, description = "A query parameter does not fit (`invalid_request`).",
            body = ErrorBody),
        OperatorAuth,
        ServerErrors,
    )
)]
pub async fn pending_activities(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(q): ApiQuery<PendingQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let activities = state
        .client
        .pending_activities(q.backing_off, limit(q.limit, 200)?)
        .await?;
    Ok(ApiJson(PendingActivities { activities }))
}

/// Pending timers of all workflows.
#[utoipa::path(
    get,
    path = "/api/pending/timers",
    operation_id = "pending_timers",
    tag = "workflows",
    security(("operator" = [])),
    params(PendingQuery),
    responses(
        (status = 200, description = "The pending timers.", body = PendingTimers),
        (status = 422, description = "A query parameter does not fit (`invalid_request`).",
            body = ErrorBody),
        OperatorAuth,
        ServerErrors,
    )
)]
pub async fn pending_timers(
    State(state): State<AppState>,
    _: Operator,
    ApiQuery(q): ApiQuery<PendingQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let timers = state.client.pending_timers(limit(q.limit, 200)?).await?;
    Ok(ApiJson(PendingTimers { timers }))
}
