//! Engine micro-benchmark: N three-step workflows whose activities return at
//! once, started by C concurrent clients, on a SQLite file.
//!
//! `cargo run --release -p engine --example throughput -- [N] [C]`
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::store::sqlite::SqliteStore;
use engine::{ActivityContext, ActivityError, Engine, WorkflowContext, WorkflowError};

async fn step(_: ActivityContext, n: u64) -> Result<u64, ActivityError> {
    Ok(n + 1)
}

async fn three(ctx: WorkflowContext, n: u64) -> Result<u64, WorkflowError> {
    let a: u64 = ctx.activity("a", &n).await?;
    let b: u64 = ctx.activity("b", &a).await?;
    Ok(ctx.activity("c", &b).await?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let c: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&format!("sqlite://{}/bench.db", dir.path().display())).await?;
    let engine = Engine::builder(store)
        .workflow("three", three)
        .activity("a", step)
        .activity("b", step)
        .activity("c", step)
        .start();
    let client = engine.client();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut latencies = Vec::new();
    let tasks: Vec<_> = (0..c)
        .map(|_| {
            let client = client.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        return lat;
                    }
                    let t = Instant::now();
                    let id = format!("wf-{i}");
                    client
                        .start("three", &id, &(i as u64))
                        .await
                        .expect("start");
                    client
                        .wait_closed(&id, Duration::from_secs(300))
                        .await
                        .expect("closed");
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    for t in tasks {
        latencies.extend(t.await?);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{n} workflows, {c} clients: {:.0} wf/s; p50 {:?} p99 {:?} max {:?}",
        n as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or_default()
    );
    engine.shutdown().await;
    Ok(())
}
