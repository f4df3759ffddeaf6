//! A workflow run's history: the append-only list of what happened to it.
//!
//! Events are of two sorts. *Inputs* come from outside the workflow code
//! (start, an activity's outcome, a timer firing, a signal, a cancel request)
//! and are what a workflow task consumes. *Commands* are what the workflow
//! code decided (schedule an activity, start a timer, record a value, finish);
//! replay re-runs the code and checks that it decides the same again.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::activity::ActivityOptions;
use crate::clock::Timestamp;

/// One entry of a run's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Position in the run's history, from 1.
    pub id: u64,
    /// When it was recorded.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub time: Timestamp,
    /// What happened.
    pub kind: EventKind,
}

/// What happened; the `seq` fields name the workflow operation (activity,
/// timer, recorded value) the event belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type")]
pub enum EventKind {
    /// The run began. `resume` lists steps reused from an earlier run.
    WorkflowStarted {
        workflow_type: String,
        input: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_of_run: Option<u32>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        resume: Vec<ReusedStep>,
    },
    /// A workflow task ran the code against the inputs up to `consumed_through`;
    /// the commands that follow it are what the code decided then.
    WorkflowTaskCompleted { consumed_through: u64 },
    /// Command: run an activity.
    ActivityScheduled {
        seq: u32,
        name: String,
        input: Value,
        options: ActivityOptions,
    },
    /// An attempt failed and another will follow at `next_attempt_at`.
    ActivityAttemptFailed {
        seq: u32,
        attempt: u32,
        error: Failure,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        next_attempt_at: Timestamp,
    },
    /// The activity succeeded.
    ActivityCompleted {
        seq: u32,
        attempt: u32,
        result: Value,
    },
    /// The activity failed for good (non-retryable, attempts or time exhausted).
    ActivityFailed {
        seq: u32,
        attempt: u32,
        error: Failure,
    },
    /// Command: a durable timer.
    TimerStarted {
        seq: u32,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        fire_at: Timestamp,
    },
    /// The timer's time came (or an operator fired it early).
    TimerFired { seq: u32 },
    /// Command: an operation pending when the cancel request arrived was
    /// cancelled; its task, if any, is dropped.
    OperationCancelled { seq: u32 },
    /// Command: a value the code read from the outside (time, randomness, an
    /// id), recorded so that replay reads the same.
    ValueRecorded { seq: u32, value: Value },
    /// Command: a step of an earlier run reused by a resumed run.
    StepReused {
        seq: u32,
        from_run: u32,
        step: ReusedStep,
    },
    /// Named data delivered to the workflow.
    SignalReceived { name: String, payload: Value },
    /// Someone asked the workflow to cancel.
    CancelRequested { reason: String },
    /// Command: the code returned a value.
    WorkflowCompleted { result: Value },
    /// Command: the code returned an error (or could not run).
    WorkflowFailed { error: Failure },
    /// Command: the code finished after a cancel request.
    WorkflowCancelled {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<Failure>,
    },
    /// An operator stopped the run; no more workflow code runs.
    WorkflowTerminated { reason: String },
}

impl EventKind {
    /// The variant's name, as stored in the `kind` column.
    pub fn name(&self) -> &'static str {
        match self {
            Self::WorkflowStarted { .. } => "WorkflowStarted",
            Self::WorkflowTaskCompleted { .. } => "WorkflowTaskCompleted",
            Self::ActivityScheduled { .. } => "ActivityScheduled",
            Self::ActivityAttemptFailed { .. } => "ActivityAttemptFailed",
            Self::ActivityCompleted { .. } => "ActivityCompleted",
            Self::ActivityFailed { .. } => "ActivityFailed",
            Self::TimerStarted { .. } => "TimerStarted",
            Self::TimerFired { .. } => "TimerFired",
            Self::OperationCancelled { .. } => "OperationCancelled",
            Self::ValueRecorded { .. } => "ValueRecorded",
            Self::StepReused { .. } => "StepReused",
            Self::SignalReceived { .. } => "SignalReceived",
            Self::CancelRequested { .. } => "CancelRequested",
            Self::WorkflowCompleted { .. } => "WorkflowCompleted",
            Self::WorkflowFailed { .. } => "WorkflowFailed",
            Self::WorkflowCancelled { .. } => "WorkflowCancelled",
            Self::WorkflowTerminated { .. } => "WorkflowTerminated",
        }
    }

    /// Whether this event is an input a workflow task must consume (it wakes
    /// the workflow).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Self::WorkflowStarted { .. }
                | Self::ActivityCompleted { .. }
                | Self::ActivityFailed { .. }
                | Self::TimerFired { .. }
                | Self::SignalReceived { .. }
                | Self::CancelRequested { .. }
        )
    }

    /// Whether the workflow code issued this event (checked on replay).
    pub fn is_command(&self) -> bool {
        matches!(
            self,
            Self::ActivityScheduled { .. }
                | Self::TimerStarted { .. }
                | Self::OperationCancelled { .. }
                | Self::ValueRecorded { .. }
                | Self::StepReused { .. }
                | Self::WorkflowCompleted { .. }
                | Self::WorkflowFailed { .. }
                | Self::WorkflowCancelled { .. }
        )
    }

    /// The workflow operation this event belongs to, if any.
    pub fn seq(&self) -> Option<u32> {
        match self {
            Self::ActivityScheduled { seq, .. }
            | Self::ActivityAttemptFailed { seq, .. }
            | Self::ActivityCompleted { seq, .. }
            | Self::ActivityFailed { seq, .. }
            | Self::TimerStarted { seq, .. }
            | Self::TimerFired { seq }
            | Self::OperationCancelled { seq }
            | Self::ValueRecorded { seq, .. }
            | Self::StepReused { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}

/// A step that a run resumed after a failure takes from the earlier run
/// instead of doing it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "step")]
pub enum ReusedStep {
    Activity {
        seq: u32,
        name: String,
        result: Value,
    },
    Timer {
        seq: u32,
    },
    Value {
        seq: u32,
        value: Value,
    },
}

impl ReusedStep {
    /// The operation number of the step in both runs.
    pub fn seq(&self) -> u32 {
        match self {
            Self::Activity { seq, .. } | Self::Timer { seq } | Self::Value { seq, .. } => *seq,
        }
    }
}

/// An error as recorded: a kind to match on and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Failure {
    /// A short machine-readable name, such as `CardDeclined` or `Timeout`.
    pub kind: String,
    /// What went wrong, for the operator.
    pub message: String,
}

impl Failure {
    /// A failure of the given kind.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

/// Builds the steps that a resumed run reuses: the longest prefix of the
/// earlier run's operations that all succeeded, in operation order.
pub fn reusable_prefix(history: &[Event]) -> Vec<ReusedStep> {
    use std::collections::BTreeMap;
    enum Op {
        Activity(String),
        Timer,
        Value(Value),
        Reused(ReusedStep),
    }
    let mut ops: BTreeMap<u32, Op> = BTreeMap::new();
    let mut done: BTreeMap<u32, ReusedStep> = BTreeMap::new();
    for event in history {
        match &event.kind {
            EventKind::ActivityScheduled { seq, name, .. } => {
                ops.insert(*seq, Op::Activity(name.clone()));
            }
            EventKind::TimerStarted { seq, .. } => {
                ops.insert(*seq, Op::Timer);
            }
            EventKind::ValueRecorded { seq, value } => {
                ops.insert(*seq, Op::Value(value.clone()));
            }
            EventKind::StepReused { seq, step, .. } => {
                ops.insert(*seq, Op::Reused(step.clone()));
            }
            EventKind::ActivityCompleted { seq, result, .. } => {
                if let Some(Op::Activity(name)) = ops.get(seq) {
                    done.insert(
                        *seq,
                        ReusedStep::Activity {
                            seq: *seq,
                            name: name.clone(),
                            result: result.clone(),
                        },
                    );
                }
            }
            EventKind::TimerFired { seq } => {
                done.insert(*seq, ReusedStep::Timer { seq: *seq });
            }
            _ => {}
        }
    }
    let mut prefix = Vec::new();
    for (seq, op) in ops {
        let step = match op {
            Op::Value(value) => ReusedStep::Value { seq, value },
            Op::Reused(step) => step,
            Op::Activity(_) | Op::Timer => match done.remove(&seq) {
                Some(step) => step,
                None => break,
            },
        };
        prefix.push(step);
    }
    prefix
}
