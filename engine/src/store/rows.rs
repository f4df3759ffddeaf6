//! Stored rows as plain structs, shared by the SQL backends, and their
//! conversion into the engine's records. Only `i64`, `String` and options of
//! them cross the database boundary, so every backend decodes them alike.

use std::str::FromStr;

use serde_json::Value;

use crate::activity::ActivityOptions;
use crate::clock::{Timestamp, from_millis};
use crate::error::{Error, Result};
use crate::history::{Event, EventKind, Failure};
use crate::store::{ActivityTask, TaskRef, WorkflowTask};
use crate::workflow::{
    ActivityState, PendingActivity, PendingTimer, RetryMode, RunSummary, WorkflowRecord,
    WorkflowStatus,
};

pub(crate) const WORKFLOW_COLUMNS: &str = "id, run, workflow_type, status, input, result, error, \
     cancel_requested, current_step, retry_mode, version, inputs_through, created_at, updated_at, closed_at";

/// Summarises a closed run that a retry replaces. (`$n` placeholders: SQLite
/// numbers them in order of appearance, as PostgreSQL does by value.)
pub(crate) const INSERT_RUN: &str = "INSERT INTO workflow_runs \
     (id, run, status, error, retry_mode, created_at, closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct WorkflowRow {
    pub id: String,
    pub run: i64,
    pub workflow_type: String,
    pub status: String,
    pub input: String,
    pub result: Option<String>,
    pub error: Option<String>,
    pub cancel_requested: i64,
    pub current_step: Option<String>,
    pub retry_mode: Option<String>,
    pub version: i64,
    pub inputs_through: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
}

impl WorkflowRow {
    pub(crate) fn status(&self) -> Result<WorkflowStatus> {
        WorkflowStatus::from_str(&self.status).map_err(|_| corrupt("status", &self.status))
    }

    pub(crate) fn into_record(self) -> Result<WorkflowRecord> {
        Ok(WorkflowRecord {
            status: self.status()?,
            input: json(&self.input)?,
            result: self.result.as_deref().map(json).transpose()?,
            error: self.error.as_deref().map(failure).transpose()?,
            cancel_requested: self.cancel_requested != 0,
            current_step: self.current_step,
            version: self.version as u64,
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
            closed_at: self.closed_at.map(from_millis),
            id: self.id,
            run: self.run as u32,
            workflow_type: self.workflow_type,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RunRow {
    pub run: i64,
    pub status: String,
    pub error: Option<String>,
    pub retry_mode: Option<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

impl RunRow {
    pub(crate) fn into_summary(self) -> Result<RunSummary> {
        Ok(RunSummary {
            run: self.run as u32,
            status: WorkflowStatus::from_str(&self.status)
                .map_err(|_| corrupt("status", &self.status))?,
            error: self.error.as_deref().map(failure).transpose()?,
            created_at: from_millis(self.created_at),
            closed_at: self.closed_at.map(from_millis),
            retry_mode: self.retry_mode.as_deref().map(retry_mode).transpose()?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: i64,
    /// Set when the row holds the events `id..=last_id` as a JSON array.
    pub last_id: Option<i64>,
    pub payload: String,
    pub time: i64,
}

impl EventRow {
    /// The row's events with ids above `after`.
    pub(crate) fn into_events(self, after: u64) -> Result<Vec<Event>> {
        let corrupt = |e: serde_json::Error| Error::Corrupt(format!("event {}: {e}", self.id));
        let kinds: Vec<EventKind> = match self.last_id {
            None => vec![serde_json::from_str(&self.payload).map_err(corrupt)?],
            Some(last_id) => {
                let kinds: Vec<EventKind> = serde_json::from_str(&self.payload).map_err(corrupt)?;
                if kinds.len() as i64 != last_id - self.id + 1 {
                    return Err(Error::Corrupt(format!(
                        "events {}..={last_id} hold {} events",
                        self.id,
                        kinds.len()
                    )));
                }
                kinds
            }
        };
        let time = from_millis(self.time);
        Ok((self.id as u64..)
            .zip(kinds)
            .filter(|(id, _)| *id > after)
            .map(|(id, kind)| Event { id, time, kind })
            .collect())
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub id: i64,
    pub kind: String,
    pub workflow_id: String,
    pub run: i64,
    pub seq: i64,
    pub name: String,
    pub input: Option<String>,
    pub options: Option<String>,
    pub attempt: i64,
    pub max_attempts: i64,
    pub timeout_ms: i64,
    pub due_at: i64,
    pub lease_token: Option<String>,
    pub last_error: Option<String>,
    pub last_failed_at: Option<i64>,
    pub scheduled_at: i64,
}

pub(crate) const TASK_COLUMNS: &str = "id, kind, workflow_id, run, seq, name, input, options, \
     attempt, max_attempts, timeout_ms, due_at, lease_token, last_error, last_failed_at, scheduled_at";

impl TaskRow {
    pub(crate) fn into_workflow_task(self) -> WorkflowTask {
        WorkflowTask {
            task: TaskRef {
                id: self.id,
                lease_token: self.lease_token.unwrap_or_default(),
            },
            workflow_id: self.workflow_id,
            run: self.run as u32,
            workflow_type: self.name,
            new_events: Vec::new(),
        }
    }

    pub(crate) fn into_activity_task(self) -> Result<ActivityTask> {
        let options: ActivityOptions = match &self.options {
            Some(o) => serde_json::from_str(o).map_err(|e| Error::Corrupt(e.to_string()))?,
            None => ActivityOptions::default(),
        };
        Ok(ActivityTask {
            task: TaskRef {
                id: self.id,
                lease_token: self.lease_token.unwrap_or_default(),
            },
            workflow_id: self.workflow_id,
            run: self.run as u32,
            seq: self.seq as u32,
            name: self.name,
            input: self
                .input
                .as_deref()
                .map(json)
                .transpose()?
                .unwrap_or(Value::Null),
            attempt: self.attempt as u32,
            options,
            scheduled_at: from_millis(self.scheduled_at),
        })
    }

    pub(crate) fn into_pending_activity(self, now: Timestamp) -> Result<PendingActivity> {
        let now = now.timestamp_millis();
        let state = if self.lease_token.is_some() && self.due_at > now {
            ActivityState::Running
        } else if self.attempt > 1 && self.due_at > now {
            ActivityState::BackingOff
        } else {
            ActivityState::Scheduled
        };
        Ok(PendingActivity {
            workflow_id: self.workflow_id,
            run: self.run as u32,
            seq: self.seq as u32,
            name: self.name,
            attempt: self.attempt as u32,
            maximum_attempts: self.max_attempts as u32,
            state,
            last_error: self.last_error.as_deref().map(failure).transpose()?,
            last_failed_at: self.last_failed_at.map(from_millis),
            next_attempt_at: from_millis(self.due_at),
            scheduled_at: from_millis(self.scheduled_at),
        })
    }

    pub(crate) fn into_pending_timer(self) -> PendingTimer {
        PendingTimer {
            workflow_id: self.workflow_id,
            run: self.run as u32,
            seq: self.seq as u32,
            fire_at: from_millis(self.due_at),
        }
    }
}

pub(crate) fn json(s: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(e.to_string()))
}

pub(crate) fn failure(s: &str) -> Result<Failure> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(e.to_string()))
}

pub(crate) fn retry_mode(s: &str) -> Result<RetryMode> {
    match s {
        "from_start" => Ok(RetryMode::FromStart),
        "resume" => Ok(RetryMode::Resume),
        other => Err(corrupt("retry mode", other)),
    }
}

pub(crate) fn retry_mode_str(mode: RetryMode) -> &'static str {
    match mode {
        RetryMode::FromStart => "from_start",
        RetryMode::Resume => "resume",
    }
}

fn corrupt(what: &str, value: &str) -> Error {
    Error::Corrupt(format!("unknown {what} `{value}`"))
}

/// JSON text of a value that is always serialisable.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
