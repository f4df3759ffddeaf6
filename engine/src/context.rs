//! What workflow code may do: everything that reaches outside the workflow
//! (activities, time, randomness, signals) goes through a [`WorkflowContext`]
//! so that it is recorded once and replayed identically.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::activity::ActivityOptions;
use crate::clock::Timestamp;
use crate::history::{EventKind, Failure, ReusedStep};
use crate::store::NewTask;

/// Why an operation the workflow awaited did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The activity failed for good (non-retryable, attempts or time exhausted).
    #[error("{0}")]
    Failed(Failure),
    /// The workflow was asked to cancel while waiting for this operation.
    #[error("cancelled")]
    Cancelled,
}

impl From<StepError> for Failure {
    fn from(e: StepError) -> Self {
        match e {
            StepError::Failed(f) => f,
            StepError::Cancelled => Failure::new("Cancelled", "the workflow was cancelled"),
        }
    }
}

/// The error a workflow returns: a kind and a message, as recorded.
pub type WorkflowError = Failure;

/// An operation started by the workflow and its outcome so far. Once the
/// code has taken the outcome the operation leaves [`State::ops`], so that
/// a long-running instance holds only what it still waits for.
enum Op {
    Pending { kind: OpKind, waker: Option<Waker> },
    Done(Result<Value, StepError>),
}

#[derive(Clone, PartialEq)]
enum OpKind {
    Activity,
    Timer,
    Signal(String),
}

/// Replay or live: on replay, commands are checked against history and
/// recorded values come from it.
enum Mode {
    Live,
    Replay(VecDeque<EventKind>),
}

/// The state a workflow's code and its driver share.
pub(crate) struct State {
    pub(crate) workflow_id: String,
    pub(crate) run: u32,
    next_seq: u32,
    pub(crate) now: Timestamp,
    ops: BTreeMap<u32, Op>,
    signals: HashMap<String, VecDeque<Value>>,
    pub(crate) cancel_requested: bool,
    mode: Mode,
    /// Commands emitted by the current live activation.
    pub(crate) emitted: Vec<EventKind>,
    pub(crate) new_tasks: Vec<NewTask>,
    pub(crate) cancelled: Vec<u32>,
    pub(crate) nondeterminism: Option<String>,
    /// Steps of an earlier run to reuse while the code walks the same path.
    resume: HashMap<u32, ReusedStep>,
    retry_of_run: Option<u32>,
    resuming: bool,
    default_options: Arc<HashMap<String, ActivityOptions>>,
}

impl State {
    pub(crate) fn new(
        workflow_id: String,
        run: u32,
        default_options: Arc<HashMap<String, ActivityOptions>>,
    ) -> Self {
        Self {
            workflow_id,
            run,
            next_seq: 1,
            now: Timestamp::default(),
            ops: BTreeMap::new(),
            signals: HashMap::new(),
            cancel_requested: false,
            mode: Mode::Live,
            emitted: Vec::new(),
            new_tasks: Vec::new(),
            cancelled: Vec::new(),
            nondeterminism: None,
            resume: HashMap::new(),
            retry_of_run: None,
            resuming: false,
            default_options,
        }
    }

    pub(crate) fn set_resume(&mut self, from_run: Option<u32>, steps: &[ReusedStep]) {
        self.retry_of_run = from_run;
        self.resume = steps.iter().map(|s| (s.seq(), s.clone())).collect();
        self.resuming = !self.resume.is_empty();
    }

    pub(crate) fn begin_replay(&mut self, expected: VecDeque<EventKind>) {
        self.mode = Mode::Replay(expected);
    }

    /// Ends a replayed activation; commands the history holds but the code
    /// did not issue again are non-determinism.
    pub(crate) fn end_replay(&mut self) {
        if let Mode::Replay(rest) = std::mem::replace(&mut self.mode, Mode::Live)
            && let Some(first) = rest.front()
            && self.nondeterminism.is_none()
        {
            self.nondeterminism = Some(format!(
                "history has {} that the workflow code no longer issues",
                describe(first)
            ));
        }
    }

    /// Operations started whose outcome the code has not taken yet.
    #[cfg(test)]
    pub(crate) fn operations_held(&self) -> usize {
        self.ops.len()
    }

    pub(crate) fn is_replaying(&self) -> bool {
        matches!(self.mode, Mode::Replay(_))
    }

    /// Emits a command: in live mode it is recorded for the commit; in replay
    /// mode it must equal the next command of history, whose recorded form is
    /// returned (so recorded values come from history).
    fn emit(&mut self, command: EventKind) -> EventKind {
        match &mut self.mode {
            Mode::Live => {
                self.emitted.push(command.clone());
                command
            }
            Mode::Replay(expected) => match expected.pop_front() {
                Some(recorded) if same_command(&recorded, &command) => recorded,
                Some(recorded) => {
                    self.fail_determinism(format!(
                        "the workflow code issued {} where history has {}",
                        describe(&command),
                        describe(&recorded)
                    ));
                    command
                }
                None => {
                    self.fail_determinism(format!(
                        "the workflow code issued {} that history does not have",
                        describe(&command)
                    ));
                    command
                }
            },
        }
    }

    fn fail_determinism(&mut self, message: String) {
        if self.nondeterminism.is_none() {
            self.nondeterminism = Some(message);
        }
    }

    fn next_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The step an earlier run completed at `seq`, while the code still
    /// follows the earlier run's path.
    fn reuse(&mut self, seq: u32, wanted: impl Fn(&ReusedStep) -> bool) -> Option<ReusedStep> {
        if !self.resuming {
            return None;
        }
        match self.resume.remove(&seq) {
            Some(step) if wanted(&step) => Some(step),
            _ => {
                self.resuming = false;
                None
            }
        }
    }

    fn complete(&mut self, seq: u32, outcome: Result<Value, StepError>) {
        if let Some(Op::Pending { waker, .. }) = self.ops.get_mut(&seq) {
            if let Some(w) = waker.take() {
                w.wake();
            }
            self.ops.insert(seq, Op::Done(outcome));
        }
    }

    /// Applies an input event (an outcome, a signal, a cancel request).
    pub(crate) fn apply(&mut self, event: &EventKind) {
        match event {
            EventKind::ActivityCompleted { seq, result, .. } => {
                self.complete(*seq, Ok(result.clone()))
            }
            EventKind::ActivityFailed { seq, error, .. } => {
                self.complete(*seq, Err(StepError::Failed(error.clone())))
            }
            EventKind::TimerFired { seq } => self.complete(*seq, Ok(Value::Null)),
            EventKind::SignalReceived { name, payload } => {
                self.signals
                    .entry(name.clone())
                    .or_default()
                    .push_back(payload.clone());
                for op in self.ops.values_mut() {
                    if let Op::Pending {
                        kind: OpKind::Signal(n),
                        waker,
                    } = op
                        && n == name
                        && let Some(w) = waker.take()
                    {
                        w.wake();
                    }
                }
            }
            EventKind::CancelRequested { .. } => {
                self.cancel_requested = true;
                let pending: Vec<(u32, OpKind)> = self
                    .ops
                    .iter()
                    .filter_map(|(seq, op)| match op {
                        Op::Pending { kind, .. } => Some((*seq, kind.clone())),
                        _ => None,
                    })
                    .collect();
                for (seq, kind) in pending {
                    if !matches!(kind, OpKind::Signal(_)) {
                        self.emit(EventKind::OperationCancelled { seq });
                        if !self.is_replaying() {
                            self.cancelled.push(seq);
                        }
                    }
                    self.complete(seq, Err(StepError::Cancelled));
                }
            }
            _ => {}
        }
    }

    /// Takes what the live activation produced, for its commit.
    pub(crate) fn take_output(&mut self) -> (Vec<EventKind>, Vec<NewTask>, Vec<u32>) {
        (
            std::mem::take(&mut self.emitted),
            std::mem::take(&mut self.new_tasks),
            std::mem::take(&mut self.cancelled),
        )
    }

    /// Records the workflow's end.
    pub(crate) fn finish(&mut self, outcome: Result<Value, Failure>) -> EventKind {
        let command = match outcome {
            Ok(result) if !self.cancel_requested => EventKind::WorkflowCompleted { result },
            Ok(_) => EventKind::WorkflowCancelled { error: None },
            Err(error) if self.cancel_requested && error.kind == "Cancelled" => {
                EventKind::WorkflowCancelled { error: Some(error) }
            }
            Err(error) => EventKind::WorkflowFailed { error },
        };
        self.emit(command)
    }
}

/// Whether a command issued on replay is the one history recorded: same kind,
/// same operation, same activity name. Inputs and values may differ.
fn same_command(recorded: &EventKind, issued: &EventKind) -> bool {
    use EventKind::*;
    match (recorded, issued) {
        (
            ActivityScheduled {
                seq: a, name: n, ..
            },
            ActivityScheduled {
                seq: b, name: m, ..
            },
        ) => a == b && n == m,
        (TimerStarted { seq: a, .. }, TimerStarted { seq: b, .. })
        | (OperationCancelled { seq: a }, OperationCancelled { seq: b })
        | (ValueRecorded { seq: a, .. }, ValueRecorded { seq: b, .. })
        | (StepReused { seq: a, .. }, StepReused { seq: b, .. }) => a == b,
        (WorkflowCompleted { .. }, WorkflowCompleted { .. })
        | (WorkflowFailed { .. }, WorkflowFailed { .. })
        | (WorkflowCancelled { .. }, WorkflowCancelled { .. }) => true,
        _ => false,
    }
}

fn describe(command: &EventKind) -> String {
    match command {
        EventKind::ActivityScheduled { seq, name, .. } => format!("activity `{name}` (#{seq})"),
        EventKind::TimerStarted { seq, .. } => format!("a timer (#{seq})"),
        EventKind::ValueRecorded { seq, .. } => format!("a recorded value (#{seq})"),
        EventKind::StepReused { seq, .. } => format!("a reused step (#{seq})"),
        EventKind::OperationCancelled { seq } => format!("a cancellation of #{seq}"),
        other => format!("`{}`", other.name()),
    }
}

/// The handle workflow code receives. Cheap to clone.
///
/// ```no_run
/// use std::time::Duration;
/// use engine::{WorkflowContext, WorkflowError};
///
/// async fn greet(ctx: WorkflowContext, name: String) -> Result<String, WorkflowError> {
///     let greeting: String = ctx.activity("make_greeting", &name).await?;
///     ctx.sleep(Duration::from_secs(30 * 24 * 3600)).await?; // durable: holds no thread
///     Ok(greeting)
/// }
/// ```
#[derive(Clone)]
pub struct WorkflowContext {
    state: Arc<Mutex<State>>,
}

impl WorkflowContext {
    pub(crate) fn new(state: Arc<Mutex<State>>) -> Self {
        Self { state }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// This workflow's id.
    pub fn workflow_id(&self) -> String {
        self.lock().workflow_id.clone()
    }

    /// The run number, from 1.
    pub fn run(&self) -> u32 {
        self.lock().run
    }

    /// The run this one retries, if an operator started it as a retry.
    pub fn retry_of_run(&self) -> Option<u32> {
        self.lock().retry_of_run
    }

    /// Runs activity `name` with `input` and the options it was registered
    /// with; resolves to its result, or why it did not succeed.
    pub fn activity<I: Serialize, O: DeserializeOwned>(&self, name: &str, input: &I) -> Step<O> {
        let options = self
            .lock()
            .default_options
            .get(name)
            .cloned()
            .unwrap_or_default();
        self.activity_with(name, input, options)
    }

    /// Runs activity `name` with explicit options (retry policy, timeouts).
    pub fn activity_with<I: Serialize, O: DeserializeOwned>(
        &self,
        name: &str,
        input: &I,
        options: ActivityOptions,
    ) -> Step<O> {
        let input = serde_json::to_value(input).unwrap_or(Value::Null);
        let mut st = self.lock();
        let seq = st.next_seq();
        let reused = st.reuse(
            seq,
            |s| matches!(s, ReusedStep::Activity { name: n, .. } if n == name),
        );
        if let Some(step) = reused {
            let from_run = st.retry_of_run.unwrap_or(st.run.saturating_sub(1));
            let recorded = st.emit(EventKind::StepReused {
                seq,
                from_run,
                step,
            });
            let result = match recorded {
                EventKind::StepReused {
                    step: ReusedStep::Activity { result, .. },
                    ..
                } => Ok(result),
                _ => Err(StepError::Failed(Failure::new(
                    "NonDeterminism",
                    "replay found a different reused step",
                ))),
            };
            st.ops.insert(seq, Op::Done(result));
            return Step::new(self.state.clone(), seq);
        }
        st.emit(EventKind::ActivityScheduled {
            seq,
            name: name.to_string(),
            input: input.clone(),
            options: options.clone(),
        });
        if !st.is_replaying() {
            st.new_tasks.push(NewTask::Activity {
                seq,
                name: name.to_string(),
                input,
                options,
            });
        }
        st.ops.insert(
            seq,
            Op::Pending {
                kind: OpKind::Activity,
                waker: None,
            },
        );
        Step::new(self.state.clone(), seq)
    }

    /// Sleeps durably: no thread or task is held; a timer row fires it, even
    /// after restarts. Thirty seconds or thirty days cost the same.
    pub fn sleep(&self, duration: Duration) -> Step<()> {
        let mut st = self.lock();
        let seq = st.next_seq();
        if let Some(step) = st.reuse(seq, |s| matches!(s, ReusedStep::Timer { .. })) {
            let from_run = st.retry_of_run.unwrap_or(st.run.saturating_sub(1));
            st.emit(EventKind::StepReused {
                seq,
                from_run,
                step,
            });
            st.ops.insert(seq, Op::Done(Ok(Value::Null)));
            return Step::new(self.state.clone(), seq);
        }
        let delta = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        let fire_at = st
            .now
            .checked_add_signed(delta)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        let fire_at = crate::clock::truncate(fire_at);
        st.emit(EventKind::TimerStarted { seq, fire_at });
        if !st.is_replaying() {
            st.new_tasks.push(NewTask::Timer { seq, fire_at });
        }
        st.ops.insert(
            seq,
            Op::Pending {
                kind: OpKind::Timer,
                waker: None,
            },
        );
        Step::new(self.state.clone(), seq)
    }

    /// Waits for the next signal named `name` (signals that arrived earlier
    /// are queued) and decodes its payload.
    pub fn signal<T: DeserializeOwned>(&self, name: &str) -> Step<T> {
        let mut st = self.lock();
        let seq = st.next_seq();
        st.ops.insert(
            seq,
            Op::Pending {
                kind: OpKind::Signal(name.to_string()),
                waker: None,
            },
        );
        Step::new(self.state.clone(), seq)
    }

    /// Waits for signal `name` at most `timeout`; `Ok(None)` when time ran out.
    pub async fn signal_within<T: DeserializeOwned>(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<T>, StepError> {
        let signal = self.signal::<T>(name);
        let timer = self.sleep(timeout);
        match futures::future::select(signal, timer).await {
            futures::future::Either::Left((payload, _)) => payload.map(Some),
            futures::future::Either::Right((fired, _)) => fired.map(|()| None),
        }
    }

    /// The current time, recorded so that replay reads the same.
    pub fn now(&self) -> Timestamp {
        let now = self.lock().now;
        let value = self.record(serde_json::to_value(now).unwrap_or(Value::Null));
        serde_json::from_value(value).unwrap_or(now)
    }

    /// A random number, recorded so that replay reads the same.
    pub fn random_u64(&self) -> u64 {
        let value = self.record(Value::from(rand::random::<u64>()));
        value.as_u64().unwrap_or_default()
    }

    /// A random UUID (v4), recorded so that replay reads the same.
    pub fn uuid(&self) -> uuid::Uuid {
        let value = self.record(Value::String(uuid::Uuid::new_v4().to_string()));
        value
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default()
    }

    fn record(&self, fresh: Value) -> Value {
        let mut st = self.lock();
        let seq = st.next_seq();
        if let Some(ReusedStep::Value { value, .. }) =
            st.reuse(seq, |s| matches!(s, ReusedStep::Value { .. }))
        {
            let from_run = st.retry_of_run.unwrap_or(st.run.saturating_sub(1));
            st.emit(EventKind::StepReused {
                seq,
                from_run,
                step: ReusedStep::Value {
                    seq,
                    value: value.clone(),
                },
            });
            return value;
        }
        match st.emit(EventKind::ValueRecorded { seq, value: fresh }) {
            EventKind::ValueRecorded { value, .. } => value,
            _ => Value::Null,
        }
    }

    /// Whether someone asked this workflow to cancel.
    pub fn is_cancel_requested(&self) -> bool {
        self.lock().cancel_requested
    }
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// An operation the workflow awaits: an activity, a timer or a signal.
#[must_use = "an operation does nothing for the workflow unless awaited"]
pub struct Step<T> {
    state: Arc<Mutex<State>>,
    seq: u32,
    _output: PhantomData<fn() -> T>,
}

impl<T> Step<T> {
    fn new(state: Arc<Mutex<State>>, seq: u32) -> Self {
        Self {
            state,
            seq,
            _output: PhantomData,
        }
    }

    /// The operation's sequence number in this run (names it in history,
    /// `retry_activity_now` and `fire_timer_now`).
    pub fn seq(&self) -> u32 {
        self.seq
    }
}

impl<T: DeserializeOwned> Future for Step<T> {
    type Output = Result<T, StepError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = lock(&self.state);
        let st = &mut *st;
        let Some(op) = st.ops.get_mut(&self.seq) else {
            return Poll::Ready(Err(StepError::Failed(Failure::new(
                "Internal",
                "operation polled after completion",
            ))));
        };
        let outcome = match op {
            Op::Done(_) => match st.ops.remove(&self.seq) {
                Some(Op::Done(outcome)) => outcome,
                _ => unreachable!("matched Done above"),
            },
            Op::Pending {
                kind: OpKind::Signal(name),
                waker,
            } => match st
                .signals
                .get_mut(name.as_str())
                .and_then(|q| q.pop_front())
            {
                Some(payload) => {
                    st.ops.remove(&self.seq);
                    Ok(payload)
                }
                None => {
                    *waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            },
            Op::Pending { waker, .. } => {
                *waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
        };
        Poll::Ready(outcome.and_then(|value| {
            serde_json::from_value(value)
                .map_err(|e| StepError::Failed(Failure::new("InvalidOutput", e.to_string())))
        }))
    }
}
