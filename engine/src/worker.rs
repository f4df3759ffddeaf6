//! The loops that do the work: claim workflow tasks and advance instances,
//! claim activity tasks and run them, fire due timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{Semaphore, watch};

use crate::activity::{ActivityContext, ActivityError};
use crate::clock::{Clock, Timestamp};
use crate::error::Result;
use crate::history::{Event, EventKind, Failure};
use crate::instance::{Activation, Instance};
use crate::instance_cache::{InstanceCache, Key, Marker};
use crate::registry::{Registry, WorkflowEntry};
use crate::store::{
    ActivityTask, Closing, Handoff, Store, TaskKind, Transition, WorkflowTask, WorkflowTaskOutcome,
};
use crate::workflow::WorkflowStatus;
use crate::writer::{Closings, Writer};

/// Shortest pause between two looks at the database for work, so that a
/// busy writer waking the loops on every commit does not turn into a claim
/// query per commit.
const MIN_POLL_GAP: Duration = Duration::from_millis(10);

/// How this process works on the queue.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Whether this process runs workers at all (an API-only process does not).
    pub enabled: bool,
    /// Workflow tasks processed at once.
    pub workflow_concurrency: usize,
    /// Activity attempts run at once.
    pub activity_concurrency: usize,
    /// How long a claim holds a task before others may take it over.
    pub lease: Duration,
    /// Longest idle wait between looks at the database for work that another
    /// process added or whose time came.
    pub poll_interval: Duration,
    /// Live workflow instances kept in memory (evicted ones replay).
    pub cache_capacity: usize,
    /// This worker's name in leases.
    pub identity: String,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            workflow_concurrency: 64,
            activity_concurrency: 256,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            cache_capacity: 10_000,
            identity: format!("worker-{}", uuid::Uuid::new_v4()),
        }
    }
}

/// A workflow task run ahead of its commit, to cache once it committed.
pub(crate) struct RanTask {
    instance: Instance,
    /// Events it appends.
    appended: u64,
    closed_as: Option<WorkflowStatus>,
    started: std::time::Instant,
    /// Tells outcomes of this run that its instance is on its way back, and
    /// keeps it.
    committing: Marker,
}

impl RanTask {
    /// `instance` of `key` made `activation`, starting at `started`; marks
    /// `key` in `cache` as being committed until its instance is kept or
    /// this is dropped.
    fn new(
        cache: &InstanceCache,
        key: Key,
        instance: Instance,
        activation: &Activation,
        started: std::time::Instant,
    ) -> Self {
        Self {
            committing: cache.committing(key),
            instance,
            appended: activation.events.len() as u64,
            closed_as: activation.closing.as_ref().map(|c| c.status),
            started,
        }
    }
}

/// What the loops share.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) writer: Writer,
    pub(crate) config: WorkerConfig,
    /// Bumped after every commit: "there may be new work".
    pub(crate) work: watch::Sender<u64>,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) closings: Arc<Closings>,
    workflow_permits: Arc<Semaphore>,
    activity_permits: Arc<Semaphore>,
    cache: InstanceCache,
}

impl Shared {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
        writer: Writer,
        config: WorkerConfig,
        work: watch::Sender<u64>,
        closings: Arc<Closings>,
    ) -> Self {
        Self {
            workflow_permits: Arc::new(Semaphore::new(config.workflow_concurrency)),
            activity_permits: Arc::new(Semaphore::new(config.activity_concurrency)),
            cache: InstanceCache::new(config.cache_capacity),
            store,
            registry,
            clock,
            writer,
            config,
            work,
            shutdown: watch::channel(false).0,
            closings,
        }
    }

    /// Records a committed workflow task (metrics) and caches its instance
    /// for the next one, its events appended from `first_event_id` — unless
    /// the commit was refused (`None`): then the instance ran ahead of the
    /// durable state and is dropped (it will replay).
    fn after_workflow_task(&self, ran: RanTask, first_event_id: Option<u64>) {
        let RanTask {
            mut instance,
            appended,
            closed_as,
            started,
            committing,
        } = ran;
        metrics::histogram!("steadfast_workflow_task_seconds")
            .record(started.elapsed().as_secs_f64());
        let Some(first_event_id) = first_event_id else {
            return;
        };
        if let Some(status) = closed_as {
            metrics::counter!(
                "steadfast_workflows_closed_total",
                "type" => instance.workflow_type.clone(),
                "status" => status.as_str()
            )
            .increment(1);
        }
        if !instance.closed {
            instance.own = first_event_id..first_event_id + appended;
            committing.keep(instance);
        }
    }

    /// Eager start: runs a new workflow's first task on its `WorkflowStarted`
    /// event before the start commits, so that the start and the task's
    /// decisions commit as one transition and no workflow task is stored or
    /// claimed. Only a process that runs workers does this (it keeps the
    /// instance for the next task); others leave the task to the workers.
    pub(crate) fn first_workflow_task(
        &self,
        entry: &WorkflowEntry,
        workflow_type: &str,
        id: &str,
        input: &serde_json::Value,
        now: Timestamp,
    ) -> Option<(WorkflowTaskOutcome, RanTask)> {
        if !self.config.enabled {
            return None;
        }
        let started = std::time::Instant::now();
        let mut instance = Instance::new(
            workflow_type.to_string(),
            id.to_string(),
            1,
            self.registry.activity_options.clone(),
        );
        let event = Event {
            id: 1,
            time: now,
            kind: EventKind::WorkflowStarted {
                workflow_type: workflow_type.to_string(),
                input: input.clone(),
                retry_of_run: None,
                resume: Vec::new(),
            },
        };
        let activation = instance.advance(&entry.run, std::slice::from_ref(&event), now);
        let ran = RanTask::new(
            &self.cache,
            (id.to_string(), 1),
            instance,
            &activation,
            started,
        );
        Some((activation.into_outcome(), ran))
    }

    /// Caches the instance of an eager start's first task once the start
    /// committed (its events follow `WorkflowStarted`, event 1).
    pub(crate) fn after_first_workflow_task(&self, ran: RanTask) {
        self.after_workflow_task(ran, Some(2));
    }

    fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Waits until there may be work: a commit here, a wake-up from another
    /// process, the next due time, or the poll interval.
    async fn idle(&self, kind: TaskKind, seen: &mut watch::Receiver<u64>) {
        let next_due = self.store.next_due(kind).await.ok().flatten();
        let external = self.store.external_wakeups();
        let mut shutdown = self.shutdown.subscribe();
        let due = async {
            match next_due {
                Some(t) => self.clock.sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let ext = async {
            match external {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        let started = tokio::time::Instant::now();
        tokio::select! {
            _ = seen.changed() => {}
            _ = due => {}
            _ = ext => {}
            // `wait_for`, not `changed`: a shutdown sent while `next_due`
            // was reading is already the value this receiver starts from,
            // and `changed` would sleep through it for the poll interval.
            _ = shutdown.wait_for(|stopping| *stopping) => {}
            _ = tokio::time::sleep(self.config.poll_interval) => {}
        }
        tokio::time::sleep_until(started + MIN_POLL_GAP).await;
    }

    /// Runs a workflow task once a permit is free.
    fn spawn_workflow_task(self: &Arc<Self>, task: WorkflowTask) {
        let shared = self.clone();
        tokio::spawn(async move {
            let Ok(_permit) = shared.workflow_permits.clone().acquire_owned().await else {
                return;
            };
            if let Err(e) = process_workflow_task(&shared, task).await {
                tracing::warn!(error = %e, "workflow task failed");
            }
        });
    }

    /// Runs an activity attempt once a permit is free.
    fn spawn_activity(self: &Arc<Self>, task: ActivityTask) {
        let shared = self.clone();
        tokio::spawn(async move {
            let Ok(_permit) = shared.activity_permits.clone().acquire_owned().await else {
                return;
            };
            if let Err(e) = run_activity(&shared, task).await {
                tracing::warn!(error = %e, "activity outcome not recorded");
            }
        });
    }
}

/// Runs the tasks that commits of this process leased to it.
pub(crate) async fn handoff_loop(
    shared: Arc<Shared>,
    mut handoffs: tokio::sync::mpsc::UnboundedReceiver<Handoff>,
) {
    while let Some(handoff) = handoffs.recv().await {
        match handoff {
            Handoff::Workflow(task) => shared.spawn_workflow_task(task),
            Handoff::Activity(task) => shared.spawn_activity(task),
        }
    }
}

/// Claims workflow tasks that no commit of this process handed over
/// (after a restart, expired leases, work of other processes) until shutdown.
pub(crate) async fn workflow_loop(shared: Arc<Shared>) {
    let mut seen = shared.work.subscribe();
    while !shared.is_shutting_down() {
        seen.borrow_and_update();
        let free = shared.workflow_permits.available_permits().clamp(1, 128) as u32;
        let now = shared.clock.now();
        let claimed = shared
            .store
            .claim_workflow_tasks(&shared.config.identity, now, shared.config.lease, free)
            .await;
        match claimed {
            Ok(tasks) if !tasks.is_empty() => {
                for task in tasks {
                    shared.spawn_workflow_task(task);
                }
            }
            Ok(_) => shared.idle(TaskKind::Workflow, &mut seen).await,
            Err(e) => {
                tracing::warn!(error = %e, "claiming workflow tasks failed");
                shared.idle(TaskKind::Workflow, &mut seen).await;
            }
        }
    }
    // Graceful shutdown: wait for in-flight workflow tasks.
    let all = shared.config.workflow_concurrency as u32;
    let _ = shared.workflow_permits.acquire_many(all).await;
}

async fn process_workflow_task(shared: &Shared, task: WorkflowTask) -> Result<()> {
    let key = (task.workflow_id.clone(), task.run);
    let now = shared.clock.now();
    let Some(entry) = shared.registry.workflows.get(&task.workflow_type) else {
        let error = Failure::new(
            "UnknownWorkflowType",
            format!("no workflow `{}` is registered", task.workflow_type),
        );
        shared
            .writer
            .commit(Transition::CompleteWorkflowTask {
                task: task.task,
                workflow_id: task.workflow_id,
                run: task.run,
                consumed_through: u64::MAX,
                events: vec![EventKind::WorkflowFailed {
                    error: error.clone(),
                }],
                new_tasks: vec![],
                cancelled: vec![],
                current_step: None,
                closing: Some(Closing {
                    status: WorkflowStatus::Failed,
                    result: None,
                    error: Some(error),
                }),
                now,
            })
            .await?;
        return Ok(());
    };

    let mut instance = shared.cache.take(&key);
    let next_unseen = instance.as_ref().map_or(Some(1), Instance::next_unseen);
    let carried_fits = task
        .new_events
        .first()
        .is_some_and(|first| Some(first.id) == next_unseen);
    let events = if carried_fits {
        // The commit that handed this task over carried the events right
        // after what the instance knows: no need to read the history.
        task.new_events
    } else {
        let (after, own) = instance.as_ref().map_or((0, 0..0), |cached| {
            (cached.known_through, cached.own.clone())
        });
        let mut events = shared
            .store
            .history(&task.workflow_id, task.run, after)
            .await?;
        events.retain(|e| !own.contains(&e.id));
        // Another worker advanced this workflow since we cached it: rebuild.
        if instance.is_some()
            && events
                .iter()
                .any(|e| matches!(e.kind, EventKind::WorkflowTaskCompleted { .. }))
        {
            instance = None;
            events = shared.store.history(&task.workflow_id, task.run, 0).await?;
        }
        events
    };
    let mut instance = instance.unwrap_or_else(|| {
        Instance::new(
            task.workflow_type.clone(),
            task.workflow_id.clone(),
            task.run,
            shared.registry.activity_options.clone(),
        )
    });
    let started = std::time::Instant::now();
    let activation = instance.advance(&entry.run, &events, now);
    let ran = RanTask::new(&shared.cache, key, instance, &activation, started);
    let applied = shared
        .writer
        .commit(Transition::CompleteWorkflowTask {
            task: task.task,
            workflow_id: task.workflow_id.clone(),
            run: task.run,
            consumed_through: activation.consumed_through,
            events: activation.events,
            new_tasks: activation.new_tasks,
            cancelled: activation.cancelled,
            current_step: activation.current_step,
            closing: activation.closing,
            now,
        })
        .await?;
    shared.after_workflow_task(ran, applied.first_event_id());
    Ok(())
}

/// Claims activity tasks that no commit of this process handed over
/// (retries after a backoff, expired leases, work of other processes) and
/// runs them until shutdown.
pub(crate) async fn activity_loop(shared: Arc<Shared>) {
    let mut seen = shared.work.subscribe();
    while !shared.is_shutting_down() {
        seen.borrow_and_update();
        let free = shared.activity_permits.available_permits() as u32;
        if free == 0 {
            shared.idle(TaskKind::Activity, &mut seen).await;
            continue;
        }
        let now = shared.clock.now();
        let claimed = shared
            .store
            .claim_activity_tasks(
                &shared.config.identity,
                now,
                shared.config.lease,
                free.min(128),
            )
            .await;
        match claimed {
            Ok(tasks) if !tasks.is_empty() => {
                for task in tasks {
                    shared.spawn_activity(task);
                }
            }
            Ok(_) => shared.idle(TaskKind::Activity, &mut seen).await,
            Err(e) => {
                tracing::warn!(error = %e, "claiming activity tasks failed");
                shared.idle(TaskKind::Activity, &mut seen).await;
            }
        }
    }
    let all = shared.config.activity_concurrency as u32;
    let _ = shared.activity_permits.acquire_many(all).await;
}

async fn run_activity(shared: &Arc<Shared>, task: ActivityTask) -> Result<()> {
    let options = &task.options;
    let started = std::time::Instant::now();
    metrics::counter!("steadfast_activity_attempts_total", "name" => task.name.clone())
        .increment(1);
    let outcome: std::result::Result<serde_json::Value, ActivityError> =
        match shared.registry.activities.get(&task.name) {
            None => Err(ActivityError::non_retryable(
                "UnknownActivity",
                format!("no activity `{}` is registered", task.name),
            )),
            Some(f) => {
                let cancelled = Arc::new(AtomicBool::new(false));
                let heartbeat = {
                    let shared = shared.clone();
                    let task_ref = task.task.clone();
                    let cancelled = cancelled.clone();
                    let extend = options.start_to_close_timeout + shared.config.lease;
                    Arc::new(move || {
                        let shared = shared.clone();
                        let task_ref = task_ref.clone();
                        let cancelled = cancelled.clone();
                        tokio::spawn(async move {
                            let until = shared.clock.now()
                                + chrono::Duration::from_std(extend).unwrap_or_default();
                            if let Ok(false) = shared.store.heartbeat(&task_ref, until).await {
                                cancelled.store(true, Ordering::Relaxed);
                            }
                        });
                    }) as Arc<dyn Fn() + Send + Sync>
                };
                let ctx = ActivityContext {
                    workflow_id: task.workflow_id.clone(),
                    run: task.run,
                    seq: task.seq,
                    attempt: task.attempt,
                    name: task.name.clone(),
                    cancelled,
                    heartbeat,
                };
                let attempt = std::panic::AssertUnwindSafe(f(ctx, task.input)).catch_unwind();
                match tokio::time::timeout(options.start_to_close_timeout, attempt).await {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(_panic)) => Err(ActivityError::retryable("the activity panicked")),
                    Err(_) => Err(ActivityError::of_kind(
                        "Timeout",
                        format!(
                            "attempt {} exceeded its start-to-close timeout of {:?}",
                            task.attempt, options.start_to_close_timeout
                        ),
                    )),
                }
            }
        };
    metrics::histogram!("steadfast_activity_attempt_seconds", "name" => task.name.clone())
        .record(started.elapsed().as_secs_f64());
    if let Err(e) = &outcome {
        metrics::counter!(
            "steadfast_activity_failures_total",
            "name" => task.name.clone(),
            "kind" => e.kind.clone()
        )
        .increment(1);
    }
    let now = shared.clock.now();
    let final_outcome = match outcome {
        Ok(result) => EventKind::ActivityCompleted {
            seq: task.seq,
            attempt: task.attempt,
            result,
        },
        Err(error) => {
            let policy = &options.retry;
            let next_attempt_at = now
                + chrono::Duration::from_std(policy.delay_after(task.attempt)).unwrap_or_default();
            let within_deadline = options.schedule_to_close_timeout.is_none_or(|limit| {
                next_attempt_at
                    < task.scheduled_at + chrono::Duration::from_std(limit).unwrap_or_default()
            });
            let retry = error.retryable
                && policy.retries_kind(&error.kind)
                && policy.allows_attempt(task.attempt + 1)
                && within_deadline;
            if retry {
                let retry = Transition::RetryActivity {
                    task: task.task,
                    workflow_id: task.workflow_id,
                    run: task.run,
                    seq: task.seq,
                    attempt: task.attempt,
                    error: error.to_failure(),
                    next_attempt_at,
                    now,
                };
                return shared.writer.commit(retry).await.map(drop);
            }
            EventKind::ActivityFailed {
                seq: task.seq,
                attempt: task.attempt,
                error: error.to_failure(),
            }
        }
    };
    complete_activity(
        shared,
        task.task,
        task.workflow_id,
        task.run,
        final_outcome,
        now,
    )
    .await
}

/// Commits an activity's final outcome. If this process holds the
/// workflow's instance, it runs the workflow task on the outcome at once and
/// commits both together (see [`Transition::CompleteActivityEagerly`]): one
/// transition instead of two, and no workflow-task row.
async fn complete_activity(
    shared: &Shared,
    task: crate::store::TaskRef,
    workflow_id: String,
    run: u32,
    outcome: EventKind,
    now: crate::clock::Timestamp,
) -> Result<()> {
    let key = (workflow_id.clone(), run);
    let cached = shared
        .cache
        .take_after_commit(&key)
        .await
        .and_then(|instance| {
            let outcome_id = instance.next_unseen()?;
            let entry = shared.registry.workflows.get(&instance.workflow_type)?;
            Some((instance, outcome_id, entry))
        });
    let Some((mut instance, outcome_id, entry)) = cached else {
        let plain = Transition::CompleteActivity {
            task,
            workflow_id,
            run,
            outcome,
            now,
        };
        return shared.writer.commit(plain).await.map(drop);
    };
    let started = std::time::Instant::now();
    let event = Event {
        id: outcome_id,
        time: now,
        kind: outcome.clone(),
    };
    let activation = instance.advance(&entry.run, std::slice::from_ref(&event), now);
    let ran = RanTask::new(&shared.cache, key, instance, &activation, started);
    let applied = shared
        .writer
        .commit(Transition::CompleteActivityEagerly {
            task,
            workflow_id,
            run,
            outcome,
            outcome_id,
            then: activation.into_outcome(),
            now,
        })
        .await?;
    shared.after_workflow_task(ran, applied.first_event_id());
    Ok(())
}

/// Fires due timers until shutdown.
pub(crate) async fn timer_loop(shared: Arc<Shared>) {
    let mut seen = shared.work.subscribe();
    while !shared.is_shutting_down() {
        seen.borrow_and_update();
        let now = shared.clock.now();
        let due = match shared.store.due_timers(now, 512).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "looking for due timers failed");
                shared.idle(TaskKind::Timer, &mut seen).await;
                continue;
            }
        };
        if due.is_empty() {
            shared.idle(TaskKind::Timer, &mut seen).await;
            continue;
        }
        let fires = due
            .into_iter()
            .map(|t| Transition::FireTimer {
                workflow_id: t.workflow_id,
                run: t.run,
                seq: t.seq,
                now,
            })
            .collect();
        if let Err(e) = shared.writer.commit_all(fires).await {
            tracing::warn!(error = %e, "firing timers failed");
        }
    }
}
