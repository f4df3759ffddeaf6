//! A store wrapper for tests that count or disturb what the engine reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use engine::store::{
    ActivityQuery, ActivityTask, Applied, DueTimer, LeaseGrant, Outcome, Store, TaskKind, TaskRef,
    Transition, WorkflowTask,
};
use engine::{
    Counts, Cursor, Event, ListFilter, ListPage, MinuteCounts, PendingActivity, PendingTimer,
    RunSummary, Timestamp, WorkflowRecord,
};

/// A store around a real one that counts the history events it hands out,
/// can fail the next reads of a workflow row as a lost connection would,
/// and can slow down the workers' look for the next due task.
pub struct Instrumented {
    inner: Arc<dyn Store>,
    pub events_read: AtomicU64,
    /// Activity outcomes committed together with the next workflow task.
    pub eager_commits: AtomicU64,
    /// Starts committed together with their first workflow task.
    pub eager_starts: AtomicU64,
    /// Reads of `Store::workflow` still to fail.
    pub failing_reads: AtomicU32,
    /// Reads of `Store::workflow`, failed or not.
    pub workflow_reads: AtomicU64,
    /// Milliseconds each `Store::next_due` takes on top of the real one.
    pub next_due_delay_ms: AtomicU64,
}

impl Instrumented {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            events_read: AtomicU64::new(0),
            eager_commits: AtomicU64::new(0),
            eager_starts: AtomicU64::new(0),
            failing_reads: AtomicU32::new(0),
            workflow_reads: AtomicU64::new(0),
            next_due_delay_ms: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl Store for Instrumented {
    async fn commit_leasing(
        &self,
        batch: Arc<[Transition]>,
        lease: Option<&LeaseGrant>,
    ) -> engine::Result<Vec<Outcome>> {
        let outcomes = self.inner.commit_leasing(batch.clone(), lease).await?;
        let eager = batch.iter().zip(&outcomes).filter(|(t, outcome)| {
            matches!(t, Transition::CompleteActivityEagerly { .. })
                && matches!(outcome.applied, Applied::Appended { .. })
        });
        self.eager_commits
            .fetch_add(eager.count() as u64, Ordering::SeqCst);
        let eager_starts = batch.iter().zip(&outcomes).filter(|(t, outcome)| {
            matches!(
                t,
                Transition::Start {
                    first_task: Some(_),
                    ..
                }
            ) && matches!(outcome.applied, Applied::Started { .. })
        });
        self.eager_starts
            .fetch_add(eager_starts.count() as u64, Ordering::SeqCst);
        Ok(outcomes)
    }
    async fn claim_workflow_tasks(
        &self,
        o: &str,
        n: Timestamp,
        l: Duration,
        k: u32,
    ) -> engine::Result<Vec<WorkflowTask>> {
        self.inner.claim_workflow_tasks(o, n, l, k).await
    }
    async fn claim_activity_tasks(
        &self,
        o: &str,
        n: Timestamp,
        l: Duration,
        k: u32,
    ) -> engine::Result<Vec<ActivityTask>> {
        self.inner.claim_activity_tasks(o, n, l, k).await
    }
    async fn heartbeat(&self, t: &TaskRef, u: Timestamp) -> engine::Result<bool> {
        self.inner.heartbeat(t, u).await
    }
    async fn due_timers(&self, n: Timestamp, k: u32) -> engine::Result<Vec<DueTimer>> {
        self.inner.due_timers(n, k).await
    }
    async fn next_due(&self, kind: TaskKind) -> engine::Result<Option<Timestamp>> {
        let delay = self.next_due_delay_ms.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        self.inner.next_due(kind).await
    }
    async fn workflow(&self, id: &str) -> engine::Result<Option<WorkflowRecord>> {
        self.workflow_reads.fetch_add(1, Ordering::SeqCst);
        let fail = self
            .failing_reads
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            let lost = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
            return Err(engine::Error::Database(sqlx::Error::Io(lost)));
        }
        self.inner.workflow(id).await
    }
    async fn runs(&self, id: &str) -> engine::Result<Vec<RunSummary>> {
        self.inner.runs(id).await
    }
    async fn history(&self, id: &str, run: u32, after: u64) -> engine::Result<Vec<Event>> {
        let events = self.inner.history(id, run, after).await?;
        self.events_read
            .fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(events)
    }
    async fn pending_activities(
        &self,
        q: &ActivityQuery,
        n: Timestamp,
    ) -> engine::Result<Vec<PendingActivity>> {
        self.inner.pending_activities(q, n).await
    }
    async fn pending_timers(&self, w: Option<&str>, k: u32) -> engine::Result<Vec<PendingTimer>> {
        self.inner.pending_timers(w, k).await
    }
    async fn list(
        &self,
        f: &ListFilter,
        c: Option<&Cursor>,
        k: u32,
        n: Timestamp,
    ) -> engine::Result<ListPage> {
        self.inner.list(f, c, k, n).await
    }
    async fn counts(&self, f: &ListFilter, n: Timestamp) -> engine::Result<Counts> {
        self.inner.counts(f, n).await
    }
    async fn per_minute(&self, since: Timestamp) -> engine::Result<Vec<MinuteCounts>> {
        self.inner.per_minute(since).await
    }
}
