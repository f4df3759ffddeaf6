//! A batch of transitions applied to an in-memory copy of the rows it
//! touches, then written back with a few set-based statements.
//!
//! Why: applied one statement at a time, a transition costs five or six
//! round trips to the database (check the lease, read the workflow row,
//! append, update the row, add the next task, drop the old one), and the
//! single writer spent nearly all its time there. Instead the backend loads
//! the workflow rows and tasks a batch touches with two queries, [`Batch`]
//! applies every transition to that copy in order — with the checks and
//! fences the SQL used to make, each transition all or nothing — and the
//! backend writes the difference with one multi-row statement per table.
//!
//! The copy stays true until the commit because the loads run inside the
//! write transaction: SQLite's write lock (`BEGIN IMMEDIATE`) or, on
//! PostgreSQL, the row locks the loads take (`FOR UPDATE`). Workflows a
//! batch starts are inserted before the loads (`ON CONFLICT DO NOTHING`), so
//! that two processes starting one id cannot both create it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde_json::Value;

use crate::activity::ActivityOptions;
use crate::clock::{Timestamp, from_millis, to_millis};
use crate::error::{Error, Result};
use crate::history::{Event, EventKind, Failure};
use crate::store::rows::{TaskRow, WorkflowRow, json, retry_mode_str, to_json};
use crate::store::{
    ActivityTask, Applied, ClosedWorkflow, Closing, Handoff, LeaseGrant, NewTask, Outcome,
    TaskKind, TaskRef, Transition, WorkflowTask, WorkflowTaskOutcome,
};
use crate::workflow::WorkflowStatus;

/// An event to insert, borrowed from its transition where it was there.
pub(crate) struct NewEvent<'a> {
    pub workflow_id: &'a str,
    pub run: i64,
    pub id: i64,
    pub kind: Cow<'a, EventKind>,
    pub time: i64,
}

/// A row of `events` to insert: one event, or the consecutive events of
/// one run a transition appended at one time (`migrations/*/…event_groups.sql`).
pub(crate) struct NewEventRow<'b> {
    pub workflow_id: &'b str,
    pub run: i64,
    pub id: i64,
    /// The last event's id, when the row holds more than one.
    pub last_id: Option<i64>,
    /// The event's kind, or the events' kinds comma-separated.
    pub kind: Cow<'static, str>,
    /// The event as JSON, or the events as a JSON array.
    pub payload: String,
    pub time: i64,
}

/// What a workflow task decided, borrowed from its transition.
struct Decided<'a> {
    events: &'a [EventKind],
    new_tasks: &'a [NewTask],
    cancelled: &'a [u32],
    current_step: &'a Option<String>,
    closing: &'a Option<Closing>,
}

impl<'a> From<&'a WorkflowTaskOutcome> for Decided<'a> {
    fn from(outcome: &'a WorkflowTaskOutcome) -> Self {
        Decided {
            events: &outcome.events,
            new_tasks: &outcome.new_tasks,
            cancelled: &outcome.cancelled,
            current_step: &outcome.current_step,
            closing: &outcome.closing,
        }
    }
}

/// A task identified the way the table's unique key does.
type TaskKey = (String, i64, TaskKind, i64);

struct Task<'a> {
    row: TaskRow,
    kind: TaskKind,
    /// In the table before this batch (else `row.id` is known only once
    /// the insert returns it).
    stored: bool,
    removed: bool,
    changed: bool,
    /// A new activity's input and options, for its hand-off.
    activity: Option<(&'a Value, &'a ActivityOptions)>,
}

/// A hand-off a transition made, resolved once the task ids are known.
enum Slot {
    Workflow { task: usize, events: Range<usize> },
    Activity { task: usize },
}

/// The rows a batch touches and what it did to them; it borrows events and
/// activity inputs from the transitions instead of copying them.
pub(crate) struct Batch<'a> {
    heads: HashMap<String, WorkflowRow>,
    /// Each loaded row's indexed columns that may change (status,
    /// created_at), as loaded.
    indexed: HashMap<String, (String, i64)>,
    dirty: HashSet<String>,
    /// Inserted by this batch's `Start`s and not yet reached by them: to
    /// the transitions before its `Start`, such a workflow does not exist.
    unborn: HashSet<String>,
    tasks: Vec<Task<'a>>,
    by_id: HashMap<i64, usize>,
    /// Live (not removed) tasks by key.
    by_key: HashMap<TaskKey, usize>,
    by_run: HashMap<(String, i64), Vec<usize>>,
    events: Vec<NewEvent<'a>>,
    closed_runs: Vec<WorkflowRow>,
    counts: HashMap<&'static str, i64>,
    minutes: HashMap<(i64, &'static str), i64>,
    /// Per transition: what it did, its hand-offs, the workflow it closed.
    outcomes: Vec<(Applied, Vec<Slot>, Option<String>)>,
    /// The workflow the transition being applied closed.
    closing: Option<String>,
}

/// A workflow row a batch changed.
pub(crate) struct Changed<'a> {
    pub row: &'a WorkflowRow,
    /// Which columns an index of `workflows` holds changed, so the update
    /// must maintain those indexes; most transitions only append, and
    /// SQLite rewrites the entries of every index whose columns an
    /// `UPDATE` sets, changed or not.
    pub indexed: Indexed,
}

/// The indexed columns of a workflow row a batch changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Indexed {
    /// Neither: the update leaves every index of `workflows` alone.
    Unchanged,
    /// Only `status` (a close): `created_at` is left out of the update, so
    /// the indexes that hold it but not `status` stay untouched.
    Status,
    /// `created_at` too (a new run, or a row this batch created).
    StatusAndCreated,
}

/// The outcome label a started run is counted under per minute.
pub(crate) const STARTED: &str = "started";

impl<'a> Batch<'a> {
    /// The workflows the batch's `Start`s create, one per id, ordered by id
    /// (so that concurrent inserters lock ids in one order).
    pub(crate) fn new_workflows(batch: &[Transition]) -> Vec<WorkflowRow> {
        let mut rows: Vec<WorkflowRow> = Vec::new();
        let mut seen = HashSet::new();
        for transition in batch {
            if let Transition::Start {
                id,
                workflow_type,
                input,
                now,
                ..
            } = transition
                && seen.insert(id.as_str())
            {
                let now = to_millis(*now);
                rows.push(WorkflowRow {
                    id: id.clone(),
                    run: 1,
                    workflow_type: workflow_type.clone(),
                    status: WorkflowStatus::Running.as_str().to_string(),
                    input: to_json(input),
                    result: None,
                    error: None,
                    cancel_requested: 0,
                    current_step: None,
                    retry_mode: None,
                    version: 0,
                    inputs_through: 0,
                    created_at: now,
                    updated_at: now,
                    closed_at: None,
                });
            }
        }
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows
    }

    /// Every workflow id the batch names, sorted (the order rows are locked in).
    pub(crate) fn workflow_ids(batch: &[Transition]) -> Vec<String> {
        let mut ids: Vec<String> = batch
            .iter()
            .filter_map(|t| t.workflow_id().map(str::to_string))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Tasks the batch names by id without naming their workflow.
    pub(crate) fn released_task_ids(batch: &[Transition]) -> Vec<i64> {
        batch
            .iter()
            .filter_map(|t| match t {
                Transition::ReleaseTask { task, .. } => Some(task.id),
                _ => None,
            })
            .collect()
    }

    /// A copy of the loaded rows; `created` are the ids this batch's insert
    /// of [`Batch::new_workflows`] created.
    pub(crate) fn new(
        heads: Vec<WorkflowRow>,
        tasks: Vec<TaskRow>,
        created: Vec<String>,
    ) -> Result<Self> {
        let mut batch = Self {
            indexed: heads
                .iter()
                .map(|h| (h.id.clone(), (h.status.clone(), h.created_at)))
                .collect(),
            heads: heads.into_iter().map(|h| (h.id.clone(), h)).collect(),
            dirty: HashSet::new(),
            unborn: created.into_iter().collect(),
            tasks: Vec::with_capacity(tasks.len()),
            by_id: HashMap::new(),
            by_key: HashMap::new(),
            by_run: HashMap::new(),
            events: Vec::new(),
            closed_runs: Vec::new(),
            counts: HashMap::new(),
            minutes: HashMap::new(),
            outcomes: Vec::new(),
            closing: None,
        };
        for row in tasks {
            let kind = task_kind(&row.kind)?;
            batch.add_task(row, kind, true, None);
        }
        Ok(batch)
    }

    /// Applies every transition in order.
    pub(crate) fn apply_all(
        &mut self,
        transitions: &'a [Transition],
        lease: Option<&LeaseGrant>,
    ) -> Result<()> {
        for transition in transitions {
            let mut slots = Vec::new();
            let applied = self.apply(transition, lease, &mut slots)?;
            let closed = self.closing.take();
            self.outcomes.push((applied, slots, closed));
        }
        Ok(())
    }

    fn add_task(
        &mut self,
        row: TaskRow,
        kind: TaskKind,
        stored: bool,
        activity: Option<(&'a Value, &'a ActivityOptions)>,
    ) -> usize {
        let slot = self.tasks.len();
        if stored {
            self.by_id.insert(row.id, slot);
        }
        self.by_key
            .insert((row.workflow_id.clone(), row.run, kind, row.seq), slot);
        self.by_run
            .entry((row.workflow_id.clone(), row.run))
            .or_default()
            .push(slot);
        self.tasks.push(Task {
            row,
            kind,
            stored,
            removed: false,
            changed: false,
            activity,
        });
        slot
    }

    fn remove_task(&mut self, slot: usize) {
        let task = &mut self.tasks[slot];
        if !task.removed {
            task.removed = true;
            self.by_key.remove(&(
                task.row.workflow_id.clone(),
                task.row.run,
                task.kind,
                task.row.seq,
            ));
        }
    }

    /// The live task held under `task`'s lease token.
    fn held(&self, task: &TaskRef) -> Option<usize> {
        let slot = *self.by_id.get(&task.id)?;
        let t = &self.tasks[slot];
        (!t.removed && t.row.lease_token.as_deref() == Some(task.lease_token.as_str()))
            .then_some(slot)
    }

    fn live(&self, key: &TaskKey) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    fn head(&self, id: &str) -> Option<&WorkflowRow> {
        if self.unborn.contains(id) {
            return None;
        }
        self.heads.get(id)
    }

    fn head_mut(&mut self, id: &str) -> Result<&mut WorkflowRow> {
        self.dirty.insert(id.to_string());
        self.heads
            .get_mut(id)
            .ok_or_else(|| Error::Corrupt(format!("workflow `{id}` left the batch")))
    }

    /// Whether `id` runs (as run `run`, when given), or why not.
    fn running(&self, id: &str, run: Option<u32>) -> Result<std::result::Result<i64, Applied>> {
        let Some(row) = self.head(id) else {
            return Ok(Err(match run {
                Some(_) => Applied::Stale,
                None => Applied::NotFound,
            }));
        };
        if run.is_some_and(|r| r as i64 != row.run) {
            return Ok(Err(Applied::Stale));
        }
        let status = row.status()?;
        if status.is_closed() {
            return Ok(Err(match run {
                Some(_) => Applied::Stale,
                None => Applied::WrongState {
                    status,
                    message: format!("the workflow already {}", closed_verb(status)),
                },
            }));
        }
        Ok(Ok(row.run))
    }

    /// Appends events to the current run; returns where they sit in
    /// `self.events` and the id of the last input among them.
    fn append(
        &mut self,
        id: &'a str,
        events: Vec<Cow<'a, EventKind>>,
        now: i64,
    ) -> Result<(Range<usize>, Option<i64>)> {
        let head = self.head_mut(id)?;
        let (run, version) = (head.run, head.version);
        head.version += events.len() as i64;
        head.updated_at = now;
        let start = self.events.len();
        let mut last_input = None;
        for (i, kind) in events.into_iter().enumerate() {
            let event_id = version + 1 + i as i64;
            if kind.is_input() {
                last_input = Some(event_id);
            }
            self.events.push(NewEvent {
                workflow_id: id,
                run,
                id: event_id,
                kind,
                time: now,
            });
        }
        Ok((start..self.events.len(), last_input))
    }

    /// Appends an input the workflow task committed with it already saw, so
    /// that no workflow task is needed for it.
    fn append_seen(&mut self, id: &'a str, event: Cow<'a, EventKind>, now: i64) -> Result<()> {
        let (_, last_input) = self.append(id, vec![event], now)?;
        if let Some(last_input) = last_input {
            self.head_mut(id)?.inputs_through = last_input;
        }
        Ok(())
    }

    /// Appends events and makes sure a workflow task will run for the
    /// inputs among them; a task it creates is handed off under `lease`.
    fn deliver(
        &mut self,
        id: &'a str,
        events: Vec<Cow<'a, EventKind>>,
        now: i64,
        lease: Option<&LeaseGrant>,
        slots: &mut Vec<Slot>,
    ) -> Result<()> {
        let (range, last_input) = self.append(id, events, now)?;
        let Some(last_input) = last_input else {
            return Ok(());
        };
        let head = self.head_mut(id)?;
        head.inputs_through = last_input;
        let (run, workflow_type) = (head.run, head.workflow_type.clone());
        let key = (id.to_string(), run, TaskKind::Workflow, 0);
        if self.live(&key).is_none() {
            let row = new_task_row(TaskKind::Workflow, id, run, 0, workflow_type, now);
            let row = TaskRow {
                due_at: lease.map_or(now, |l| to_millis(l.until)),
                lease_token: lease.map(|l| l.token.clone()),
                ..row
            };
            let slot = self.add_task(row, TaskKind::Workflow, false, None);
            if lease.is_some() {
                slots.push(Slot::Workflow {
                    task: slot,
                    events: range,
                });
            }
        }
        Ok(())
    }

    fn close(&mut self, id: &str, closing: &Closing, now: i64) -> Result<()> {
        self.closing = Some(id.to_string());
        let head = self.head_mut(id)?;
        head.status = closing.status.as_str().to_string();
        head.result = closing.result.as_ref().map(to_json);
        head.error = closing.error.as_ref().map(to_json);
        head.closed_at = Some(now);
        head.updated_at = now;
        let run = head.run;
        self.count(WorkflowStatus::Running.as_str(), -1);
        self.count(closing.status.as_str(), 1);
        self.per_minute(now, closing.status.as_str());
        for slot in self
            .by_run
            .get(&(id.to_string(), run))
            .cloned()
            .unwrap_or_default()
        {
            self.remove_task(slot);
        }
        Ok(())
    }

    fn count(&mut self, status: &'static str, delta: i64) {
        *self.counts.entry(status).or_default() += delta;
    }

    fn per_minute(&mut self, now: i64, outcome: &'static str) {
        *self
            .minutes
            .entry((now.div_euclid(60_000), outcome))
            .or_default() += 1;
    }

    fn add_activity_or_timer(
        &mut self,
        id: &str,
        run: i64,
        task: &'a NewTask,
        now: i64,
        lease: Option<&LeaseGrant>,
        slots: &mut Vec<Slot>,
    ) {
        match task {
            NewTask::Activity {
                seq,
                name,
                input,
                options,
            } => {
                let key = (id.to_string(), run, TaskKind::Activity, *seq as i64);
                if self.live(&key).is_some() {
                    return;
                }
                let timeout = options
                    .start_to_close_timeout
                    .as_millis()
                    .min(i64::MAX as u128) as i64;
                let row = TaskRow {
                    input: Some(to_json(input)),
                    options: Some(to_json(options)),
                    max_attempts: options.retry.maximum_attempts as i64,
                    timeout_ms: timeout,
                    due_at: lease.map_or(now, |l| to_millis(l.until).saturating_add(timeout)),
                    lease_token: lease.map(|l| l.token.clone()),
                    ..new_task_row(TaskKind::Activity, id, run, *seq, name.clone(), now)
                };
                let activity = Some((input, options));
                let slot = self.add_task(row, TaskKind::Activity, false, activity);
                if lease.is_some() {
                    slots.push(Slot::Activity { task: slot });
                }
            }
            NewTask::Timer { seq, fire_at } => {
                let key = (id.to_string(), run, TaskKind::Timer, *seq as i64);
                if self.live(&key).is_some() {
                    return;
                }
                let row = TaskRow {
                    due_at: to_millis(*fire_at),
                    ..new_task_row(TaskKind::Timer, id, run, *seq, "timer".into(), now)
                };
                self.add_task(row, TaskKind::Timer, false, None);
            }
        }
    }

    /// Records what a workflow task decided: its events, the current step,
    /// the close of the run, or the operations it cancelled and started.
    /// Returns the id of its first event.
    fn record(
        &mut self,
        workflow_id: &'a str,
        run: i64,
        decided: Decided<'a>,
        now: i64,
        lease: Option<&LeaseGrant>,
        slots: &mut Vec<Slot>,
    ) -> Result<u64> {
        let first_event_id = self.head_mut(workflow_id)?.version as u64 + 1;
        let events = decided.events.iter().map(Cow::Borrowed).collect();
        self.append(workflow_id, events, now)?;
        if let Some(step) = decided.current_step {
            self.head_mut(workflow_id)?.current_step = Some(step.clone());
        }
        if let Some(closing) = decided.closing {
            self.close(workflow_id, closing, now)?;
            return Ok(first_event_id);
        }
        for seq in decided.cancelled {
            for kind in [TaskKind::Activity, TaskKind::Timer] {
                if let Some(slot) = self.live(&(workflow_id.to_string(), run, kind, *seq as i64)) {
                    self.remove_task(slot);
                }
            }
        }
        for new_task in decided.new_tasks {
            self.add_activity_or_timer(workflow_id, run, new_task, now, lease, slots);
        }
        Ok(first_event_id)
    }

    /// Makes a pending, unleased activity or timer of the current run due now.
    fn make_due(&mut self, id: &str, kind: TaskKind, seq: u32, now: Timestamp) -> Result<Applied> {
        let run = match self.running(id, None)? {
            Ok(run) => run,
            Err(refusal) => return Ok(refusal),
        };
        let Some(slot) = self.live(&(id.to_string(), run, kind, seq as i64)) else {
            return Ok(Applied::NoSuchOperation);
        };
        let task = &mut self.tasks[slot];
        if task.row.lease_token.is_some() {
            return Ok(Applied::NoSuchOperation);
        }
        task.row.due_at = to_millis(now);
        task.changed = true;
        Ok(Applied::Done)
    }

    fn apply(
        &mut self,
        transition: &'a Transition,
        lease: Option<&LeaseGrant>,
        slots: &mut Vec<Slot>,
    ) -> Result<Applied> {
        match transition {
            Transition::Start {
                id,
                workflow_type,
                input,
                first_task,
                now,
            } => {
                if !self.unborn.remove(id) {
                    let existing = self
                        .heads
                        .get(id)
                        .ok_or_else(|| Error::Corrupt(format!("start of `{id}` lost")))?;
                    return Ok(Applied::AlreadyExists(Box::new(
                        existing.clone().into_record()?,
                    )));
                }
                let now = to_millis(*now);
                self.count(WorkflowStatus::Running.as_str(), 1);
                self.per_minute(now, STARTED);
                let started = EventKind::WorkflowStarted {
                    workflow_type: workflow_type.clone(),
                    input: input.clone(),
                    retry_of_run: None,
                    resume: Vec::new(),
                };
                match first_task {
                    None => self.deliver(id, vec![Cow::Owned(started)], now, lease, slots)?,
                    Some(first_task) => {
                        self.append_seen(id, Cow::Owned(started), now)?;
                        self.record(id, 1, first_task.into(), now, lease, slots)?;
                    }
                }
                Ok(Applied::Started { run: 1 })
            }
            Transition::CompleteWorkflowTask {
                task,
                workflow_id,
                run,
                consumed_through,
                events,
                new_tasks,
                cancelled,
                current_step,
                closing,
                now,
            } => {
                let Some(held) = self.held(task) else {
                    return Ok(Applied::Stale);
                };
                let now = to_millis(*now);
                let run = match self.running(workflow_id, Some(*run))? {
                    Ok(run) => run,
                    Err(refusal) => {
                        self.remove_task(held);
                        return Ok(refusal);
                    }
                };
                let decided = Decided {
                    events,
                    new_tasks,
                    cancelled,
                    current_step,
                    closing,
                };
                let first_event_id = self.record(workflow_id, run, decided, now, lease, slots)?;
                if closing.is_some() {
                    return Ok(Applied::Appended { first_event_id });
                }
                let inputs_through = self.head_mut(workflow_id)?.inputs_through;
                if inputs_through as u64 > *consumed_through {
                    // Inputs arrived while the task ran: another round, at
                    // once if the caller takes it.
                    let t = &mut self.tasks[held];
                    t.row.lease_token = lease.map(|l| l.token.clone());
                    t.row.due_at = lease.map_or(now, |l| to_millis(l.until));
                    t.changed = true;
                    if lease.is_some() {
                        slots.push(Slot::Workflow {
                            task: held,
                            events: 0..0,
                        });
                    }
                } else {
                    self.remove_task(held);
                }
                Ok(Applied::Appended { first_event_id })
            }
            Transition::ReleaseTask { task, now } => {
                let Some(held) = self.held(task) else {
                    return Ok(Applied::Stale);
                };
                let t = &mut self.tasks[held];
                t.row.lease_token = None;
                t.row.due_at = to_millis(*now);
                t.changed = true;
                Ok(Applied::Done)
            }
            Transition::CompleteActivity {
                task,
                workflow_id,
                run,
                outcome,
                now,
            } => {
                let Some(held) = self.held(task) else {
                    return Ok(Applied::Stale);
                };
                self.remove_task(held);
                match self.running(workflow_id, Some(*run))? {
                    Ok(_) => {
                        self.deliver(
                            workflow_id,
                            vec![Cow::Borrowed(outcome)],
                            to_millis(*now),
                            lease,
                            slots,
                        )?;
                        Ok(Applied::Done)
                    }
                    Err(refusal) => Ok(refusal),
                }
            }
            Transition::CompleteActivityEagerly {
                task,
                workflow_id,
                run,
                outcome,
                outcome_id,
                then,
                now,
            } => {
                let Some(held) = self.held(task) else {
                    return Ok(Applied::Stale);
                };
                self.remove_task(held);
                let run = match self.running(workflow_id, Some(*run))? {
                    Ok(run) => run,
                    Err(refusal) => return Ok(refusal),
                };
                let now = to_millis(*now);
                let next_id = self.head_mut(workflow_id)?.version as u64 + 1;
                let task_pending = self
                    .live(&(workflow_id.clone(), run, TaskKind::Workflow, 0))
                    .is_some();
                if next_id != *outcome_id || task_pending {
                    // The instance did not see everything: the outcome alone.
                    self.deliver(workflow_id, vec![Cow::Borrowed(outcome)], now, lease, slots)?;
                    return Ok(Applied::Done);
                }
                self.append_seen(workflow_id, Cow::Borrowed(outcome), now)?;
                let first_event_id =
                    self.record(workflow_id, run, then.into(), now, lease, slots)?;
                Ok(Applied::Appended { first_event_id })
            }
            Transition::RetryActivity {
                task,
                workflow_id,
                run,
                seq,
                attempt,
                error,
                next_attempt_at,
                now,
            } => {
                let Some(held) = self.held(task) else {
                    return Ok(Applied::Stale);
                };
                if let Err(refusal) = self.running(workflow_id, Some(*run))? {
                    return Ok(refusal);
                }
                let now = to_millis(*now);
                let t = &mut self.tasks[held];
                t.row.attempt = *attempt as i64 + 1;
                t.row.lease_token = None;
                t.row.due_at = to_millis(*next_attempt_at);
                t.row.last_error = Some(to_json(error));
                t.row.last_failed_at = Some(now);
                t.changed = true;
                let failed = EventKind::ActivityAttemptFailed {
                    seq: *seq,
                    attempt: *attempt,
                    error: error.clone(),
                    next_attempt_at: *next_attempt_at,
                };
                self.deliver(workflow_id, vec![Cow::Owned(failed)], now, lease, slots)?;
                Ok(Applied::Done)
            }
            Transition::FireTimer {
                workflow_id,
                run,
                seq,
                now,
            } => {
                let key = (
                    workflow_id.clone(),
                    *run as i64,
                    TaskKind::Timer,
                    *seq as i64,
                );
                let Some(slot) = self.live(&key) else {
                    return Ok(Applied::Stale);
                };
                self.remove_task(slot);
                match self.running(workflow_id, Some(*run))? {
                    Ok(_) => {
                        let fired = EventKind::TimerFired { seq: *seq };
                        self.deliver(
                            workflow_id,
                            vec![Cow::Owned(fired)],
                            to_millis(*now),
                            lease,
                            slots,
                        )?;
                        Ok(Applied::Done)
                    }
                    Err(refusal) => Ok(refusal),
                }
            }
            Transition::RequestCancel { id, reason, now } => {
                if let Err(refusal) = self.running(id, None)? {
                    return Ok(refusal);
                }
                let head = self.head_mut(id)?;
                if head.cancel_requested != 0 {
                    return Ok(Applied::Done);
                }
                head.cancel_requested = 1;
                let event = EventKind::CancelRequested {
                    reason: reason.clone(),
                };
                self.deliver(id, vec![Cow::Owned(event)], to_millis(*now), lease, slots)?;
                Ok(Applied::Done)
            }
            Transition::Terminate { id, reason, now } => {
                if let Err(refusal) = self.running(id, None)? {
                    return Ok(refusal);
                }
                let now = to_millis(*now);
                let event = EventKind::WorkflowTerminated {
                    reason: reason.clone(),
                };
                self.append(id, vec![Cow::Owned(event)], now)?;
                let closing = Closing {
                    status: WorkflowStatus::Terminated,
                    result: None,
                    error: Some(Failure::new("Terminated", reason.clone())),
                };
                self.close(id, &closing, now)?;
                Ok(Applied::Done)
            }
            Transition::Signal {
                id,
                name,
                payload,
                now,
            } => {
                if let Err(refusal) = self.running(id, None)? {
                    return Ok(refusal);
                }
                let event = EventKind::SignalReceived {
                    name: name.clone(),
                    payload: payload.clone(),
                };
                self.deliver(id, vec![Cow::Owned(event)], to_millis(*now), lease, slots)?;
                Ok(Applied::Done)
            }
            Transition::RetryActivityNow { id, seq, now } => {
                self.make_due(id, TaskKind::Activity, *seq, *now)
            }
            Transition::FireTimerNow { id, seq, now } => {
                self.make_due(id, TaskKind::Timer, *seq, *now)
            }
            Transition::Retry {
                id,
                from_run,
                mode,
                resume,
                now,
            } => {
                let Some(row) = self.head(id) else {
                    return Ok(Applied::NotFound);
                };
                let status = row.status()?;
                if row.run != *from_run as i64 {
                    return Ok(Applied::WrongState {
                        status,
                        message: format!("run {} is newer than run {from_run}", row.run),
                    });
                }
                if !status.is_closed() || status == WorkflowStatus::Completed {
                    return Ok(Applied::WrongState {
                        status,
                        message: "only a failed, cancelled or terminated workflow can be retried"
                            .into(),
                    });
                }
                let input = json(&row.input)?;
                self.closed_runs.push(row.clone());
                let now = to_millis(*now);
                self.count(status.as_str(), -1);
                self.count(WorkflowStatus::Running.as_str(), 1);
                self.per_minute(now, STARTED);
                let head = self.head_mut(id)?;
                head.run += 1;
                head.status = WorkflowStatus::Running.as_str().to_string();
                head.result = None;
                head.error = None;
                head.cancel_requested = 0;
                head.current_step = None;
                head.retry_mode = Some(retry_mode_str(*mode).to_string());
                head.version = 0;
                head.inputs_through = 0;
                head.created_at = now;
                head.updated_at = now;
                head.closed_at = None;
                let (run, workflow_type) = (head.run, head.workflow_type.clone());
                let started = EventKind::WorkflowStarted {
                    workflow_type,
                    input,
                    retry_of_run: Some(*from_run),
                    resume: resume.clone(),
                };
                self.deliver(id, vec![Cow::Owned(started)], now, lease, slots)?;
                Ok(Applied::Started { run: run as u32 })
            }
        }
    }

    /// The rows of `events` to insert: the events appended, one row per
    /// run of consecutive events of one workflow run with one time.
    pub(crate) fn event_rows(&self) -> Vec<NewEventRow<'_>> {
        let mut rows = Vec::new();
        let mut rest = self.events.as_slice();
        while let Some(first) = rest.first() {
            let len = 1 + rest
                .windows(2)
                .take_while(|pair| {
                    let (a, b) = (&pair[0], &pair[1]);
                    b.workflow_id == a.workflow_id
                        && b.run == a.run
                        && b.time == a.time
                        && b.id == a.id + 1
                })
                .count();
            let (group, after) = rest.split_at(len);
            rest = after;
            let (kind, payload) = match group {
                [one] => (Cow::Borrowed(one.kind.name()), to_json(&one.kind)),
                several => (
                    Cow::Owned(
                        several
                            .iter()
                            .map(|e| e.kind.name())
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    to_json(&several.iter().map(|e| &e.kind).collect::<Vec<_>>()),
                ),
            };
            rows.push(NewEventRow {
                workflow_id: first.workflow_id,
                run: first.run,
                id: first.id,
                last_id: (len > 1).then(|| first.id + len as i64 - 1),
                kind,
                payload,
                time: first.time,
            });
        }
        rows
    }

    /// Stored tasks to delete.
    pub(crate) fn deleted_tasks(&self) -> Vec<i64> {
        self.tasks
            .iter()
            .filter(|t| t.stored && t.removed)
            .map(|t| t.row.id)
            .collect()
    }

    /// Stored tasks whose lease, due time or attempt changed.
    pub(crate) fn changed_tasks(&self) -> impl Iterator<Item = &TaskRow> {
        self.tasks
            .iter()
            .filter(|t| t.stored && t.changed && !t.removed)
            .map(|t| &t.row)
    }

    /// New tasks to insert.
    pub(crate) fn new_tasks(&self) -> Vec<&TaskRow> {
        self.tasks
            .iter()
            .filter(|t| !t.stored && !t.removed)
            .map(|t| &t.row)
            .collect()
    }

    /// Records the id the database gave the new task with this key.
    pub(crate) fn assign_task_id(&mut self, key: (String, i64, &str, i64), id: i64) -> Result<()> {
        let kind = task_kind(key.2)?;
        if let Some(slot) = self.live(&(key.0, key.1, kind, key.3)) {
            self.tasks[slot].row.id = id;
        }
        Ok(())
    }

    /// Workflow rows to write back.
    pub(crate) fn changed_workflows(&self) -> Vec<Changed<'_>> {
        let mut ids: Vec<&String> = self.dirty.iter().collect();
        ids.sort();
        ids.into_iter()
            .filter_map(|id| self.heads.get(id))
            .map(|row| Changed {
                row,
                indexed: match self.indexed.get(&row.id) {
                    Some((_, created_at)) if *created_at != row.created_at => {
                        Indexed::StatusAndCreated
                    }
                    Some((status, _)) if *status != row.status => Indexed::Status,
                    Some(_) => Indexed::Unchanged,
                    None => Indexed::StatusAndCreated,
                },
            })
            .collect()
    }

    /// Runs a retry closed, to summarise in `workflow_runs`.
    pub(crate) fn closed_runs(&self) -> &[WorkflowRow] {
        &self.closed_runs
    }

    /// How many workflows entered (positive) or left each status.
    pub(crate) fn count_deltas(&self) -> Vec<(&'static str, i64)> {
        let mut deltas: Vec<_> = self
            .counts
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(s, n)| (*s, *n))
            .collect();
        deltas.sort();
        deltas
    }

    /// Workflows started or closed per minute (since the epoch) and outcome.
    pub(crate) fn minute_deltas(&self) -> Vec<(i64, &'static str, i64)> {
        let mut deltas: Vec<_> = self
            .minutes
            .iter()
            .map(|((m, o), n)| (*m, *o, *n))
            .collect();
        deltas.sort();
        deltas
    }

    /// Whether the batch leaves a task that any worker may claim now or at
    /// its due time: a new or changed task without a lease (a workflow task
    /// not run eagerly, a timer, a retry's backoff, a released lease).
    /// Tasks it leased to the committing process are not: they are handed
    /// off, and others take them only if the lease runs out.
    pub(crate) fn leaves_unleased_work(&self) -> bool {
        self.tasks
            .iter()
            .any(|t| !t.removed && (t.changed || !t.stored) && t.row.lease_token.is_none())
    }

    /// Each transition's outcome and the tasks it handed off, once written.
    pub(crate) fn finish(&mut self) -> Vec<Outcome> {
        std::mem::take(&mut self.outcomes)
            .into_iter()
            .map(|(applied, slots, closed)| Outcome {
                applied,
                handoffs: slots.iter().filter_map(|slot| self.handoff(slot)).collect(),
                // As the batch left it: a later transition may have retried
                // the run, and then it is not closed any more.
                closed: closed
                    .and_then(|id| self.heads.get(&id))
                    .filter(|row| row.closed_at.is_some())
                    .map(|row| ClosedWorkflow(row.clone())),
            })
            .collect()
    }

    /// The open workflows' rows as the committed batch left them, each with
    /// every task of its id, as a load would read them back. A workflow
    /// with a task the database did not take (an insert that found the
    /// key taken) is left out: its rows are not known.
    pub(crate) fn into_rows(self) -> Vec<(WorkflowRow, Vec<TaskRow>)> {
        let mut tasks: HashMap<String, Vec<TaskRow>> = HashMap::new();
        let mut unknown = HashSet::new();
        for task in self.tasks.into_iter().filter(|t| !t.removed) {
            if task.row.id == 0 {
                unknown.insert(task.row.workflow_id.clone());
            } else {
                tasks
                    .entry(task.row.workflow_id.clone())
                    .or_default()
                    .push(task.row);
            }
        }
        self.heads
            .into_values()
            .filter(|row| {
                row.closed_at.is_none()
                    && !unknown.contains(&row.id)
                    && !self.unborn.contains(&row.id)
            })
            .map(|row| {
                let tasks = tasks.remove(&row.id).unwrap_or_default();
                (row, tasks)
            })
            .collect()
    }

    fn handoff(&self, slot: &Slot) -> Option<Handoff> {
        let task = &self.tasks[match slot {
            Slot::Workflow { task, .. } | Slot::Activity { task } => *task,
        }];
        // Dropped by a later transition of the batch, or not inserted.
        if task.removed || task.row.id == 0 {
            return None;
        }
        let task_ref = TaskRef {
            id: task.row.id,
            lease_token: task.row.lease_token.clone()?,
        };
        let row = &task.row;
        Some(match slot {
            Slot::Workflow { events, .. } => Handoff::Workflow(WorkflowTask {
                task: task_ref,
                workflow_id: row.workflow_id.clone(),
                run: row.run as u32,
                workflow_type: row.name.clone(),
                new_events: self.events[events.clone()]
                    .iter()
                    .map(|e| Event {
                        id: e.id as u64,
                        time: from_millis(e.time),
                        kind: e.kind.clone().into_owned(),
                    })
                    .collect(),
            }),
            Slot::Activity { .. } => {
                let (input, options) = task.activity?;
                Handoff::Activity(ActivityTask {
                    task: task_ref,
                    workflow_id: row.workflow_id.clone(),
                    run: row.run as u32,
                    seq: row.seq as u32,
                    name: row.name.clone(),
                    input: input.clone(),
                    attempt: 1,
                    options: options.clone(),
                    scheduled_at: from_millis(row.scheduled_at),
                })
            }
        })
    }
}

fn new_task_row(kind: TaskKind, id: &str, run: i64, seq: u32, name: String, now: i64) -> TaskRow {
    TaskRow {
        id: 0,
        kind: kind.as_str().to_string(),
        workflow_id: id.to_string(),
        run,
        seq: seq as i64,
        name,
        input: None,
        options: None,
        attempt: 1,
        max_attempts: 0,
        timeout_ms: 0,
        due_at: now,
        lease_token: None,
        last_error: None,
        last_failed_at: None,
        scheduled_at: now,
    }
}

fn task_kind(s: &str) -> Result<TaskKind> {
    match s {
        "workflow" => Ok(TaskKind::Workflow),
        "activity" => Ok(TaskKind::Activity),
        "timer" => Ok(TaskKind::Timer),
        other => Err(Error::Corrupt(format!("unknown task kind `{other}`"))),
    }
}

fn closed_verb(status: WorkflowStatus) -> &'static str {
    match status {
        WorkflowStatus::Running => "runs",
        WorkflowStatus::Completed => "completed",
        WorkflowStatus::Failed => "failed",
        WorkflowStatus::Cancelled => "was cancelled",
        WorkflowStatus::Terminated => "was terminated",
    }
}
