//! The dashboard's server functions: reads (no session needed) and actions
//! (operator session + CSRF token, refused when read-only). Each action
//! answers a short sentence saying what happened; without JavaScript the
//! form post is answered with a redirect back to the page.

use leptos::prelude::*;

use crate::model::*;

#[cfg(feature = "ssr")]
mod convert {
    use crate::model::*;
    use engine::{EventKind, Failure, Timestamp};

    pub fn ms(t: &Timestamp) -> i64 {
        t.timestamp_millis()
    }
    pub fn fmt(t: &Timestamp) -> String {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
    pub fn failure(f: &Failure) -> String {
        format!("{}: {}", f.kind, f.message)
    }
    pub fn json(v: &serde_json::Value) -> String {
        serde_json::to_string_pretty(v).unwrap_or_default()
    }

    pub fn row(w: &engine::WorkflowRecord) -> WorkflowRow {
        WorkflowRow {
            id: w.id.clone(),
            run: w.run,
            workflow_type: w.workflow_type.clone(),
            status: w.status.as_str().to_string(),
            created_ms: ms(&w.created_at),
            created: fmt(&w.created_at),
            closed_ms: w.closed_at.as_ref().map(ms),
            current_step: w.current_step.clone(),
            cancel_requested: w.cancel_requested,
            error: w.error.as_ref().map(failure),
        }
    }

    pub fn counts(c: &engine::Counts) -> CountsView {
        CountsView {
            running: c.running,
            completed: c.completed,
            failed: c.failed,
            cancelled: c.cancelled,
            terminated: c.terminated,
        }
    }

    pub fn activity(a: &engine::PendingActivity) -> ActivityView {
        ActivityView {
            workflow_id: a.workflow_id.clone(),
            run: a.run,
            seq: a.seq,
            name: a.name.clone(),
            attempt: a.attempt,
            maximum_attempts: a.maximum_attempts,
            state: serde_json::to_value(a.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{:?}", a.state)),
            last_error: a.last_error.as_ref().map(failure),
            next_attempt_ms: ms(&a.next_attempt_at),
            next_attempt: fmt(&a.next_attempt_at),
        }
    }

    pub fn timer(t: &engine::PendingTimer) -> TimerView {
        TimerView {
            workflow_id: t.workflow_id.clone(),
            run: t.run,
            seq: t.seq,
            fire_at_ms: ms(&t.fire_at),
            fire_at: fmt(&t.fire_at),
        }
    }

    fn short(v: &serde_json::Value) -> String {
        let s = v.to_string();
        if s.chars().count() > 160 {
            format!("{}…", s.chars().take(160).collect::<String>())
        } else {
            s
        }
    }

    pub fn event(e: &engine::Event) -> EventView {
        let (summary, failure_) = match &e.kind {
            EventKind::WorkflowStarted {
                workflow_type,
                retry_of_run,
                ..
            } => (
                match retry_of_run {
                    Some(run) => format!("{workflow_type} started (retry of run {run})"),
                    None => format!("{workflow_type} started"),
                },
                false,
            ),
            EventKind::WorkflowTaskCompleted { .. } => ("workflow task completed".into(), false),
            EventKind::ActivityScheduled { name, input, .. } => {
                (format!("{name} scheduled, input {}", short(input)), false)
            }
            EventKind::ActivityAttemptFailed {
                attempt,
                error,
                next_attempt_at,
                ..
            } => (
                format!(
                    "attempt {attempt} failed: {}; next attempt at {}",
                    failure(error),
                    fmt(next_attempt_at)
                ),
                true,
            ),
            EventKind::ActivityCompleted {
                attempt, result, ..
            } => (
                format!("completed on attempt {attempt}: {}", short(result)),
                false,
            ),
            EventKind::ActivityFailed { attempt, error, .. } => (
                format!("failed for good on attempt {attempt}: {}", failure(error)),
                true,
            ),
            EventKind::TimerStarted { fire_at, .. } => {
                (format!("timer set for {}", fmt(fire_at)), false)
            }
            EventKind::TimerFired { .. } => ("timer fired".into(), false),
            EventKind::OperationCancelled { .. } => ("operation cancelled".into(), false),
            EventKind::ValueRecorded { value, .. } => {
                (format!("value recorded: {}", short(value)), false)
            }
            EventKind::StepReused { from_run, .. } => {
                (format!("step reused from run {from_run}"), false)
            }
            EventKind::SignalReceived { name, payload } => {
                (format!("signal `{name}`: {}", short(payload)), false)
            }
            EventKind::CancelRequested { reason } => (format!("cancel requested: {reason}"), false),
            EventKind::WorkflowCompleted { result } => {
                (format!("completed: {}", short(result)), false)
            }
            EventKind::WorkflowFailed { error } => (format!("failed: {}", failure(error)), true),
            EventKind::WorkflowCancelled { error } => (
                match error {
                    Some(error) => format!("cancelled ({})", failure(error)),
                    None => "cancelled".into(),
                },
                false,
            ),
            EventKind::WorkflowTerminated { reason } => (format!("terminated: {reason}"), true),
        };
        EventView {
            id: e.id,
            time_ms: ms(&e.time),
            time: fmt(&e.time),
            kind: e.kind.name().to_string(),
            seq: e.kind.seq(),
            summary,
            failure: failure_,
        }
    }

    /// Activity and timer bars plus point markers, from a run's history.
    pub fn timeline(events: &[engine::Event]) -> (Vec<Lane>, Vec<Marker>) {
        let mut lanes: Vec<Lane> = Vec::new();
        let mut markers = Vec::new();
        for e in events {
            let t = ms(&e.time);
            match &e.kind {
                EventKind::ActivityScheduled { seq, name, .. } => lanes.push(Lane {
                    seq: *seq,
                    kind: "activity".into(),
                    label: name.clone(),
                    start_ms: t,
                    end_ms: None,
                    outcome: "pending".into(),
                    attempts: Vec::new(),
                }),
                EventKind::TimerStarted { seq, fire_at } => lanes.push(Lane {
                    seq: *seq,
                    kind: "timer".into(),
                    label: format!("timer until {}", fmt(fire_at)),
                    start_ms: t,
                    end_ms: None,
                    outcome: "pending".into(),
                    attempts: Vec::new(),
                }),
                EventKind::ActivityAttemptFailed {
                    seq,
                    attempt,
                    error,
                    next_attempt_at,
                } => {
                    if let Some(l) = lanes.iter_mut().rev().find(|l| l.seq == *seq) {
                        l.outcome = "backing-off".into();
                        l.attempts.push(AttemptMark {
                            attempt: *attempt,
                            time_ms: t,
                            error: Some(failure(error)),
                            next_attempt: Some(fmt(next_attempt_at)),
                        });
                    }
                }
                EventKind::ActivityCompleted { seq, attempt, .. } => {
                    if let Some(l) = lanes.iter_mut().rev().find(|l| l.seq == *seq) {
                        l.outcome = "completed".into();
                        l.end_ms = Some(t);
                        l.attempts.push(AttemptMark {
                            attempt: *attempt,
                            time_ms: t,
                            error: None,
                            next_attempt: None,
                        });
                    }
                }
                EventKind::ActivityFailed {
                    seq,
                    attempt,
                    error,
                } => {
                    if let Some(l) = lanes.iter_mut().rev().find(|l| l.seq == *seq) {
                        l.outcome = "failed".into();
                        l.end_ms = Some(t);
                        l.attempts.push(AttemptMark {
                            attempt: *attempt,
                            time_ms: t,
                            error: Some(failure(error)),
                            next_attempt: None,
                        });
                    }
                }
                EventKind::TimerFired { seq } => {
                    if let Some(l) = lanes.iter_mut().rev().find(|l| l.seq == *seq) {
                        l.outcome = "fired".into();
                        l.end_ms = Some(t);
                    }
                }
                EventKind::OperationCancelled { seq } => {
                    if let Some(l) = lanes.iter_mut().rev().find(|l| l.seq == *seq) {
                        l.outcome = "cancelled".into();
                        l.end_ms = Some(t);
                    }
                }
                EventKind::StepReused {
                    seq,
                    from_run,
                    step,
                } => {
                    let label = match step {
                        engine::history::ReusedStep::Activity { name, .. } => name.clone(),
                        engine::history::ReusedStep::Timer { .. } => "timer".into(),
                        engine::history::ReusedStep::Value { .. } => "value".into(),
                    };
                    lanes.push(Lane {
                        seq: *seq,
                        kind: "reused".into(),
                        label: format!("{label} (reused from run {from_run})"),
                        start_ms: t,
                        end_ms: Some(t),
                        outcome: "reused".into(),
                        attempts: Vec::new(),
                    });
                }
                EventKind::SignalReceived { name, payload } => markers.push(Marker {
                    time_ms: t,
                    label: format!("signal {name}"),
                    detail: payload.to_string(),
                }),
                EventKind::CancelRequested { reason } => markers.push(Marker {
                    time_ms: t,
                    label: "cancel requested".into(),
                    detail: reason.clone(),
                }),
                EventKind::WorkflowCompleted { .. }
                | EventKind::WorkflowFailed { .. }
                | EventKind::WorkflowCancelled { .. }
                | EventKind::WorkflowTerminated { .. } => markers.push(Marker {
                    time_ms: t,
                    label: e.kind.name().trim_start_matches("Workflow").to_lowercase(),
                    detail: event(e).summary,
                }),
                _ => {}
            }
        }
        (lanes, markers)
    }
}

#[cfg(feature = "ssr")]
fn engine_error(e: engine::Error) -> ServerFnError {
    ServerFnError::new(e.to_string())
}

/// A page of workflows matching `query`, with counts.
#[server(prefix = "/ui", endpoint = "workflows")]
pub async fn list_workflows(query: WorkflowQuery) -> Result<WorkflowPage, ServerFnError> {
    let client = crate::backend::client()?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            serde_json::from_value::<engine::WorkflowStatus>(serde_json::Value::String(
                s.to_string(),
            ))
            .map_err(|_| ServerFnError::new(format!("unknown status `{s}`")))?,
        ),
        None => None,
    };
    let filter = engine::ListFilter {
        status,
        workflow_type: query.workflow_type.clone().filter(|s| !s.is_empty()),
        id_prefix: query.id_prefix.clone().filter(|s| !s.is_empty()),
        backing_off: query.backing_off,
        waiting_on_timer: query.waiting_on_timer,
        ..Default::default()
    };
    let cursor = match query.cursor.as_deref().filter(|s| !s.is_empty()) {
        Some(c) => Some(engine::Cursor::decode(c).map_err(engine_error)?),
        None => None,
    };
    let page = client
        .list(
            &filter,
            cursor.as_ref(),
            query.limit.unwrap_or(25).clamp(1, 200),
        )
        .await
        .map_err(engine_error)?;
    let counts = client.counts(&filter).await.map_err(engine_error)?;
    Ok(WorkflowPage {
        rows: page.workflows.iter().map(convert::row).collect(),
        next_cursor: page.next.map(|c| c.encode()),
        counts: convert::counts(&counts),
        now_ms: now_ms(),
    })
}

/// The registered workflow types, for the workflows page's type filter.
#[server(prefix = "/ui", endpoint = "workflow_types")]
pub async fn list_workflow_types() -> Result<Vec<String>, ServerFnError> {
    Ok(crate::backend::backend()?.workflow_types())
}

/// Everything the workflow page shows about `id` (run `run`, or the current).
#[server(prefix = "/ui", endpoint = "workflow")]
pub async fn get_workflow(id: String, run: Option<u32>) -> Result<WorkflowDetail, ServerFnError> {
    let client = crate::backend::client()?;
    let d = client.describe(&id).await.map_err(engine_error)?;
    let shown_run = run.unwrap_or(d.workflow.run);
    let events = client
        .history(&id, Some(shown_run))
        .await
        .map_err(engine_error)?;
    let (lanes, markers) = convert::timeline(&events);
    let start_ms = events.first().map(|e| convert::ms(&e.time)).unwrap_or(0);
    let now = now_ms();
    let end_ms = match events.last() {
        Some(last) if shown_run != d.workflow.run || d.workflow.status.is_closed() => {
            convert::ms(&last.time)
        }
        _ => now,
    };
    let (input, result, error) = if shown_run == d.workflow.run {
        (
            convert::json(&d.workflow.input),
            d.workflow.result.as_ref().map(convert::json),
            d.workflow.error.as_ref().map(convert::failure),
        )
    } else {
        let input = events
            .iter()
            .find_map(|e| match &e.kind {
                engine::EventKind::WorkflowStarted { input, .. } => Some(convert::json(input)),
                _ => None,
            })
            .unwrap_or_default();
        let run_view = d.runs.iter().find(|r| r.run == shown_run);
        (
            input,
            None,
            run_view.and_then(|r| r.error.as_ref().map(convert::failure)),
        )
    };
    Ok(WorkflowDetail {
        row: convert::row(&d.workflow),
        shown_run,
        input,
        result,
        error,
        runs: d
            .runs
            .iter()
            .map(|r| RunView {
                run: r.run,
                status: r.status.as_str().to_string(),
                error: r.error.as_ref().map(convert::failure),
                created: convert::fmt(&r.created_at),
                retry_mode: r.retry_mode.map(|m| format!("{m:?}")),
            })
            .collect(),
        pending_activities: d.pending_activities.iter().map(convert::activity).collect(),
        pending_timers: d.pending_timers.iter().map(convert::timer).collect(),
        events: events.iter().map(convert::event).collect(),
        lanes,
        markers,
        start_ms,
        end_ms: end_ms.max(start_ms + 1),
        raw_history: serde_json::to_string_pretty(&events).unwrap_or_default(),
        now_ms: now,
    })
}

/// Backing-off activities and pending timers across all workflows.
#[server(prefix = "/ui", endpoint = "pending")]
pub async fn list_pending() -> Result<PendingView, ServerFnError> {
    let client = crate::backend::client()?;
    let activities = client
        .pending_activities(true, 500)
        .await
        .map_err(engine_error)?;
    let timers = client.pending_timers(500).await.map_err(engine_error)?;
    Ok(PendingView {
        activities: activities.iter().map(convert::activity).collect(),
        timers: timers.iter().map(convert::timer).collect(),
        now_ms: now_ms(),
    })
}

/// Counts, the last hour per minute, what is stuck, the latest failures.
#[server(prefix = "/ui", endpoint = "overview")]
pub async fn get_overview() -> Result<OverviewView, ServerFnError> {
    let client = crate::backend::client()?;
    let counts = client
        .counts(&engine::ListFilter::default())
        .await
        .map_err(engine_error)?;
    let per_minute = crate::throughput::last_hour(&client, chrono::Utc::now())
        .await
        .map_err(engine_error)?;
    let backing_off = client
        .pending_activities(true, 1_000)
        .await
        .map_err(engine_error)?
        .len();
    let timers = client
        .pending_timers(1_000)
        .await
        .map_err(engine_error)?
        .len();
    let failed = client
        .list(
            &engine::ListFilter {
                status: Some(engine::WorkflowStatus::Failed),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .map_err(engine_error)?;
    Ok(OverviewView {
        counts: convert::counts(&counts),
        per_minute,
        backing_off,
        timers,
        latest_failures: failed.workflows.iter().map(convert::row).collect(),
        now_ms: now_ms(),
    })
}

/// The simulated services: faults, ledgers, stock.
#[server(prefix = "/ui", endpoint = "services")]
pub async fn list_services() -> Result<Vec<ServiceView>, ServerFnError> {
    crate::backend::backend()?
        .services()
        .await
        .map_err(ServerFnError::new)
}

// ---- actions ---------------------------------------------------------------

/// How an engine refusal is answered: 404, 409 for the wrong state, 400.
#[cfg(feature = "ssr")]
fn refusal(e: engine::Error) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    let status = match &e {
        engine::Error::NotFound(_) => StatusCode::NOT_FOUND,
        engine::Error::WrongState { .. } | engine::Error::NoSuchOperation { .. } => {
            StatusCode::CONFLICT
        }
        engine::Error::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, e.to_string())
}

#[cfg(feature = "ssr")]
fn or_default(text: String, default: &str) -> String {
    if text.trim().is_empty() {
        default.to_string()
    } else {
        text
    }
}

#[server(prefix = "/ui", endpoint = "cancel")]
pub async fn cancel_workflow(
    csrf: String,
    id: String,
    reason: String,
) -> Result<String, ServerFnError> {
    crate::auth::require_operator(&csrf).await?;
    let reason = or_default(reason, "cancelled from the dashboard");
    let result = crate::backend::client()?
        .cancel(&id, &reason)
        .await
        .map(|()| format!("Cancel requested for {id}"))
        .map_err(refusal);
    crate::auth::outcome(result).await
}

#[server(prefix = "/ui", endpoint = "terminate")]
pub async fn terminate_workflow(
    csrf: String,
    id: String,
    reason: String,
) -> Result<String, ServerFnError> {
    crate::auth::require_operator(&csrf).await?;
    let reason = or_default(reason, "terminated from the dashboard");
    let result = crate::backend::client()?
        .terminate(&id, &reason)
        .await
        .map(|()| format!("Terminated {id}"))
        .map_err(refusal);
    crate::auth::outcome(result).await
}

#[server(prefix = "/ui", endpoint = "retry")]
pub async fn retry_workflow(
    csrf: String,
    id: String,
    mode: String,
) -> Result<String, ServerFnError> {
    crate::auth::require_operator(&csrf).await?;
    let mode = if mode == "from_start" {
        engine::RetryMode::FromStart
    } else {
        engine::RetryMode::Resume
    };
    let result = crate::backend::client()?
        .retry(&id, mode)
        .await
        .map(|run| format!("Started run {run} of {id}"))
        .map_err(refusal);
    crate::auth::outcome(result).await
}

#[server(prefix = "/ui", endpoint = "retry_now")]
pub async fn retry_activity_now(
    csrf: String,
    id: String,
    seq: u32,
) -> Result<String, ServerFnError> {
    crate::auth::require_operator(&csrf).await?;
    let result = crate::backend::client()?
        .retry_activity_now(&id, seq)
        .await
        .map(|()| format!("Activity {seq} of {id} will be retried now"))
        .map_err(refusal);
    crate::auth::outcome(result).await
}

#[server(prefix = "/ui", endpoint = "fire_timer")]
pub async fn fire_timer_now(csrf: String, id: String, seq: u32) -> Result<String, ServerFnError> {
    crate::auth::require_operator(&csrf).await?;
    let result = crate::backend::client()?
        .fire_timer_now(&id, seq)
        .await
        .map(|()| format!("Timer {seq} of {id} fired"))
        .map_err(refusal);
    crate::auth::outcome(result).await
}

#[server(prefix = "/ui", endpoint = "signal")]
pub async fn signal_workflow(
    csrf: String,
    id: String,
    name: String,
    payload: String,
) -> Result<String, ServerFnError> {
    crate::auth::require_operator(&csrf).await?;
    let payload = if payload.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&payload)
            .unwrap_or_else(|_| serde_json::Value::String(payload.clone()))
    };
    let name = name.trim().to_string();
    let result = crate::backend::client()?
        .signal(&id, &name, payload)
        .await
        .map(|()| format!("Signal `{name}` sent to {id}"))
        .map_err(refusal);
    crate::auth::outcome(result).await
}

#[server(prefix = "/ui", endpoint = "faults")]
pub async fn set_faults(
    csrf: String,
    service: String,
    error_rate: f64,
    latency_ms: u64,
    outage: Option<String>,
) -> Result<String, ServerFnError> {
    crate::auth::require_operator(&csrf).await?;
    let faults = Faults {
        error_rate: error_rate / 100.0,
        latency_ms,
        outage: outage.is_some(),
    };
    let result = crate::backend::backend()?
        .set_faults(&service, faults)
        .await
        .map(|()| format!("Updated {service}'s faults"))
        .map_err(|e| (axum::http::StatusCode::UNPROCESSABLE_ENTITY, e));
    crate::auth::outcome(result).await
}

#[server(prefix = "/ui", endpoint = "place_order")]
pub async fn place_order(
    csrf: String,
    user: String,
    request_id: String,
    item_id: String,
    quantity: i64,
    address: String,
) -> Result<String, ServerFnError> {
    crate::auth::require_operator(&csrf).await?;
    let order = NewOrder {
        user: user.trim().to_string(),
        request_id: request_id.trim().to_string(),
        item_id: item_id.trim().to_string(),
        quantity,
        address,
    };
    match crate::backend::backend()?.place_order(order).await {
        Ok(id) => {
            // A plain form post (no JavaScript) lands on the new workflow.
            if crate::auth::form_post() {
                leptos_axum::redirect(&workflow_href(&id));
            }
            Ok(id)
        }
        Err(e) => {
            use axum::http::StatusCode;
            let status = match e {
                PlaceError::Invalid(_) => StatusCode::BAD_REQUEST,
                PlaceError::AlreadySubmitted(_) | PlaceError::KeyReused(_) => StatusCode::CONFLICT,
                PlaceError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            crate::auth::outcome(Err((status, e.to_string()))).await
        }
    }
}
