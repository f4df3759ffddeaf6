//! Persistence. The engine talks to one [`Store`]; each backend implements it
//! so that every state transition is one transaction.
//!
//! A [`Transition`] carries everything one step changes (events to append,
//! tasks to add or drop, the workflow row's new state) plus the fence it must
//! pass (the lease token of the task it completes). [`Store::commit`] takes a
//! batch so a single writer can group many transitions into one transaction;
//! each transition is checked and applied on its own, so a stale one is
//! skipped without failing its neighbours.

mod batch;
pub mod postgres;
mod postgres_commit;
mod rows;
mod sql;
pub mod sqlite;
mod sqlite_cache;
mod sqlite_commit;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Notify;

use crate::activity::ActivityOptions;
use crate::clock::Timestamp;
use crate::error::Result;
use crate::history::{Event, EventKind, Failure, ReusedStep};
use crate::workflow::{
    Counts, Cursor, ListFilter, ListPage, MinuteCounts, PendingActivity, PendingTimer, RetryMode,
    RunSummary, WorkflowRecord, WorkflowStatus,
};

/// The three kinds of work in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    Workflow,
    Activity,
    Timer,
}

impl TaskKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Workflow => "workflow",
            Self::Activity => "activity",
            Self::Timer => "timer",
        }
    }
}

/// A claimed task: its row id and the token of this claim. Completing the
/// task needs the token; once the lease expires and someone else claims the
/// task, the old token no longer matches (the fence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    pub id: i64,
    pub lease_token: String,
}

/// A workflow task: "run this workflow's code against its new events".
#[derive(Debug, Clone)]
pub struct WorkflowTask {
    pub task: TaskRef,
    pub workflow_id: String,
    pub run: u32,
    pub workflow_type: String,
    /// The events whose commit created this task, when it was handed off by
    /// that commit (empty for claimed tasks): a cached instance that has
    /// seen everything before them need not read the history.
    pub new_events: Vec<Event>,
}

/// An activity attempt to run.
#[derive(Debug, Clone)]
pub struct ActivityTask {
    pub task: TaskRef,
    pub workflow_id: String,
    pub run: u32,
    pub seq: u32,
    pub name: String,
    pub input: Value,
    pub attempt: u32,
    pub options: ActivityOptions,
    pub scheduled_at: Timestamp,
}

/// A timer whose fire time has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    pub workflow_id: String,
    pub run: u32,
    pub seq: u32,
}

/// A task a workflow task creates.
#[derive(Debug, Clone)]
pub enum NewTask {
    Activity {
        seq: u32,
        name: String,
        input: Value,
        options: ActivityOptions,
    },
    Timer {
        seq: u32,
        fire_at: Timestamp,
    },
}

/// What a workflow task decided, for the transitions that commit it with
/// the event it ran on ([`Transition::Start`], [`Transition::CompleteActivityEagerly`]).
#[derive(Debug, Clone)]
pub struct WorkflowTaskOutcome {
    pub events: Vec<EventKind>,
    pub new_tasks: Vec<NewTask>,
    pub cancelled: Vec<u32>,
    pub current_step: Option<String>,
    pub closing: Option<Closing>,
}

/// How a workflow run ended.
#[derive(Debug, Clone)]
pub struct Closing {
    pub status: WorkflowStatus,
    pub result: Option<Value>,
    pub error: Option<Failure>,
}

/// One state transition. Each is applied atomically, alone or in a batch.
#[derive(Debug, Clone)]
pub enum Transition {
    /// Create a workflow (run 1) with its `WorkflowStarted` event and first
    /// workflow task, unless the id exists.
    Start {
        id: String,
        workflow_type: String,
        input: Value,
        /// Eager start: the starting process already ran the first workflow
        /// task on the `WorkflowStarted` event; its decisions are recorded
        /// in the same commit, and no workflow task is created.
        first_task: Option<WorkflowTaskOutcome>,
        now: Timestamp,
    },
    /// A workflow task's outcome: append `events`, add `new_tasks`, drop the
    /// tasks of `cancelled` operations, maybe close the run. Fenced by the
    /// task's lease token. If events arrived after `consumed_through`, the
    /// workflow task is released for another round instead of deleted.
    CompleteWorkflowTask {
        task: TaskRef,
        workflow_id: String,
        run: u32,
        consumed_through: u64,
        events: Vec<EventKind>,
        new_tasks: Vec<NewTask>,
        cancelled: Vec<u32>,
        current_step: Option<String>,
        closing: Option<Closing>,
        now: Timestamp,
    },
    /// Give a claimed task back unfinished (shutdown, or a cache mismatch).
    ReleaseTask { task: TaskRef, now: Timestamp },
    /// An activity finished for good: drop its task, append its outcome,
    /// wake the workflow. Fenced by the lease token.
    CompleteActivity {
        task: TaskRef,
        workflow_id: String,
        run: u32,
        outcome: EventKind,
        now: Timestamp,
    },
    /// An activity finished for good, and the workflow's instance, cached in
    /// this process, has already run on its outcome: [`Transition::CompleteActivity`]
    /// and that workflow task in one transition, with no workflow-task row
    /// in between (Temporal's eager workflow tasks). Applied whole only if
    /// the outcome becomes event `outcome_id` (nothing was appended since
    /// the instance last committed) and no workflow task is pending: then
    /// the answer is `Appended`. Otherwise only the outcome is applied, as
    /// `CompleteActivity` would (answer `Done`), and the caller must drop
    /// its instance: a workflow task will run as usual.
    CompleteActivityEagerly {
        task: TaskRef,
        workflow_id: String,
        run: u32,
        outcome: EventKind,
        outcome_id: u64,
        then: WorkflowTaskOutcome,
        now: Timestamp,
    },
    /// An activity attempt failed and will be retried at `next_attempt_at`.
    /// Fenced by the lease token.
    RetryActivity {
        task: TaskRef,
        workflow_id: String,
        run: u32,
        seq: u32,
        attempt: u32,
        error: Failure,
        next_attempt_at: Timestamp,
        now: Timestamp,
    },
    /// A due timer fires: drop its task, append `TimerFired`, wake the workflow.
    FireTimer {
        workflow_id: String,
        run: u32,
        seq: u32,
        now: Timestamp,
    },
    /// Record a cancel request on the current run and wake it.
    RequestCancel {
        id: String,
        reason: String,
        now: Timestamp,
    },
    /// Stop the current run at once: close it, drop its tasks.
    Terminate {
        id: String,
        reason: String,
        now: Timestamp,
    },
    /// Deliver a signal to the current run and wake it.
    Signal {
        id: String,
        name: String,
        payload: Value,
        now: Timestamp,
    },
    /// Make a pending, not running activity of the current run due now.
    RetryActivityNow {
        id: String,
        seq: u32,
        now: Timestamp,
    },
    /// Make a pending timer of the current run due now.
    FireTimerNow {
        id: String,
        seq: u32,
        now: Timestamp,
    },
    /// Start run `from_run + 1` of a closed workflow, linked to it.
    Retry {
        id: String,
        from_run: u32,
        mode: RetryMode,
        resume: Vec<ReusedStep>,
        now: Timestamp,
    },
}

impl Transition {
    /// The workflow this transition changes (a released task names none).
    pub(crate) fn workflow_id(&self) -> Option<&str> {
        match self {
            Self::Start { id, .. }
            | Self::RequestCancel { id, .. }
            | Self::Terminate { id, .. }
            | Self::Signal { id, .. }
            | Self::RetryActivityNow { id, .. }
            | Self::FireTimerNow { id, .. }
            | Self::Retry { id, .. } => Some(id),
            Self::CompleteWorkflowTask { workflow_id, .. }
            | Self::CompleteActivity { workflow_id, .. }
            | Self::CompleteActivityEagerly { workflow_id, .. }
            | Self::RetryActivity { workflow_id, .. }
            | Self::FireTimer { workflow_id, .. } => Some(workflow_id),
            Self::ReleaseTask { .. } => None,
        }
    }

    /// Whether applying this may leave work that no hand-off covers, so
    /// that workers must look at the queue: a released lease, a backoff, a
    /// new timer, an operator's "now". Everything else a transition creates
    /// is leased to the committing process and handed over.
    pub(crate) fn may_leave_unleased_work(&self) -> bool {
        match self {
            Self::CompleteWorkflowTask { new_tasks, .. }
            | Self::CompleteActivityEagerly {
                then: WorkflowTaskOutcome { new_tasks, .. },
                ..
            }
            | Self::Start {
                first_task: Some(WorkflowTaskOutcome { new_tasks, .. }),
                ..
            } => new_tasks.iter().any(|t| matches!(t, NewTask::Timer { .. })),
            Self::ReleaseTask { .. }
            | Self::RetryActivity { .. }
            | Self::RetryActivityNow { .. }
            | Self::FireTimerNow { .. } => true,
            Self::Start { .. }
            | Self::CompleteActivity { .. }
            | Self::FireTimer { .. }
            | Self::RequestCancel { .. }
            | Self::Terminate { .. }
            | Self::Signal { .. }
            | Self::Retry { .. } => false,
        }
    }
}

/// What applying one transition did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Done as asked.
    Done,
    /// A workflow task's events were appended from this history position on.
    Appended { first_event_id: u64 },
    /// A workflow was created, or a retry started this run.
    Started { run: u32 },
    /// `Start` found the id taken; nothing was written.
    AlreadyExists(Box<WorkflowRecord>),
    /// The fence failed (lease lost, task or workflow gone); nothing was written.
    Stale,
    /// No workflow has this id; nothing was written.
    NotFound,
    /// The action does not fit the state; nothing was written.
    WrongState {
        status: WorkflowStatus,
        message: String,
    },
    /// The activity or timer named is not pending; nothing was written.
    NoSuchOperation,
}

impl Applied {
    /// Where a workflow task's events were appended, if they were.
    pub(crate) fn first_event_id(&self) -> Option<u64> {
        match self {
            Applied::Appended { first_event_id } => Some(*first_event_id),
            _ => None,
        }
    }
}

/// Lets a commit lease the tasks it creates to the committing process, so
/// that they run at once without a claim (the in-process fast path). If the
/// process dies, the leases expire and any worker claims the tasks.
#[derive(Debug, Clone)]
pub struct LeaseGrant {
    /// The lease token of every task leased by this commit.
    pub token: String,
    /// When the leases end (activities: plus their start-to-close timeout).
    pub until: Timestamp,
}

/// A task a commit created (or re-leased) for the committing process.
#[derive(Debug, Clone)]
pub enum Handoff {
    Workflow(WorkflowTask),
    Activity(ActivityTask),
}

/// What committing one transition did, as [`Store::commit_leasing`] answers.
#[derive(Debug)]
pub struct Outcome {
    pub applied: Applied,
    /// The tasks it created (or re-leased) under the caller's lease.
    pub handoffs: Vec<Handoff>,
    /// The workflow as the commit left it, when the transition closed its
    /// run: whoever waits for the close in this process need not read it.
    pub closed: Option<ClosedWorkflow>,
}

/// A workflow row a commit closed, decoded only if someone wants it.
#[derive(Debug, Clone)]
pub struct ClosedWorkflow(rows::WorkflowRow);

impl ClosedWorkflow {
    /// The workflow's id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The workflow as [`crate::Client::get`] would show it.
    pub fn into_record(self) -> Result<WorkflowRecord> {
        self.0.into_record()
    }
}

/// Which pending activities to list.
#[derive(Debug, Clone, Default)]
pub struct ActivityQuery {
    pub workflow_id: Option<String>,
    /// Only those backing off after a failure.
    pub backing_off_only: bool,
    pub limit: u32,
}

/// A database holding workflows, their histories and the work queue.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies each transition in its own all-or-nothing unit, all in as few
    /// database commits as the backend can (ideally one). Returns one
    /// [`Outcome`] per transition, in order, with the tasks it created that
    /// `lease` leased to the caller. An `Err` means none was applied.
    ///
    /// The batch is shared, not borrowed, so that a backend that commits on
    /// a thread of its own (SQLite) hands it over without copying it.
    async fn commit_leasing(
        &self,
        batch: Arc<[Transition]>,
        lease: Option<&LeaseGrant>,
    ) -> Result<Vec<Outcome>>;

    /// [`Store::commit_leasing`] without leasing anything to the caller.
    async fn commit(&self, batch: &[Transition]) -> Result<Vec<Applied>> {
        let outcomes = self.commit_leasing(batch.into(), None).await?;
        Ok(outcomes.into_iter().map(|o| o.applied).collect())
    }

    /// Leases up to `limit` due workflow tasks (visible, not leased or lease
    /// expired) until `now + lease`.
    async fn claim_workflow_tasks(
        &self,
        owner: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<WorkflowTask>>;

    /// Leases up to `limit` due activity tasks until `now + lease +` each
    /// one's start-to-close timeout.
    async fn claim_activity_tasks(
        &self,
        owner: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ActivityTask>>;

    /// Extends a held lease; `false` when the task is gone or not ours
    /// (the activity was cancelled, or the lease was lost).
    async fn heartbeat(&self, task: &TaskRef, until: Timestamp) -> Result<bool>;

    /// Up to `limit` timers due at `now`.
    async fn due_timers(&self, now: Timestamp, limit: u32) -> Result<Vec<DueTimer>>;

    /// The earliest time a task of `kind` becomes due (or its lease
    /// expires), for sleeping until then.
    async fn next_due(&self, kind: TaskKind) -> Result<Option<Timestamp>>;

    /// The current run of a workflow.
    async fn workflow(&self, id: &str) -> Result<Option<WorkflowRecord>>;

    /// All runs of a workflow id, oldest first.
    async fn runs(&self, id: &str) -> Result<Vec<RunSummary>>;

    /// A run's events with id greater than `after`, in order.
    async fn history(&self, id: &str, run: u32, after: u64) -> Result<Vec<Event>>;

    /// Pending activities, oldest first.
    async fn pending_activities(
        &self,
        query: &ActivityQuery,
        now: Timestamp,
    ) -> Result<Vec<PendingActivity>>;

    /// Pending timers, soonest first; all workflows when `workflow_id` is None.
    async fn pending_timers(
        &self,
        workflow_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PendingTimer>>;

    /// One page of workflows, newest first.
    async fn list(
        &self,
        filter: &ListFilter,
        after: Option<&Cursor>,
        limit: u32,
        now: Timestamp,
    ) -> Result<ListPage>;

    /// Workflows per status matching `filter` (its status ignored).
    async fn counts(&self, filter: &ListFilter, now: Timestamp) -> Result<Counts>;

    /// Workflows started and closed per minute, from the minute holding
    /// `since` on, oldest first; minutes with nothing are left out.
    async fn per_minute(&self, since: Timestamp) -> Result<Vec<MinuteCounts>>;

    /// How many batches the backend can commit at once (each touching other
    /// workflows); the engine runs as many writers.
    fn writers(&self) -> usize {
        1
    }

    /// Notified when another process may have added work (PostgreSQL
    /// LISTEN/NOTIFY); `None` for single-process backends.
    fn external_wakeups(&self) -> Option<Arc<Notify>> {
        None
    }
}
