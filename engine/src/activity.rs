//! Activities: the steps of a workflow that touch the outside world and may
//! fail. They run on activity workers, at least once per successful
//! completion, so they pass their [`ActivityContext::idempotency_key`] on to
//! whatever they call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::history::Failure;
use crate::retry::{RetryPolicy, millis, opt_millis};

/// How an activity call runs: its retry policy and timeouts.
///
/// ```
/// use std::time::Duration;
/// use engine::{ActivityOptions, RetryPolicy};
/// let options = ActivityOptions {
///     start_to_close_timeout: Duration::from_secs(5),
///     retry: RetryPolicy { maximum_attempts: 5, ..RetryPolicy::default() },
///     ..ActivityOptions::default()
/// };
/// assert_eq!(options.schedule_to_close_timeout, None);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "How an activity call runs: its retry policy and timeouts.")
)]
#[serde(default)]
pub struct ActivityOptions {
    /// Retry policy across attempts.
    pub retry: RetryPolicy,
    /// Longest one attempt may run, in milliseconds; a timed-out attempt is a
    /// retryable failure.
    #[serde(with = "millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64, default = 60_000))]
    pub start_to_close_timeout: Duration,
    /// Longest all attempts together may take, waits included, in
    /// milliseconds; `None` is unlimited.
    #[serde(with = "opt_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u64>))]
    pub schedule_to_close_timeout: Option<Duration>,
}

impl Default for ActivityOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            start_to_close_timeout: Duration::from_secs(60),
            schedule_to_close_timeout: None,
        }
    }
}

/// Why an activity attempt failed.
///
/// ```
/// use engine::ActivityError;
/// let transient = ActivityError::retryable("payment service answered 503");
/// let final_ = ActivityError::non_retryable("CardDeclined", "the card was declined");
/// assert!(transient.retryable && !final_.retryable);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ActivityError {
    /// A short machine-readable name, matched against
    /// [`RetryPolicy::non_retryable_error_kinds`].
    pub kind: String,
    /// What went wrong.
    pub message: String,
    /// Whether another attempt may help.
    pub retryable: bool,
}

impl ActivityError {
    /// A transient failure (kind `Error`): the policy decides whether to retry.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            kind: "Error".into(),
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that no retry can fix, such as a declined card.
    pub fn non_retryable(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            retryable: false,
        }
    }

    /// A retryable failure of a named kind.
    pub fn of_kind(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            retryable: true,
        }
    }

    /// The error as recorded in history.
    pub fn to_failure(&self) -> Failure {
        Failure::new(self.kind.clone(), self.message.clone())
    }
}

/// What an activity knows about the attempt it is running.
#[derive(Clone)]
pub struct ActivityContext {
    pub(crate) workflow_id: String,
    pub(crate) run: u32,
    pub(crate) seq: u32,
    pub(crate) attempt: u32,
    pub(crate) name: String,
    pub(crate) cancelled: Arc<AtomicBool>,
    pub(crate) heartbeat: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for ActivityContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityContext")
            .field("name", &self.name)
            .field("key", &self.idempotency_key())
            .field("attempt", &self.attempt)
            .finish()
    }
}

impl ActivityContext {
    /// The attempt number, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// `workflow id/run/sequence`: the same for every attempt of this
    /// activity call and different for every other call. Pass it to the
    /// services the activity calls so that a repeated attempt changes nothing.
    pub fn idempotency_key(&self) -> String {
        idempotency_key(&self.workflow_id, self.run, self.seq)
    }

    /// The workflow this activity works for.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The activity's registered name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Tells the engine the activity is alive: extends its lease, and learns
    /// whether the workflow no longer wants the result.
    pub fn heartbeat(&self) {
        (self.heartbeat)();
    }

    /// Whether the workflow cancelled this activity or was terminated; a
    /// long activity should check it and stop early.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// The idempotency key of activity call `seq` of `run` of workflow `id`.
pub fn idempotency_key(workflow_id: &str, run: u32, seq: u32) -> String {
    format!("{workflow_id}/{run}/{seq}")
}
