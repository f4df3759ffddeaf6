//! The load: C clients share N orders; each places one, waits until its
//! workflow has closed, records the time from placing to closing, and takes
//! the next.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use engine::WorkflowStatus;
use indicatif::ProgressBar;
use serde::Serialize;

use super::engine_mode::EngineTarget;
use super::http_mode::HttpTarget;

/// What the clients drive.
pub enum Target {
    Engine(EngineTarget),
    Http(Box<HttpTarget>),
}

impl Target {
    /// Starts workflow `id` (an order, unless the engine runs `--steps`)
    /// and waits until it has closed.
    pub async fn run(&self, id: &str, timeout: Duration) -> anyhow::Result<engine::WorkflowRecord> {
        match self {
            Target::Engine(t) => t.run(id, timeout).await,
            Target::Http(t) => {
                t.start_order(id).await?;
                Ok(t.client().wait_closed(id, timeout).await?)
            }
        }
    }

    /// The engine client that observes completion.
    pub fn client(&self) -> &engine::Client {
        match self {
            Target::Engine(t) => t.client(),
            Target::Http(t) => t.client(),
        }
    }

    pub async fn shutdown(self) {
        match self {
            Target::Engine(t) => t.shutdown().await,
            Target::Http(t) => t.shutdown().await,
        }
    }
}

/// How the workflows of a run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    pub completed: u64,
    pub failed: u64,
    /// Cancelled or terminated.
    pub other: u64,
    /// Not started, or not closed within the timeout.
    pub errors: u64,
    /// The first few errors, for the report.
    pub first_errors: Vec<String>,
}

impl Outcomes {
    fn add(&mut self, other: Outcomes) {
        self.completed += other.completed;
        self.failed += other.failed;
        self.other += other.other;
        self.errors += other.errors;
        for e in other.first_errors {
            if self.first_errors.len() < 5 {
                self.first_errors.push(e);
            }
        }
    }

    fn error(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_errors.len() < 5 {
            self.first_errors.push(e.to_string());
        }
    }
}

/// What a run measured.
pub struct RunResult {
    pub elapsed: Duration,
    /// Placing to closing, one per workflow that closed.
    pub latencies: Vec<Duration>,
    pub outcomes: Outcomes,
}

/// Runs `n` workflows named `{prefix}{i}` with `concurrency` clients.
pub async fn run(
    target: Arc<Target>,
    prefix: &str,
    n: usize,
    concurrency: usize,
    timeout: Duration,
    progress: ProgressBar,
) -> RunResult {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..concurrency.clamp(1, n.max(1)))
        .map(|_| {
            let target = target.clone();
            let next = next.clone();
            let progress = progress.clone();
            let prefix = prefix.to_string();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut outcomes = Outcomes::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return (latencies, outcomes);
                    }
                    let id = format!("{prefix}{i}");
                    let t0 = Instant::now();
                    match target.run(&id, timeout).await {
                        Ok(record) => {
                            latencies.push(t0.elapsed());
                            match record.status {
                                WorkflowStatus::Completed => outcomes.completed += 1,
                                WorkflowStatus::Failed => outcomes.failed += 1,
                                _ => outcomes.other += 1,
                            }
                        }
                        Err(e) => outcomes.error(format!("{id}: {e:#}")),
                    }
                    progress.inc(1);
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    let mut outcomes = Outcomes::default();
    for client in clients {
        match client.await {
            Ok((l, o)) => {
                latencies.extend(l);
                outcomes.add(o);
            }
            Err(e) => outcomes.error(format!("a client panicked: {e}")),
        }
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    RunResult {
        elapsed,
        latencies,
        outcomes,
    }
}
