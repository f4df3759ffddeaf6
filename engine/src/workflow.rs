//! What the engine knows about a workflow: its status and the records that
//! `describe` and `list` return.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::history::Failure;

/// Where a workflow run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WorkflowStatus {
    Running,
    Completed,
    Failed,
    Cancelled,
    Terminated,
}

impl WorkflowStatus {
    /// Every status, in display order.
    pub const ALL: [WorkflowStatus; 5] = [
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
        Self::Terminated,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Terminated => "terminated",
        }
    }

    /// Whether the run has ended.
    pub fn is_closed(self) -> bool {
        self != Self::Running
    }
}

impl std::fmt::Display for WorkflowStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for WorkflowStatus {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| crate::Error::InvalidArgument(format!("unknown status `{s}`")))
    }
}

/// The current run of a workflow, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowRecord {
    pub id: String,
    /// Run number, from 1; an operator retry starts the next.
    pub run: u32,
    pub workflow_type: String,
    pub status: WorkflowStatus,
    pub input: Value,
    pub result: Option<Value>,
    pub error: Option<Failure>,
    pub cancel_requested: bool,
    /// The last step the workflow scheduled, for a list column.
    pub current_step: Option<String>,
    /// Length of the run's history; bumped by every transition.
    pub version: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
}

/// One run of a workflow id (the current one included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunSummary {
    pub run: u32,
    pub status: WorkflowStatus,
    pub error: Option<Failure>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    /// How this run was started from the previous one, if it was a retry.
    pub retry_mode: Option<RetryMode>,
}

/// How an operator retry starts the new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RetryMode {
    /// Everything runs again.
    FromStart,
    /// Steps the failed run completed are reused, not executed again.
    Resume,
}

/// What a pending activity is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityState {
    /// Waiting for a worker (first attempt, or a retry whose wait is over).
    Scheduled,
    /// A worker runs it now.
    Running,
    /// An attempt failed; the next waits for its backoff.
    BackingOff,
}

/// An activity scheduled but not finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingActivity {
    pub workflow_id: String,
    pub run: u32,
    pub seq: u32,
    pub name: String,
    /// The attempt running or due next, from 1.
    pub attempt: u32,
    /// 0 means unlimited.
    pub maximum_attempts: u32,
    pub state: ActivityState,
    pub last_error: Option<Failure>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_failed_at: Option<Timestamp>,
    /// When the next attempt may start (a backing-off activity's retry time).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub next_attempt_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub scheduled_at: Timestamp,
}

/// A durable timer not yet fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingTimer {
    pub workflow_id: String,
    pub run: u32,
    pub seq: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub fire_at: Timestamp,
}

/// Everything `describe` tells about a workflow id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Description {
    /// The current (latest) run.
    pub workflow: WorkflowRecord,
    /// All runs of this id, oldest first, the current one last.
    pub runs: Vec<RunSummary>,
    pub pending_activities: Vec<PendingActivity>,
    pub pending_timers: Vec<PendingTimer>,
}

/// Which workflows `list` returns. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListFilter {
    pub status: Option<WorkflowStatus>,
    pub workflow_type: Option<String>,
    pub id_prefix: Option<String>,
    /// Started at or after.
    pub started_after: Option<Timestamp>,
    /// Started before.
    pub started_before: Option<Timestamp>,
    /// Only workflows with an activity backing off after a failure.
    pub backing_off: bool,
    /// Only workflows waiting on a timer.
    pub waiting_on_timer: bool,
}

impl ListFilter {
    /// Whether every workflow of the status asked for matches (no filter
    /// but the status): then maintained totals answer instead of a scan.
    pub fn matches_every_status_row(&self) -> bool {
        self.workflow_type.is_none()
            && self.id_prefix.as_deref().is_none_or(str::is_empty)
            && self.started_after.is_none()
            && self.started_before.is_none()
            && !self.backing_off
            && !self.waiting_on_timer
    }
}

/// Where the next page starts: after this (start time, id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub created_at_ms: i64,
    pub id: String,
}

impl Cursor {
    /// An opaque string form for URLs.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at_ms, self.id)
    }

    /// Parses [`Cursor::encode`]'s output.
    pub fn decode(s: &str) -> Result<Self, crate::Error> {
        let (ms, id) = s
            .split_once('.')
            .ok_or_else(|| crate::Error::InvalidArgument("malformed cursor".into()))?;
        let created_at_ms = ms
            .parse()
            .map_err(|_| crate::Error::InvalidArgument("malformed cursor".into()))?;
        Ok(Self {
            created_at_ms,
            id: id.to_string(),
        })
    }
}

/// One page of `list`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListPage {
    pub workflows: Vec<WorkflowRecord>,
    /// Present when there may be more.
    pub next: Option<Cursor>,
}

/// Workflows started, and closed by how they ended, in one minute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MinuteCounts {
    /// The minute's first instant.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub minute: Timestamp,
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub terminated: u64,
}

impl MinuteCounts {
    /// Adds `n` to `outcome`: `started` or the status a run closed with.
    pub(crate) fn add(&mut self, outcome: &str, n: u64) -> crate::error::Result<()> {
        match outcome {
            "started" => self.started += n,
            other => match other.parse::<WorkflowStatus>() {
                Ok(WorkflowStatus::Completed) => self.completed += n,
                Ok(WorkflowStatus::Failed) => self.failed += n,
                Ok(WorkflowStatus::Cancelled) => self.cancelled += n,
                Ok(WorkflowStatus::Terminated) => self.terminated += n,
                Ok(WorkflowStatus::Running) | Err(_) => {
                    return Err(crate::error::Error::Corrupt(format!(
                        "unknown per-minute outcome `{other}`"
                    )));
                }
            },
        }
        Ok(())
    }
}

/// Number of workflows per status matching a filter (status ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub terminated: u64,
}

impl Counts {
    /// Adds `n` to the count of `status`.
    pub fn add(&mut self, status: WorkflowStatus, n: u64) {
        match status {
            WorkflowStatus::Running => self.running += n,
            WorkflowStatus::Completed => self.completed += n,
            WorkflowStatus::Failed => self.failed += n,
            WorkflowStatus::Cancelled => self.cancelled += n,
            WorkflowStatus::Terminated => self.terminated += n,
        }
    }

    /// The count of `status`.
    pub fn get(&self, status: WorkflowStatus) -> u64 {
        match status {
            WorkflowStatus::Running => self.running,
            WorkflowStatus::Completed => self.completed,
            WorkflowStatus::Failed => self.failed,
            WorkflowStatus::Cancelled => self.cancelled,
            WorkflowStatus::Terminated => self.terminated,
        }
    }

    /// All workflows counted.
    pub fn total(&self) -> u64 {
        self.running + self.completed + self.failed + self.cancelled + self.terminated
    }
}
