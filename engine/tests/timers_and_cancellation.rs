//! Durable timers (thirty days, across restarts, fired early by an
//! operator), cancellation with compensation, and termination.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Duration as Span;
use engine::clock::{Clock, ManualClock};
use engine::store::Store;
use engine::{
    ActivityContext, ActivityError, ActivityOptions, Engine, EventKind, RetryPolicy, StepError,
    WorkflowContext, WorkflowError, WorkflowStatus,
};

const THIRTY_DAYS: Duration = Duration::from_secs(30 * 24 * 3600);

/// reserve -> hold (sleep) -> charge; on cancel, unreserve.
async fn held_order(ctx: WorkflowContext, hold: Duration) -> Result<String, WorkflowError> {
    let _: () = ctx.activity("reserve", &()).await?;
    if let Err(e) = ctx.sleep(hold).await {
        let _: () = ctx.activity("unreserve", &()).await?;
        return Err(e.into());
    }
    match ctx.activity::<_, String>("charge", &()).await {
        Ok(r) => Ok(r),
        Err(e) => {
            let _: () = ctx.activity("unreserve", &()).await?;
            Err(e.into())
        }
    }
}

#[derive(Default)]
struct Calls {
    charge: AtomicU32,
    unreserve: AtomicU32,
    after_terminate: AtomicU32,
}

fn start_engine(
    store: Arc<dyn Store>,
    clock: ManualClock,
    calls: Arc<Calls>,
    charge_fails: bool,
) -> Engine {
    let (c1, c2) = (calls.clone(), calls.clone());
    let charge_options = ActivityOptions {
        retry: RetryPolicy {
            initial_interval: Duration::from_secs(60),
            ..RetryPolicy::default()
        },
        ..ActivityOptions::default()
    };
    Engine::builder_shared(store)
        .workflow("held_order", held_order)
        .activity("reserve", |_: ActivityContext, _: ()| async {
            Ok::<_, ActivityError>(())
        })
        .activity_with(
            "charge",
            charge_options,
            move |_: ActivityContext, _: ()| {
                let c1 = c1.clone();
                async move {
                    c1.charge.fetch_add(1, Ordering::SeqCst);
                    if charge_fails {
                        Err(ActivityError::retryable("payment down"))
                    } else {
                        Ok("receipt".to_string())
                    }
                }
            },
        )
        .activity("unreserve", move |_: ActivityContext, _: ()| {
            let c2 = c2.clone();
            async move {
                c2.unreserve.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ActivityError>(())
            }
        })
        .workflow("forever", {
            let calls = calls.clone();
            move |ctx: WorkflowContext, _: ()| {
                let calls = calls.clone();
                async move {
                    loop {
                        ctx.sleep(Duration::from_secs(60)).await?;
                        calls.after_terminate.fetch_add(1, Ordering::SeqCst);
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), WorkflowError>(())
                }
            }
        })
        .clock(clock)
        .config(common::fast_config())
        .start()
}

async fn wait_for_timer(client: &engine::Client, id: &str) -> engine::PendingTimer {
    let mut found = None;
    common::eventually("a pending timer", || {
        let client = client.clone();
        let id = id.to_string();
        async move {
            !client
                .describe(&id)
                .await
                .unwrap()
                .pending_timers
                .is_empty()
        }
    })
    .await;
    if let Some(t) = client.describe(id).await.unwrap().pending_timers.pop() {
        found = Some(t);
    }
    found.expect("timer")
}

#[tokio::test]
async fn thirty_day_sleep_holds_nothing_survives_a_restart_and_fires_on_time() {
    let db = common::TestDb::new().await;
    let clock = common::manual_clock();
    let t0 = clock.now();
    let calls = Arc::new(Calls::default());
    let engine = start_engine(
        common::store(&db).await,
        clock.clone(),
        calls.clone(),
        false,
    );
    let client = engine.client();
    client
        .start("held_order", "h-1", &THIRTY_DAYS)
        .await
        .unwrap();
    let timer = wait_for_timer(&client, "h-1").await;
    assert_eq!(timer.fire_at, t0 + Span::days(30));
    let d = client.describe("h-1").await.unwrap();
    assert!(
        d.pending_activities.is_empty(),
        "a sleeping workflow holds only its timer row"
    );
    engine.shutdown().await;

    // A new engine (a restarted process) on the same database.
    let store = common::store(&db).await;
    let engine = start_engine(store, clock.clone(), calls.clone(), false);
    let client = engine.client();
    clock.advance(Span::days(30) - Span::seconds(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        client.get("h-1").await.unwrap().status,
        WorkflowStatus::Running,
        "not a second early"
    );
    assert_eq!(calls.charge.load(Ordering::SeqCst), 0);
    clock.advance(Span::seconds(1));
    let done = client
        .wait_closed("h-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed);
    let fired = client
        .history("h-1", None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| matches!(e.kind, EventKind::TimerFired { .. }))
        .unwrap();
    assert_eq!(fired.time, t0 + Span::days(30));
    engine.shutdown().await;
}

#[tokio::test]
async fn fire_timer_now_fires_it_early() {
    let db = common::TestDb::new().await;
    let clock = common::manual_clock();
    let engine = start_engine(
        common::store(&db).await,
        clock.clone(),
        Arc::new(Calls::default()),
        false,
    );
    let client = engine.client();
    client
        .start("held_order", "h-2", &THIRTY_DAYS)
        .await
        .unwrap();
    let timer = wait_for_timer(&client, "h-2").await;
    client.fire_timer_now("h-2", timer.seq).await.unwrap();
    let done = client
        .wait_closed("h-2", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed);
    assert!(matches!(
        client.fire_timer_now("h-2", timer.seq).await,
        Err(engine::Error::WrongState { .. })
    ));
    engine.shutdown().await;
}

#[tokio::test]
async fn cancel_while_sleeping_compensates_and_ends_cancelled() {
    let db = common::TestDb::new().await;
    let clock = common::manual_clock();
    let calls = Arc::new(Calls::default());
    let engine = start_engine(
        common::store(&db).await,
        clock.clone(),
        calls.clone(),
        false,
    );
    let client = engine.client();
    client
        .start("held_order", "c-1", &THIRTY_DAYS)
        .await
        .unwrap();
    wait_for_timer(&client, "c-1").await;
    client
        .cancel("c-1", "customer changed their mind")
        .await
        .unwrap();
    let done = client
        .wait_closed("c-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Cancelled);
    assert!(done.cancel_requested);
    assert_eq!(calls.charge.load(Ordering::SeqCst), 0, "nothing charged");
    assert_eq!(
        calls.unreserve.load(Ordering::SeqCst),
        1,
        "reservation undone"
    );
    let d = client.describe("c-1").await.unwrap();
    assert!(
        d.pending_timers.is_empty(),
        "the cancelled timer's row is gone"
    );
    let kinds: Vec<&str> = client
        .history("c-1", None)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.name())
        .collect();
    let at = |k: &str| kinds.iter().position(|x| *x == k).unwrap();
    assert!(at("CancelRequested") < at("OperationCancelled"));
    assert!(kinds.ends_with(&[
        "ActivityScheduled",
        "ActivityCompleted",
        "WorkflowTaskCompleted",
        "WorkflowCancelled"
    ]));
    // A cancelled workflow cannot be cancelled again.
    assert!(matches!(
        client.cancel("c-1", "again").await,
        Err(engine::Error::WrongState { .. })
    ));
    engine.shutdown().await;
}

#[tokio::test]
async fn cancel_while_an_activity_backs_off_returns_cancelled_to_the_workflow() {
    let db = common::TestDb::new().await;
    let clock = common::manual_clock();
    let calls = Arc::new(Calls::default());
    let engine = start_engine(common::store(&db).await, clock.clone(), calls.clone(), true);
    let client = engine.client();
    client
        .start("held_order", "c-2", &Duration::from_secs(0))
        .await
        .unwrap();
    common::eventually("charge backing off", || {
        let client = client.clone();
        async move {
            client
                .describe("c-2")
                .await
                .unwrap()
                .pending_activities
                .iter()
                .any(|a| a.attempt == 2)
        }
    })
    .await;
    client.cancel("c-2", "operator").await.unwrap();
    let done = client
        .wait_closed("c-2", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Cancelled);
    assert_eq!(calls.charge.load(Ordering::SeqCst), 1);
    assert_eq!(calls.unreserve.load(Ordering::SeqCst), 1);
    assert!(
        client
            .describe("c-2")
            .await
            .unwrap()
            .pending_activities
            .is_empty()
    );
    // The backoff's end passes: the dropped attempt never runs.
    clock.advance(Span::minutes(5));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(calls.charge.load(Ordering::SeqCst), 1);
    engine.shutdown().await;
}

#[tokio::test]
async fn terminate_stops_the_workflow_at_once() {
    let db = common::TestDb::new().await;
    let clock = common::manual_clock();
    let calls = Arc::new(Calls::default());
    let engine = start_engine(
        common::store(&db).await,
        clock.clone(),
        calls.clone(),
        false,
    );
    let client = engine.client();
    client.start("forever", "f-1", &()).await.unwrap();
    wait_for_timer(&client, "f-1").await;
    client.terminate("f-1", "stuck").await.unwrap();
    let record = client.get("f-1").await.unwrap();
    assert_eq!(record.status, WorkflowStatus::Terminated);
    assert_eq!(record.error.unwrap().message, "stuck");
    clock.advance(Span::hours(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        calls.after_terminate.load(Ordering::SeqCst),
        0,
        "no workflow code ran after terminate"
    );
    assert!(
        client
            .describe("f-1")
            .await
            .unwrap()
            .pending_timers
            .is_empty()
    );
    let last = client.history("f-1", None).await.unwrap().pop().unwrap();
    assert!(matches!(last.kind, EventKind::WorkflowTerminated { .. }));
    engine.shutdown().await;
}

#[tokio::test]
async fn cancelled_is_what_the_awaited_operation_returns() {
    let db = common::TestDb::new().await;
    let engine = Engine::builder_shared(common::store(&db).await)
        .workflow("observe", |ctx: WorkflowContext, _: ()| async move {
            let outcome = ctx.sleep(Duration::from_secs(3600)).await;
            assert!(ctx.is_cancel_requested());
            Ok::<_, WorkflowError>(outcome == Err(StepError::Cancelled))
        })
        .config(common::fast_config())
        .start();
    let client = engine.client();
    client.start("observe", "o-1", &()).await.unwrap();
    wait_for_timer(&client, "o-1").await;
    client.cancel("o-1", "test").await.unwrap();
    let done = client
        .wait_closed("o-1", Duration::from_secs(10))
        .await
        .unwrap();
    // It finished normally after the request: that still ends as Cancelled.
    assert_eq!(done.status, WorkflowStatus::Cancelled);
    let history = client.history("o-1", None).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| matches!(e.kind, EventKind::WorkflowCancelled { .. }))
    );
    engine.shutdown().await;
}
