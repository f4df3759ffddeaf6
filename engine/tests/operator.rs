//! What an operator does: idempotent start, retry of a failed workflow (from
//! the start, or resuming after its completed steps), retry-now of a backing
//! off activity, signals.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use engine::{
    ActivityContext, ActivityError, ActivityOptions, ActivityState, Engine, Error, Execution,
    RetryMode, RetryPolicy, Start, WorkflowContext, WorkflowError, WorkflowStatus,
};

#[derive(Default)]
struct World {
    reserve: AtomicU32,
    charge: AtomicU32,
    ship: AtomicU32,
    charge_declines: AtomicBool,
    /// The next charge fails, retryably.
    charge_fails_once: AtomicBool,
}

async fn order(ctx: WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let _: () = ctx.activity("reserve", &()).await?;
    let _: () = ctx.activity("charge", &()).await?;
    ctx.activity("ship", &()).await.map_err(Into::into)
}

fn engine(
    store: Arc<dyn engine::store::Store>,
    world: Arc<World>,
    charge: ActivityOptions,
) -> Engine {
    let (w1, w2, w3) = (world.clone(), world.clone(), world.clone());
    Engine::builder_shared(store)
        .workflow("order", order)
        .activity("reserve", move |_: ActivityContext, _: ()| {
            let w = w1.clone();
            async move {
                w.reserve.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ActivityError>(())
            }
        })
        .activity_with("charge", charge, move |_: ActivityContext, _: ()| {
            let w = w2.clone();
            async move {
                w.charge.fetch_add(1, Ordering::SeqCst);
                if w.charge_fails_once.swap(false, Ordering::SeqCst) {
                    Err(ActivityError::retryable("card network unreachable"))
                } else if w.charge_declines.load(Ordering::SeqCst) {
                    Err(ActivityError::non_retryable("CardDeclined", "declined"))
                } else {
                    Ok(())
                }
            }
        })
        .activity("ship", move |ctx: ActivityContext, _: ()| {
            let w = w3.clone();
            async move {
                w.ship.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ActivityError>(format!("shipped by run {}", ctx.idempotency_key()))
            }
        })
        .config(common::fast_config())
        .start()
}

#[tokio::test]
async fn starting_an_existing_id_answers_already_started_and_creates_nothing() {
    let db = common::TestDb::new().await;
    let world = Arc::new(World::default());
    let engine = engine(
        common::store(&db).await,
        world.clone(),
        ActivityOptions::default(),
    );
    let client = engine.client();
    client.start("order", "dup", &()).await.unwrap();
    client
        .wait_closed("dup", Duration::from_secs(10))
        .await
        .unwrap();
    let before = client.history("dup", None).await.unwrap();
    match client.start("order", "dup", &()).await.unwrap() {
        Start::AlreadyStarted(existing) => {
            assert_eq!(existing.id, "dup");
            assert_eq!(existing.status, WorkflowStatus::Completed);
        }
        other => panic!("expected AlreadyStarted, got {other:?}"),
    }
    // Concurrent duplicates: exactly one start wins.
    let starts = (0..20).map(|_| {
        let client = client.clone();
        async move { client.start("order", "dup-2", &()).await.unwrap() }
    });
    let outcomes = futures::future::join_all(starts).await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Start::Started { .. }))
            .count(),
        1
    );
    client
        .wait_closed("dup-2", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        client.history("dup", None).await.unwrap(),
        before,
        "nothing appended"
    );
    assert_eq!(world.reserve.load(Ordering::SeqCst), 2, "one run per id");
    assert_eq!(client.describe("dup").await.unwrap().runs.len(), 1);
    engine.shutdown().await;
}

#[tokio::test]
async fn retry_from_start_runs_everything_again_as_run_two() {
    let db = common::TestDb::new().await;
    let world = Arc::new(World::default());
    world.charge_declines.store(true, Ordering::SeqCst);
    let engine = engine(
        common::store(&db).await,
        world.clone(),
        ActivityOptions::default(),
    );
    let client = engine.client();
    client.start("order", "rs-1", &()).await.unwrap();
    let failed = client
        .wait_closed("rs-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(failed.status, WorkflowStatus::Failed);
    // So that run 2 starts at a later millisecond than run 1.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(matches!(
        client.retry("rs-1", RetryMode::FromStart).await,
        Ok(2)
    ));
    // Retrying a running workflow is refused.
    world.charge_declines.store(false, Ordering::SeqCst);
    let done = client
        .wait_closed("rs-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((done.run, done.status), (2, WorkflowStatus::Completed));
    assert_eq!(world.reserve.load(Ordering::SeqCst), 2, "reserve ran again");
    assert_eq!(
        done.result,
        Some(serde_json::json!("shipped by run rs-1/2/3"))
    );
    let runs = client.describe("rs-1").await.unwrap().runs;
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].run, runs[0].status), (1, WorkflowStatus::Failed));
    assert_eq!(
        (runs[1].run, runs[1].retry_mode),
        (2, Some(RetryMode::FromStart))
    );
    // The row's start time (an indexed column, written only when it
    // changes) is run 2's.
    assert!(runs[1].created_at > runs[0].created_at, "{runs:?}");
    // History of run 1 is kept unchanged.
    let run1 = client.history("rs-1", Some(1)).await.unwrap();
    assert!(matches!(
        run1.last().unwrap().kind,
        engine::EventKind::WorkflowFailed { .. }
    ));
    assert!(matches!(
        client.retry("rs-1", RetryMode::FromStart).await,
        Err(Error::WrongState {
            status: WorkflowStatus::Completed,
            ..
        })
    ));
    engine.shutdown().await;
}

#[tokio::test]
async fn retry_with_resume_does_not_execute_completed_steps_again() {
    let db = common::TestDb::new().await;
    let world = Arc::new(World::default());
    world.charge_declines.store(true, Ordering::SeqCst);
    let engine = engine(
        common::store(&db).await,
        world.clone(),
        ActivityOptions::default(),
    );
    let client = engine.client();
    client.start("order", "rs-2", &()).await.unwrap();
    client
        .wait_closed("rs-2", Duration::from_secs(10))
        .await
        .unwrap();
    world.charge_declines.store(false, Ordering::SeqCst);
    assert_eq!(client.retry("rs-2", RetryMode::Resume).await.unwrap(), 2);
    let done = client
        .wait_closed("rs-2", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((done.run, done.status), (2, WorkflowStatus::Completed));
    assert_eq!(
        world.reserve.load(Ordering::SeqCst),
        1,
        "reserve was reused, not run again"
    );
    assert_eq!(world.charge.load(Ordering::SeqCst), 2);
    let history = client.history("rs-2", Some(2)).await.unwrap();
    assert!(history.iter().any(|e| matches!(
        e.kind,
        engine::EventKind::StepReused {
            seq: 1,
            from_run: 1,
            ..
        }
    )));
    engine.shutdown().await;
}

#[tokio::test]
async fn retry_activity_now_skips_the_backoff() {
    let db = common::TestDb::new().await;
    let world = Arc::new(World::default());
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let hour_backoff = ActivityOptions {
        retry: RetryPolicy {
            initial_interval: Duration::from_secs(3600),
            ..RetryPolicy::default()
        },
        ..ActivityOptions::default()
    };
    let _ = world;
    let engine = Engine::builder_shared(common::store(&db).await)
        .workflow("once", |ctx: WorkflowContext, _: ()| async move {
            Ok::<u32, WorkflowError>(ctx.activity("flaky", &()).await?)
        })
        .activity_with("flaky", hour_backoff, move |ctx: ActivityContext, _: ()| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                if ctx.attempt() == 1 {
                    Err(ActivityError::retryable("down"))
                } else {
                    Ok(ctx.attempt())
                }
            }
        })
        .config(common::fast_config())
        .start();
    let client = engine.client();
    client.start("once", "rn-1", &()).await.unwrap();
    common::eventually("backing off", || {
        let client = client.clone();
        async move {
            client
                .pending_activities(true, 10)
                .await
                .unwrap()
                .iter()
                .any(|a| a.workflow_id == "rn-1")
        }
    })
    .await;
    let pending = client.describe("rn-1").await.unwrap().pending_activities;
    assert_eq!(pending[0].state, ActivityState::BackingOff);
    client
        .retry_activity_now("rn-1", pending[0].seq)
        .await
        .unwrap();
    let done = client
        .wait_closed("rn-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.result, Some(serde_json::json!(2)));
    assert!(matches!(
        client.retry_activity_now("rn-1", 99).await,
        Err(Error::WrongState { .. })
    ));
    engine.shutdown().await;
}

#[tokio::test]
async fn signals_are_delivered_in_order_and_wait_can_time_out() {
    let db = common::TestDb::new().await;
    let engine = Engine::builder_shared(common::store(&db).await)
        .workflow("approve", |ctx: WorkflowContext, _: ()| async move {
            let first: String = ctx.signal("note").await?;
            let second: String = ctx.signal("note").await?;
            let late: Option<String> = ctx
                .signal_within("never", Duration::from_millis(50))
                .await?;
            Ok::<_, WorkflowError>((first, second, late))
        })
        .config(common::fast_config())
        .start();
    let client = engine.client();
    client.start("approve", "s-1", &()).await.unwrap();
    client
        .signal("s-1", "note", serde_json::json!("a"))
        .await
        .unwrap();
    client
        .signal("s-1", "note", serde_json::json!("b"))
        .await
        .unwrap();
    let done = client
        .wait_closed("s-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.result, Some(serde_json::json!(["a", "b", null])));
    assert!(matches!(
        client.signal("nope", "note", serde_json::json!(1)).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        client.signal("s-1", "note", serde_json::json!(1)).await,
        Err(Error::WrongState { .. })
    ));
    engine.shutdown().await;
}

/// The totals and per-minute figures the dashboard reads are kept by the
/// commits themselves; they must agree with a count of the rows through
/// starts, completions, failures, a retry and a terminate.
#[tokio::test]
async fn kept_counts_and_per_minute_figures_match_the_workflows() {
    let db = common::TestDb::new().await;
    let world = Arc::new(World::default());
    let engine = engine(
        common::store(&db).await,
        world.clone(),
        ActivityOptions::default(),
    );
    let client = engine.client();
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    for i in 0..5 {
        client
            .start("order", &format!("ok-{i}"), &())
            .await
            .unwrap();
    }
    for i in 0..5 {
        client
            .wait_closed(&format!("ok-{i}"), Duration::from_secs(10))
            .await
            .unwrap();
    }
    world.charge_declines.store(true, Ordering::SeqCst);
    for i in 0..3 {
        client
            .start("order", &format!("bad-{i}"), &())
            .await
            .unwrap();
        client
            .wait_closed(&format!("bad-{i}"), Duration::from_secs(10))
            .await
            .unwrap();
    }
    // bad-0 is retried and terminated at once (run 2), bad-1 retried to completion.
    world.charge_declines.store(false, Ordering::SeqCst);
    client.retry("bad-0", RetryMode::FromStart).await.unwrap();
    let _ = client.terminate("bad-0", "operator gave up").await;
    client.retry("bad-1", RetryMode::Resume).await.unwrap();
    client
        .wait_closed("bad-1", Duration::from_secs(10))
        .await
        .unwrap();
    client
        .wait_closed("bad-0", Duration::from_secs(10))
        .await
        .unwrap();

    let kept = client.counts(&engine::ListFilter::default()).await.unwrap();
    // A filter that matches everything but forces the scan of the rows.
    let scanned = client
        .counts(&engine::ListFilter {
            started_after: Some(chrono::DateTime::UNIX_EPOCH),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(kept, scanned);
    assert_eq!(kept.running, 0);
    assert_eq!(
        kept.completed + kept.failed + kept.terminated,
        8,
        "{kept:?}"
    );

    let minutes = client.per_minute(since).await.unwrap();
    let total = |f: fn(&engine::MinuteCounts) -> u64| minutes.iter().map(f).sum::<u64>();
    assert_eq!(total(|m| m.started), 8 + 2, "8 starts and 2 retries");
    // Every closing is counted, including run 1 of the retried ones.
    assert_eq!(
        total(|m| m.completed + m.failed + m.terminated),
        8 + 2,
        "{minutes:?}"
    );
    assert_eq!(total(|m| m.failed), 3);
    assert!(minutes.windows(2).all(|w| w[0].minute < w[1].minute));
    engine.shutdown().await;
}

/// A lost database connection while waiting for a workflow says nothing
/// about the workflow: `wait_closed` looks again until its deadline.
#[tokio::test]
async fn wait_closed_rides_out_transient_read_errors() {
    let db = common::TestDb::new().await;
    let store = Arc::new(common::Instrumented::new(common::store(&db).await));
    let engine = engine(
        store.clone(),
        Arc::new(World::default()),
        ActivityOptions::default(),
    );
    let client = engine.client();
    client.start("order", "flaky-read", &()).await.unwrap();
    store.failing_reads.store(3, Ordering::SeqCst);
    let done = client
        .wait_closed("flaky-read", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed);
    assert_eq!(
        store.failing_reads.load(Ordering::SeqCst),
        0,
        "all 3 failed"
    );

    // If the store stays unreachable, the error comes back at the deadline.
    store.failing_reads.store(u32::MAX, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let err = client
        .wait_closed("flaky-read", Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    store.failing_reads.store(0, Ordering::SeqCst);
    engine.shutdown().await;
}

/// An engine whose first charge fails and is retried 300 ms later, so that
/// an order still runs when a wait for it begins.
fn slow_charge_engine(store: Arc<common::Instrumented>) -> (Engine, Arc<World>) {
    let world = Arc::new(World::default());
    world.charge_fails_once.store(true, Ordering::SeqCst);
    let charge = ActivityOptions {
        retry: RetryPolicy {
            initial_interval: Duration::from_millis(300),
            ..RetryPolicy::default()
        },
        ..ActivityOptions::default()
    };
    (engine(store, world.clone(), charge), world)
}

/// A workflow that closes in this process is handed to `wait_closed` by the
/// commit that closed it: one read (the look before waiting), not two.
#[tokio::test]
async fn wait_closed_takes_the_closed_workflow_from_the_commit() {
    let db = common::TestDb::new().await;
    let store = Arc::new(common::Instrumented::new(common::store(&db).await));
    let (engine, world) = slow_charge_engine(store.clone());
    let client = engine.client();
    client.start("order", "handed", &()).await.unwrap();
    let reads_before = store.workflow_reads.load(Ordering::SeqCst);
    let done = client
        .wait_closed("handed", Duration::from_secs(10))
        .await
        .unwrap();
    let reads = store.workflow_reads.load(Ordering::SeqCst) - reads_before;
    assert_eq!(
        world.charge.load(Ordering::SeqCst),
        2,
        "it waited for the retry"
    );
    assert_eq!(reads, 1, "only the look before waiting reads the row");
    assert_eq!(done.status, WorkflowStatus::Completed);
    assert_eq!(done, client.get("handed").await.unwrap());
    engine.shutdown().await;
}

/// `execute` starts and waits without reading the workflow it created; an
/// existing id is answered at once.
#[tokio::test]
async fn execute_waits_for_the_workflow_it_started_without_reading_it() {
    let db = common::TestDb::new().await;
    let store = Arc::new(common::Instrumented::new(common::store(&db).await));
    let (engine, world) = slow_charge_engine(store.clone());
    let client = engine.client();
    let timeout = Duration::from_secs(10);
    let reads_before = store.workflow_reads.load(Ordering::SeqCst);
    let done = match client.execute("order", "ex", &(), timeout).await.unwrap() {
        Execution::Closed(record) => record,
        other => panic!("expected it to close, got {other:?}"),
    };
    let reads = store.workflow_reads.load(Ordering::SeqCst) - reads_before;
    assert_eq!(reads, 0, "the workflow was not read back");
    assert_eq!(
        world.charge.load(Ordering::SeqCst),
        2,
        "it waited for the retry"
    );
    assert_eq!(done.status, WorkflowStatus::Completed);
    assert_eq!(*done, client.get("ex").await.unwrap());

    let again = client.execute("order", "ex", &(), timeout).await.unwrap();
    assert_eq!(again, Execution::AlreadyStarted(done));
    assert_eq!(world.reserve.load(Ordering::SeqCst), 1, "nothing ran again");
    engine.shutdown().await;
}
