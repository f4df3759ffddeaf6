//! The client handle: start, inspect and act on workflows. The API and the
//! dashboard use it; it is cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::history::{Event, reusable_prefix};
use crate::store::{ActivityQuery, Applied, Transition};
use crate::worker::Shared;
use crate::workflow::{
    Counts, Cursor, Description, ListFilter, ListPage, MinuteCounts, PendingActivity, PendingTimer,
    RetryMode, WorkflowRecord, WorkflowStatus,
};
use crate::writer::Subscription;

/// Longest workflow id accepted.
pub const MAX_ID_LEN: usize = 256;

/// How long `wait_closed` pauses after a transient read error.
const TRANSIENT_PAUSE: Duration = Duration::from_millis(100);

/// The answer to [`Client::start`].
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// A new workflow was created (run 1).
    Started { id: String, run: u32 },
    /// The id exists; nothing was created. The existing workflow is returned.
    AlreadyStarted(Box<WorkflowRecord>),
}

/// The answer to [`Client::execute`].
#[derive(Debug, Clone, PartialEq)]
pub enum Execution {
    /// The workflow this call started ended like this.
    Closed(Box<WorkflowRecord>),
    /// The id exists; nothing was created and nothing awaited.
    AlreadyStarted(Box<WorkflowRecord>),
}

/// Starts, inspects and acts on workflows.
///
/// ```no_run
/// # async fn demo(client: engine::Client) -> Result<(), engine::Error> {
/// use engine::{ListFilter, Start, WorkflowStatus};
/// match client.start("process_order", "order-42", &serde_json::json!({"item": "sku-1"})).await? {
///     Start::Started { run, .. } => println!("started run {run}"),
///     Start::AlreadyStarted(existing) => println!("already {}", existing.status),
/// }
/// let failed = client
///     .list(&ListFilter { status: Some(WorkflowStatus::Failed), ..Default::default() }, None, 50)
///     .await?;
/// println!("{} failed", failed.workflows.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
}

impl Client {
    /// Starts workflow `workflow_type` under `id` (the caller's idempotency
    /// key). Answers only once the start is committed. An existing id is
    /// answered with [`Start::AlreadyStarted`], never a second run.
    pub async fn start<I: Serialize>(
        &self,
        workflow_type: &str,
        id: &str,
        input: &I,
    ) -> Result<Start> {
        validate_id(id)?;
        let entry = self
            .shared
            .registry
            .workflows
            .get(workflow_type)
            .ok_or_else(|| Error::UnknownWorkflowType(workflow_type.to_string()))?;
        let input = serde_json::to_value(input).map_err(|e| Error::InvalidInput {
            workflow_type: workflow_type.to_string(),
            message: e.to_string(),
        })?;
        (entry.validate)(&input).map_err(|message| Error::InvalidInput {
            workflow_type: workflow_type.to_string(),
            message,
        })?;
        let now = self.shared.clock.now();
        let (first_task, ran) = self
            .shared
            .first_workflow_task(entry, workflow_type, id, &input, now)
            .unzip();
        let applied = self
            .shared
            .writer
            .commit(Transition::Start {
                id: id.to_string(),
                workflow_type: workflow_type.to_string(),
                input,
                first_task,
                now,
            })
            .await?;
        match applied {
            Applied::Started { run } => {
                if let Some(ran) = ran {
                    self.shared.after_first_workflow_task(ran);
                }
                metrics::counter!("steadfast_workflows_started_total", "type" => workflow_type.to_string())
                    .increment(1);
                Ok(Start::Started {
                    id: id.to_string(),
                    run,
                })
            }
            Applied::AlreadyExists(existing) => Ok(Start::AlreadyStarted(existing)),
            other => Err(Error::Corrupt(format!(
                "unexpected start outcome {other:?}"
            ))),
        }
    }

    /// The current run of `id`.
    pub async fn get(&self, id: &str) -> Result<WorkflowRecord> {
        self.shared
            .store
            .workflow(id)
            .await?
            .ok_or_else(|| Error::NotFound(id.to_string()))
    }

    /// Status, input, outcome, runs, pending activities and timers of `id`.
    pub async fn describe(&self, id: &str) -> Result<Description> {
        let workflow = self.get(id).await?;
        let store = &self.shared.store;
        let runs = store.runs(id).await?;
        let query = ActivityQuery {
            workflow_id: Some(id.to_string()),
            backing_off_only: false,
            limit: 1_000,
        };
        let pending_activities = store
            .pending_activities(&query, self.shared.clock.now())
            .await?;
        let pending_timers = store.pending_timers(Some(id), 1_000).await?;
        Ok(Description {
            workflow,
            runs,
            pending_activities,
            pending_timers,
        })
    }

    /// The events of run `run` of `id` (the current run when `None`).
    pub async fn history(&self, id: &str, run: Option<u32>) -> Result<Vec<Event>> {
        let current = self.get(id).await?;
        let run = run.unwrap_or(current.run);
        if run == 0 || run > current.run {
            return Err(Error::InvalidArgument(format!(
                "workflow `{id}` has runs 1 to {}",
                current.run
            )));
        }
        self.shared.store.history(id, run, 0).await
    }

    /// A page of workflows matching `filter`, newest first, after `cursor`.
    pub async fn list(
        &self,
        filter: &ListFilter,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<ListPage> {
        let limit = limit.clamp(1, 1_000);
        self.shared
            .store
            .list(filter, cursor, limit, self.shared.clock.now())
            .await
    }

    /// Workflows per status matching `filter` (its status ignored).
    pub async fn counts(&self, filter: &ListFilter) -> Result<Counts> {
        self.shared
            .store
            .counts(filter, self.shared.clock.now())
            .await
    }

    /// Workflows started and closed per minute since `since` (kept by every
    /// commit, so this reads a row per minute and outcome, not the workflows).
    ///
    /// ```no_run
    /// # async fn demo(client: engine::Client) -> Result<(), engine::Error> {
    /// let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    /// for minute in client.per_minute(hour_ago).await? {
    ///     println!("{}: {} started, {} failed", minute.minute, minute.started, minute.failed);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn per_minute(&self, since: Timestamp) -> Result<Vec<MinuteCounts>> {
        self.shared.store.per_minute(since).await
    }

    /// Pending activities across all workflows; only those backing off after
    /// a failure when `backing_off_only`.
    pub async fn pending_activities(
        &self,
        backing_off_only: bool,
        limit: u32,
    ) -> Result<Vec<PendingActivity>> {
        let query = ActivityQuery {
            workflow_id: None,
            backing_off_only,
            limit: limit.clamp(1, 1_000),
        };
        self.shared
            .store
            .pending_activities(&query, self.shared.clock.now())
            .await
    }

    /// Pending timers across all workflows, soonest first.
    pub async fn pending_timers(&self, limit: u32) -> Result<Vec<PendingTimer>> {
        self.shared
            .store
            .pending_timers(None, limit.clamp(1, 1_000))
            .await
    }

    /// Asks a running workflow to cancel: what it awaits returns
    /// `Cancelled`, its compensation runs, and it ends cancelled.
    pub async fn cancel(&self, id: &str, reason: &str) -> Result<()> {
        self.act(
            id,
            Transition::RequestCancel {
                id: id.to_string(),
                reason: reason.to_string(),
                now: self.shared.clock.now(),
            },
        )
        .await
    }

    /// Stops a running workflow at once; no more of its code runs.
    pub async fn terminate(&self, id: &str, reason: &str) -> Result<()> {
        self.act(
            id,
            Transition::Terminate {
                id: id.to_string(),
                reason: reason.to_string(),
                now: self.shared.clock.now(),
            },
        )
        .await
    }

    /// Delivers signal `name` with `payload` to a running workflow.
    pub async fn signal(&self, id: &str, name: &str, payload: Value) -> Result<()> {
        if name.is_empty() {
            return Err(Error::InvalidArgument("a signal needs a name".into()));
        }
        self.act(
            id,
            Transition::Signal {
                id: id.to_string(),
                name: name.to_string(),
                payload,
                now: self.shared.clock.now(),
            },
        )
        .await
    }

    /// Skips the backoff of pending activity `seq`: its next attempt is due now.
    pub async fn retry_activity_now(&self, id: &str, seq: u32) -> Result<()> {
        self.act_on_operation(
            id,
            "activity",
            seq,
            Transition::RetryActivityNow {
                id: id.to_string(),
                seq,
                now: self.shared.clock.now(),
            },
        )
        .await
    }

    /// Fires pending timer `seq` now.
    pub async fn fire_timer_now(&self, id: &str, seq: u32) -> Result<()> {
        self.act_on_operation(
            id,
            "timer",
            seq,
            Transition::FireTimerNow {
                id: id.to_string(),
                seq,
                now: self.shared.clock.now(),
            },
        )
        .await
    }

    /// Starts a new run of a failed, cancelled or terminated workflow,
    /// linked to the old one; returns the new run number.
    pub async fn retry(&self, id: &str, mode: RetryMode) -> Result<u32> {
        let current = self.get(id).await?;
        if !current.status.is_closed() || current.status == WorkflowStatus::Completed {
            return Err(Error::WrongState {
                id: id.to_string(),
                status: current.status,
                message: "only a failed, cancelled or terminated workflow can be retried".into(),
            });
        }
        let resume = match mode {
            RetryMode::FromStart => Vec::new(),
            RetryMode::Resume => {
                reusable_prefix(&self.shared.store.history(id, current.run, 0).await?)
            }
        };
        let applied = self
            .shared
            .writer
            .commit(Transition::Retry {
                id: id.to_string(),
                from_run: current.run,
                mode,
                resume,
                now: self.shared.clock.now(),
            })
            .await?;
        match applied {
            Applied::Started { run } => Ok(run),
            other => Err(self.refusal(id, other)),
        }
    }

    /// Waits until the current run of `id` has ended, up to `timeout`.
    /// Closings by this process wake it at once; others are noticed by a
    /// look at the store every second. A transient read error (a lost
    /// connection, see [`Error::is_transient`]) is retried until the deadline.
    pub async fn wait_closed(&self, id: &str, timeout: Duration) -> Result<WorkflowRecord> {
        self.wait(id, timeout, None).await
    }

    /// Starts workflow `workflow_type` under `id` and waits up to `timeout`
    /// for it to end, as [`Client::start`] then [`Client::wait_closed`]
    /// would, except that a workflow this call created is not read back
    /// before waiting (it runs: the wait began before the start committed).
    /// An existing id is answered at once with
    /// [`Execution::AlreadyStarted`], without waiting.
    ///
    /// ```no_run
    /// # async fn demo(client: engine::Client) -> Result<(), engine::Error> {
    /// use engine::Execution;
    /// use std::time::Duration;
    /// let input = serde_json::json!({"item": "sku-1"});
    /// match client.execute("process_order", "order-43", &input, Duration::from_secs(30)).await? {
    ///     Execution::Closed(record) => println!("ended {}", record.status),
    ///     Execution::AlreadyStarted(existing) => println!("already {}", existing.status),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn execute<I: Serialize>(
        &self,
        workflow_type: &str,
        id: &str,
        input: &I,
        timeout: Duration,
    ) -> Result<Execution> {
        let subscription = self.shared.closings.subscribe(id);
        match self.start(workflow_type, id, input).await? {
            Start::Started { .. } => self
                .wait(id, timeout, Some(subscription))
                .await
                .map(|record| Execution::Closed(Box::new(record))),
            Start::AlreadyStarted(existing) => Ok(Execution::AlreadyStarted(existing)),
        }
    }

    /// [`Client::wait_closed`]; `running` is a subscription taken while
    /// the workflow was known to run, which saves the first look.
    async fn wait(
        &self,
        id: &str,
        timeout: Duration,
        mut running: Option<Subscription<'_>>,
    ) -> Result<WorkflowRecord> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (mut subscription, status) = match running.take() {
                Some(subscription) => (subscription, WorkflowStatus::Running),
                None => {
                    let subscription = self.shared.closings.subscribe(id);
                    let record = match self.get(id).await {
                        Ok(record) => record,
                        // A lost connection (say, PostgreSQL restarting) says
                        // nothing about the workflow: look again until the deadline.
                        Err(e) if e.is_transient() && tokio::time::Instant::now() < deadline => {
                            tracing::debug!(error = %e, id, "waiting for a workflow: read failed; retrying");
                            tokio::time::sleep(TRANSIENT_PAUSE).await;
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    if record.status.is_closed() {
                        return Ok(record);
                    }
                    (subscription, record.status)
                }
            };
            tokio::select! {
                // The writer hands over the row it closed: no read back.
                Ok(record) = &mut subscription.closed => return Ok(record),
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Error::WrongState {
                        id: id.to_string(),
                        status,
                        message: format!("still running after {timeout:?}"),
                    });
                }
            }
        }
    }

    async fn act(&self, id: &str, transition: Transition) -> Result<()> {
        match self.shared.writer.commit(transition).await? {
            Applied::Done => Ok(()),
            other => Err(self.refusal(id, other)),
        }
    }

    async fn act_on_operation(
        &self,
        id: &str,
        what: &'static str,
        seq: u32,
        transition: Transition,
    ) -> Result<()> {
        match self.shared.writer.commit(transition).await? {
            Applied::Done => Ok(()),
            Applied::NoSuchOperation => Err(Error::NoSuchOperation {
                id: id.to_string(),
                what,
                seq,
            }),
            other => Err(self.refusal(id, other)),
        }
    }

    fn refusal(&self, id: &str, applied: Applied) -> Error {
        match applied {
            Applied::NotFound => Error::NotFound(id.to_string()),
            Applied::WrongState { status, message } => Error::WrongState {
                id: id.to_string(),
                status,
                message,
            },
            other => Error::Corrupt(format!("unexpected outcome {other:?}")),
        }
    }
}

fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Error::InvalidArgument(format!(
            "a workflow id must be 1 to {MAX_ID_LEN} bytes long"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(
            "a workflow id must not contain control characters".into(),
        ));
    }
    Ok(())
}

impl Client {
    /// The workflow types registered with this engine, sorted by name: what
    /// a dashboard offers in its type filter.
    pub fn workflow_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self.shared.registry.workflows.keys().cloned().collect();
        types.sort();
        types
    }
}
