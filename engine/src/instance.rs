//! A live workflow instance: the workflow's future plus its shared state,
//! driven by history. A fresh instance replays the whole history; a cached
//! one only consumes the events that arrived since its last activation, so
//! a workflow of n steps costs O(n) in all, not O(n^2).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use serde_json::Value;

use crate::activity::ActivityOptions;
use crate::clock::Timestamp;
use crate::context::{State, WorkflowContext, lock};
use crate::history::{Event, EventKind, Failure};
use crate::registry::WorkflowFn;
use crate::store::{Closing, NewTask, WorkflowTaskOutcome};
use crate::workflow::WorkflowStatus;

type WorkflowFuture = Pin<Box<dyn Future<Output = Result<Value, Failure>> + Send>>;

/// What one live activation decided, ready to commit.
#[derive(Debug, Default)]
pub(crate) struct Activation {
    pub(crate) consumed_through: u64,
    /// Empty when there was nothing new to consume.
    pub(crate) events: Vec<EventKind>,
    pub(crate) new_tasks: Vec<NewTask>,
    pub(crate) cancelled: Vec<u32>,
    pub(crate) current_step: Option<String>,
    pub(crate) closing: Option<Closing>,
}

impl Activation {
    /// The decisions, for a transition that commits them with the event
    /// they were made on.
    pub(crate) fn into_outcome(self) -> WorkflowTaskOutcome {
        WorkflowTaskOutcome {
            events: self.events,
            new_tasks: self.new_tasks,
            cancelled: self.cancelled,
            current_step: self.current_step,
            closing: self.closing,
        }
    }
}

pub(crate) struct Instance {
    /// The registered workflow this instance runs.
    pub(crate) workflow_type: String,
    state: Arc<Mutex<State>>,
    future: Option<WorkflowFuture>,
    /// The last input event the code has seen.
    consumed_through: u64,
    /// The last history event this instance has read.
    pub(crate) known_through: u64,
    /// Where its last commit put its own events, which it need not read back.
    pub(crate) own: std::ops::Range<u64>,
    /// Whether the run has ended (no more code runs).
    pub(crate) closed: bool,
}

/// A waker that remembers it was woken, so the driver polls again.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Instance {
    pub(crate) fn new(
        workflow_type: String,
        workflow_id: String,
        run: u32,
        options: Arc<HashMap<String, ActivityOptions>>,
    ) -> Self {
        Self {
            workflow_type,
            state: Arc::new(Mutex::new(State::new(workflow_id, run, options))),
            future: None,
            consumed_through: 0,
            known_through: 0,
            own: 0..0,
            closed: false,
        }
    }

    /// The id of the first history event this instance has not seen, if
    /// everything before it is known: it read through `known_through` and
    /// its own last commit (if any) came right after that.
    pub(crate) fn next_unseen(&self) -> Option<u64> {
        if self.own.is_empty() {
            Some(self.known_through + 1)
        } else if self.own.start == self.known_through + 1 {
            Some(self.own.end)
        } else {
            None
        }
    }

    /// Feeds events (the whole history for a fresh instance, or what arrived
    /// since for a cached one). Recorded activations are replayed and checked;
    /// inputs not yet consumed are applied in one live activation at `now`,
    /// whose decisions are returned for commit.
    pub(crate) fn advance(
        &mut self,
        run_fn: &WorkflowFn,
        events: &[Event],
        now: Timestamp,
    ) -> Activation {
        let mut inputs: Vec<&Event> = Vec::new();
        let mut i = 0;
        while i < events.len() {
            let event = &events[i];
            self.known_through = self.known_through.max(event.id);
            match &event.kind {
                EventKind::WorkflowStarted {
                    input,
                    resume,
                    retry_of_run,
                    ..
                } => {
                    lock(&self.state).set_resume(*retry_of_run, resume);
                    let ctx = WorkflowContext::new(self.state.clone());
                    self.future = Some(run_fn(ctx, input.clone()));
                    inputs.push(event);
                    i += 1;
                }
                EventKind::WorkflowTaskCompleted { consumed_through } => {
                    let consumed_through = *consumed_through;
                    let mut end = i + 1;
                    while end < events.len() && events[end].kind.is_command() {
                        end += 1;
                    }
                    for e in &events[i + 1..end] {
                        self.known_through = self.known_through.max(e.id);
                    }
                    let expected: VecDeque<EventKind> =
                        events[i + 1..end].iter().map(|e| e.kind.clone()).collect();
                    let (now_inputs, later): (Vec<&Event>, Vec<&Event>) =
                        inputs.into_iter().partition(|e| e.id <= consumed_through);
                    inputs = later;
                    {
                        let mut st = lock(&self.state);
                        st.now = event.time;
                        st.begin_replay(expected);
                    }
                    self.activate(&now_inputs);
                    lock(&self.state).end_replay();
                    self.consumed_through = consumed_through;
                    if events[i + 1..end].iter().any(|e| closes(&e.kind)) {
                        self.closed = true;
                    }
                    i = end;
                }
                EventKind::WorkflowTerminated { .. } => {
                    self.closed = true;
                    i += 1;
                }
                kind if kind.is_command() => {
                    // A command outside any recorded activation: history was
                    // not written by this engine.
                    let mut st = lock(&self.state);
                    if st.nondeterminism.is_none() {
                        st.nondeterminism =
                            Some(format!("history event {} has no workflow task", event.id));
                    }
                    i += 1;
                }
                EventKind::ActivityAttemptFailed { .. } => i += 1,
                _ => {
                    inputs.push(event);
                    i += 1;
                }
            }
        }

        let mut activation = Activation {
            consumed_through: self.consumed_through,
            ..Activation::default()
        };
        if self.closed {
            return activation;
        }
        let nondeterminism = lock(&self.state).nondeterminism.clone();
        if let Some(message) = nondeterminism {
            return self.fail_nondeterministic(activation, message);
        }
        if inputs.is_empty() {
            return activation;
        }
        lock(&self.state).now = now;
        self.activate(&inputs);
        let consumed_through = inputs
            .iter()
            .map(|e| e.id)
            .max()
            .unwrap_or(self.consumed_through);
        self.consumed_through = consumed_through;
        activation.consumed_through = consumed_through;

        let mut st = lock(&self.state);
        if let Some(message) = st.nondeterminism.clone() {
            drop(st);
            return self.fail_nondeterministic(activation, message);
        }
        let (commands, new_tasks, cancelled) = st.take_output();
        drop(st);
        activation.current_step = commands.iter().rev().find_map(|c| match c {
            EventKind::ActivityScheduled { name, .. } => Some(name.clone()),
            EventKind::TimerStarted { .. } => Some("sleep".to_string()),
            _ => None,
        });
        activation.closing = commands.iter().find_map(closing_of);
        self.closed = activation.closing.is_some();
        activation.events = std::iter::once(EventKind::WorkflowTaskCompleted { consumed_through })
            .chain(commands)
            .collect();
        activation.new_tasks = new_tasks;
        activation.cancelled = cancelled;
        activation
    }

    fn fail_nondeterministic(&mut self, mut activation: Activation, message: String) -> Activation {
        let error = Failure::new("NonDeterminism", message);
        self.closed = true;
        activation.events = vec![
            EventKind::WorkflowTaskCompleted {
                consumed_through: activation.consumed_through,
            },
            EventKind::WorkflowFailed {
                error: error.clone(),
            },
        ];
        activation.new_tasks.clear();
        activation.closing = Some(Closing {
            status: WorkflowStatus::Failed,
            result: None,
            error: Some(error),
        });
        activation
    }

    /// Applies inputs, then polls the code until it waits on something new.
    fn activate(&mut self, inputs: &[&Event]) {
        {
            let mut st = lock(&self.state);
            for event in inputs {
                st.apply(&event.kind);
            }
        }
        let Some(future) = self.future.as_mut() else {
            return;
        };
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        // Bounded: each round only runs because an operation resolved.
        for _ in 0..10_000 {
            flag.0.store(false, Ordering::SeqCst);
            let polled =
                std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
            let outcome = match polled {
                Ok(Poll::Pending) if flag.0.load(Ordering::SeqCst) => continue,
                Ok(Poll::Pending) => return,
                Ok(Poll::Ready(outcome)) => outcome,
                Err(panic) => Err(Failure::new("Panic", panic_message(panic.as_ref()))),
            };
            self.future = None;
            lock(&self.state).finish(outcome);
            return;
        }
    }
}

fn closes(kind: &EventKind) -> bool {
    closing_of(kind).is_some()
}

fn closing_of(kind: &EventKind) -> Option<Closing> {
    match kind {
        EventKind::WorkflowCompleted { result } => Some(Closing {
            status: WorkflowStatus::Completed,
            result: Some(result.clone()),
            error: None,
        }),
        EventKind::WorkflowFailed { error } => Some(Closing {
            status: WorkflowStatus::Failed,
            result: None,
            error: Some(error.clone()),
        }),
        EventKind::WorkflowCancelled { error } => Some(Closing {
            status: WorkflowStatus::Cancelled,
            result: None,
            error: error.clone(),
        }),
        _ => None,
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the workflow code panicked".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    #[test]
    fn a_long_running_instance_holds_only_what_it_still_waits_for() {
        const STEPS: u32 = 1_000;
        let mut registry = Registry::default();
        registry.add_workflow("count", |ctx: WorkflowContext, steps: u32| async move {
            for i in 0..steps {
                let _: u32 = ctx.activity("step", &i).await?;
            }
            Ok::<_, Failure>(steps)
        });
        let run = &registry.workflows["count"].run;
        let mut instance = Instance::new("count".into(), "w-1".into(), 1, Arc::default());
        let now = Timestamp::default();
        let started = Event {
            id: 1,
            time: now,
            kind: EventKind::WorkflowStarted {
                workflow_type: "count".into(),
                input: json!(STEPS),
                retry_of_run: None,
                resume: Vec::new(),
            },
        };
        instance.advance(run, &[started], now);
        for seq in 1..=STEPS {
            let outcome = Event {
                id: 1 + 3 * u64::from(seq),
                time: now,
                kind: EventKind::ActivityCompleted {
                    seq,
                    attempt: 1,
                    result: json!(seq),
                },
            };
            instance.advance(run, &[outcome], now);
            let held = lock(&instance.state).operations_held();
            assert!(
                held <= 1,
                "after step {seq} the instance holds {held} operations"
            );
        }
        assert!(instance.closed, "the workflow ran all {STEPS} steps");
    }
}
