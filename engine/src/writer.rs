//! Group commit: every transition of this process goes through one writer
//! task that gathers whatever is queued and commits it as one batch, so many
//! workflows share one database commit (and one fsync).
//!
//! The writer is also the in-process fast path: tasks a batch creates are
//! leased to this process in the same commit and handed straight to the
//! workers, with no claim query; only after a crash, for due timers and
//! backoffs, or for work of other processes do workers poll the database —
//! and the writer wakes them only after commits that may have left such work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{Applied, ClosedWorkflow, Handoff, LeaseGrant, Store, Transition};
use crate::workflow::WorkflowRecord;

/// Most transitions committed together.
const MAX_BATCH: usize = 512;

type Request = (Transition, oneshot::Sender<Result<Applied>>);

/// How the writer leases the tasks it creates to this process.
#[derive(Clone)]
pub(crate) struct Leasing {
    pub(crate) owner: String,
    pub(crate) duration: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) handoffs: mpsc::UnboundedSender<Handoff>,
}

/// Who waits in this process for which workflow to close.
#[derive(Default)]
pub(crate) struct Closings {
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<WorkflowRecord>>>>,
}

impl Closings {
    /// A subscription that resolves, with the closed workflow, when this
    /// process closes workflow `id`.
    pub(crate) fn subscribe(&self, id: &str) -> Subscription<'_> {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        waiters.entry(id.to_string()).or_default().push(tx);
        Subscription {
            closings: self,
            id: id.to_string(),
            closed: rx,
        }
    }

    fn closed(&self, closed: ClosedWorkflow) {
        let waiters = {
            let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            waiters.remove(closed.id()).unwrap_or_default()
        };
        if waiters.is_empty() {
            return;
        }
        // Decoded only when someone waits; a row that does not decode is
        // left to the waiters' own read, which reports why.
        let Ok(record) = closed.into_record() else {
            return;
        };
        for waiter in waiters {
            let _ = waiter.send(record.clone());
        }
    }
}

/// One wait for a workflow to close here; leaves [`Closings`] when dropped,
/// so that waits that end otherwise (a timeout, a close seen in the store)
/// leave nothing behind.
pub(crate) struct Subscription<'a> {
    closings: &'a Closings,
    id: String,
    pub(crate) closed: oneshot::Receiver<WorkflowRecord>,
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        self.closed.close();
        let mut waiters = self
            .closings
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(list) = waiters.get_mut(&self.id) {
            list.retain(|w| !w.is_closed());
            if list.is_empty() {
                waiters.remove(&self.id);
            }
        }
    }
}

/// A cheap-to-clone handle for submitting transitions to the writers.
///
/// A backend that can commit concurrently (PostgreSQL) gets several writer
/// tasks; each workflow's transitions always go to the same one, so that
/// two batches never touch the same workflow rows and one workflow's
/// transitions are committed in the order they were submitted.
#[derive(Clone)]
pub(crate) struct Writer {
    shards: Arc<[mpsc::Sender<Request>]>,
    hasher: std::hash::RandomState,
}

impl Writer {
    /// Starts [`Store::writers`] writer tasks; they end when every handle is
    /// dropped.
    pub(crate) fn spawn(
        store: Arc<dyn Store>,
        leasing: Option<Leasing>,
        closings: Arc<Closings>,
        work: watch::Sender<u64>,
    ) -> Self {
        let shards = (0..store.writers().max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel::<Request>(4 * MAX_BATCH);
                tokio::spawn(write_loop(
                    rx,
                    store.clone(),
                    leasing.clone(),
                    closings.clone(),
                    work.clone(),
                ));
                tx
            })
            .collect();
        Self {
            shards,
            hasher: std::hash::RandomState::new(),
        }
    }

    fn shard(&self, transition: &Transition) -> &mpsc::Sender<Request> {
        use std::hash::BuildHasher;
        let index = match (self.shards.len(), transition.workflow_id()) {
            // One writer (SQLite): nothing to route, no hash per commit.
            (1, _) | (_, None) => 0,
            (n, Some(id)) => self.hasher.hash_one(id) as usize % n,
        };
        &self.shards[index]
    }

    /// Commits one transition (batched with whatever else is queued).
    pub(crate) async fn commit(&self, transition: Transition) -> Result<Applied> {
        let (reply, answer) = oneshot::channel();
        self.shard(&transition)
            .send((transition, reply))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        answer.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Commits several transitions, answering in order.
    pub(crate) async fn commit_all(&self, transitions: Vec<Transition>) -> Result<Vec<Applied>> {
        let mut answers = Vec::with_capacity(transitions.len());
        for transition in transitions {
            let (reply, answer) = oneshot::channel();
            self.shard(&transition)
                .send((transition, reply))
                .await
                .map_err(|_| Error::ShuttingDown)?;
            answers.push(answer);
        }
        let mut applied = Vec::with_capacity(answers.len());
        for answer in answers {
            applied.push(answer.await.map_err(|_| Error::ShuttingDown)??);
        }
        Ok(applied)
    }
}

/// Commits what one writer's queue holds, batch after batch, until every
/// sender is dropped.
async fn write_loop(
    mut rx: mpsc::Receiver<Request>,
    store: Arc<dyn Store>,
    leasing: Option<Leasing>,
    closings: Arc<Closings>,
    work: watch::Sender<u64>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Collected straight into the shared slice: one allocation, each
        // transition moved once.
        let mut replies = Vec::with_capacity(batch.len());
        let transitions: Arc<[Transition]> = batch
            .drain(..)
            .map(|(transition, reply)| {
                replies.push(reply);
                transition
            })
            .collect();
        // Workers look at the queue only when a commit may have left work
        // that was not handed to them (or none is handed over).
        let wake_workers =
            leasing.is_none() || transitions.iter().any(|t| t.may_leave_unleased_work());
        let grant = leasing.as_ref().map(|l| LeaseGrant {
            token: format!("{}:{}", l.owner, uuid::Uuid::new_v4().simple()),
            until: l.clock.now() + chrono::Duration::from_std(l.duration).unwrap_or_default(),
        });
        let outcomes = match store
            .commit_leasing(transitions.clone(), grant.as_ref())
            .await
        {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
            // One bad transition must not fail its neighbours: retry each
            // alone so that only the failing one reports an error.
            Err(_) => {
                let mut outcomes = Vec::with_capacity(transitions.len());
                for transition in transitions.iter() {
                    let outcome = store
                        .commit_leasing(Arc::new([transition.clone()]), grant.as_ref())
                        .await
                        .and_then(|mut v| v.pop().ok_or(Error::ShuttingDown));
                    outcomes.push(outcome);
                }
                outcomes
            }
        };
        // Answers first, hand-offs after: a workflow task that scheduled an
        // activity gets to cache its instance before the activity (which
        // may finish at once) looks for it to run the next task eagerly.
        let mut handed = Vec::new();
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let outcome = outcome.map(|outcome| {
                handed.extend(outcome.handoffs);
                if let Some(closed) = outcome.closed {
                    closings.closed(closed);
                }
                outcome.applied
            });
            let _ = reply.send(outcome);
        }
        if let Some(leasing) = &leasing {
            for handoff in handed {
                let _ = leasing.handoffs.send(handoff);
            }
        }
        if wake_workers {
            work.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}
