//! Retries with backoff, non-retryable errors, exhausted attempts, and the
//! compensation that follows a failure.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Duration as Span;
use engine::{
    ActivityContext, ActivityError, ActivityOptions, ActivityState, Engine, EventKind, RetryPolicy,
    WorkflowContext, WorkflowError, WorkflowStatus,
};

fn policy(maximum_attempts: u32) -> ActivityOptions {
    ActivityOptions {
        retry: RetryPolicy {
            maximum_attempts,
            non_retryable_error_kinds: vec!["CardDeclined".into()],
            ..RetryPolicy::default()
        },
        ..ActivityOptions::default()
    }
}

/// reserve -> charge; if charge fails, unreserve and fail with charge's error.
async fn order(ctx: WorkflowContext, _: ()) -> Result<String, WorkflowError> {
    let _: () = ctx.activity("reserve", &()).await?;
    match ctx.activity::<_, String>("charge", &()).await {
        Ok(receipt) => Ok(receipt),
        Err(e) => {
            let _: () = ctx.activity("unreserve", &()).await?;
            Err(e.into())
        }
    }
}

struct Counters {
    charge: AtomicU32,
    unreserve: AtomicU32,
}

fn engine_with(
    store: Arc<dyn engine::store::Store>,
    clock: engine::clock::ManualClock,
    charge: impl Fn(u32) -> Result<String, ActivityError> + Send + Sync + 'static,
    options: ActivityOptions,
) -> (Engine, Arc<Counters>) {
    let counters = Arc::new(Counters {
        charge: AtomicU32::new(0),
        unreserve: AtomicU32::new(0),
    });
    let charge = Arc::new(charge);
    let c1 = counters.clone();
    let c2 = counters.clone();
    let engine = Engine::builder_shared(store)
        .workflow("order", order)
        .activity("reserve", |_: ActivityContext, _: ()| async {
            Ok::<_, ActivityError>(())
        })
        .activity_with("charge", options, move |ctx: ActivityContext, _: ()| {
            let charge = charge.clone();
            let c1 = c1.clone();
            async move {
                c1.charge.fetch_add(1, Ordering::SeqCst);
                charge(ctx.attempt())
            }
        })
        .activity("unreserve", move |_: ActivityContext, _: ()| {
            let c2 = c2.clone();
            async move {
                c2.unreserve.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ActivityError>(())
            }
        })
        .clock(clock)
        .config(common::fast_config())
        .start();
    (engine, counters)
}

#[tokio::test]
async fn failing_twice_then_succeeding_completes_on_attempt_three_with_policy_waits() {
    let db = common::TestDb::new().await;
    let clock = common::manual_clock();
    let t0 = engine::clock::Clock::now(&clock);
    let (engine, counters) = engine_with(
        common::store(&db).await,
        clock.clone(),
        |attempt| {
            if attempt < 3 {
                Err(ActivityError::retryable(format!(
                    "payment service 503 on attempt {attempt}"
                )))
            } else {
                Ok("receipt-1".to_string())
            }
        },
        policy(0),
    );
    let client = engine.client();
    client.start("order", "r-1", &()).await.unwrap();

    // Attempt 1 fails at t0: describe shows attempt 2 backing off until t0 + 1 s.
    let backing_off = |attempt: u32| {
        let client = client.clone();
        async move {
            let d = client.describe("r-1").await.unwrap();
            d.pending_activities.iter().any(|a| {
                a.name == "charge" && a.attempt == attempt && a.state == ActivityState::BackingOff
            })
        }
    };
    common::eventually("charge backing off before attempt 2", || backing_off(2)).await;
    let d = client.describe("r-1").await.unwrap();
    let charge = &d.pending_activities[0];
    assert_eq!(charge.next_attempt_at, t0 + Span::seconds(1));
    assert_eq!(charge.maximum_attempts, 0);
    let last_error = charge.last_error.clone().unwrap();
    assert_eq!(last_error.message, "payment service 503 on attempt 1");
    let listed = client
        .list(
            &engine::ListFilter {
                backing_off: true,
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(listed.workflows.len(), 1);

    clock.advance(Span::seconds(1));
    common::eventually("charge backing off before attempt 3", || backing_off(3)).await;
    assert_eq!(
        client.describe("r-1").await.unwrap().pending_activities[0].next_attempt_at,
        t0 + Span::seconds(3),
        "second wait is initial interval x coefficient = 2 s"
    );

    clock.advance(Span::seconds(2));
    let done = client
        .wait_closed("r-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed);
    assert_eq!(counters.charge.load(Ordering::SeqCst), 3);
    assert_eq!(counters.unreserve.load(Ordering::SeqCst), 0);

    let history = client.history("r-1", None).await.unwrap();
    let waits: Vec<_> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ActivityAttemptFailed {
                attempt,
                next_attempt_at,
                ..
            } => Some((*attempt, *next_attempt_at - e.time)),
            _ => None,
        })
        .collect();
    assert_eq!(waits, vec![(1, Span::seconds(1)), (2, Span::seconds(2))]);
    assert!(
        history
            .iter()
            .any(|e| matches!(e.kind, EventKind::ActivityCompleted { attempt: 3, .. }))
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn non_retryable_error_fails_at_once_and_compensation_runs() {
    let db = common::TestDb::new().await;
    let (engine, counters) = engine_with(
        common::store(&db).await,
        common::manual_clock(),
        |_| {
            Err(ActivityError::non_retryable(
                "CardDeclined",
                "the card was declined",
            ))
        },
        policy(0),
    );
    let client = engine.client();
    client.start("order", "r-2", &()).await.unwrap();
    let done = client
        .wait_closed("r-2", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Failed);
    let error = done.error.unwrap();
    assert_eq!(
        (error.kind.as_str(), error.message.as_str()),
        ("CardDeclined", "the card was declined")
    );
    assert_eq!(counters.charge.load(Ordering::SeqCst), 1, "never retried");
    assert_eq!(
        counters.unreserve.load(Ordering::SeqCst),
        1,
        "compensated once"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn error_kind_listed_as_non_retryable_in_the_policy_is_not_retried() {
    let db = common::TestDb::new().await;
    let (engine, counters) = engine_with(
        common::store(&db).await,
        common::manual_clock(),
        |_| {
            Err(ActivityError::of_kind(
                "CardDeclined",
                "declined (retryable by the activity, not by policy)",
            ))
        },
        policy(0),
    );
    let client = engine.client();
    client.start("order", "r-3", &()).await.unwrap();
    let done = client
        .wait_closed("r-3", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Failed);
    assert_eq!(counters.charge.load(Ordering::SeqCst), 1);
    assert_eq!(counters.unreserve.load(Ordering::SeqCst), 1);
    engine.shutdown().await;
}

#[tokio::test]
async fn exhausted_attempts_fail_the_activity_and_compensation_runs() {
    let db = common::TestDb::new().await;
    let clock = common::manual_clock();
    let (engine, counters) = engine_with(
        common::store(&db).await,
        clock.clone(),
        |attempt| Err(ActivityError::retryable(format!("still down ({attempt})"))),
        policy(3),
    );
    let client = engine.client();
    client.start("order", "r-4", &()).await.unwrap();
    for _ in 0..200 {
        if client.get("r-4").await.unwrap().status.is_closed() {
            break;
        }
        clock.advance(Span::seconds(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = client
        .wait_closed("r-4", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Failed);
    assert_eq!(done.error.unwrap().message, "still down (3)");
    assert_eq!(
        counters.charge.load(Ordering::SeqCst),
        3,
        "maximum attempts counts the first"
    );
    assert_eq!(counters.unreserve.load(Ordering::SeqCst), 1);
    let history = client.history("r-4", None).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| matches!(e.kind, EventKind::ActivityFailed { attempt: 3, .. }))
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried() {
    let db = common::TestDb::new().await;
    let clock = common::manual_clock();
    let options = ActivityOptions {
        start_to_close_timeout: Duration::from_millis(100),
        retry: RetryPolicy {
            initial_interval: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        ..ActivityOptions::default()
    };
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let engine = Engine::builder_shared(common::store(&db).await)
        .workflow("slow", |ctx: WorkflowContext, _: ()| async move {
            Ok::<u32, WorkflowError>(ctx.activity("slow_once", &()).await?)
        })
        .activity_with("slow_once", options, move |ctx: ActivityContext, _: ()| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                if ctx.attempt() == 1 {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                Ok::<_, ActivityError>(ctx.attempt())
            }
        })
        .clock(clock.clone())
        .config(common::fast_config())
        .start();
    let client = engine.client();
    client.start("slow", "t-1", &()).await.unwrap();
    common::eventually("first attempt timed out", || {
        let client = client.clone();
        async move {
            client.history("t-1", None).await.unwrap().iter().any(|e| {
                matches!(
                    &e.kind,
                    EventKind::ActivityAttemptFailed { error, .. } if error.kind == "Timeout"
                )
            })
        }
    })
    .await;
    clock.advance(Span::seconds(1));
    let done = client
        .wait_closed("t-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.result, Some(serde_json::json!(2)));
    engine.shutdown().await;
}
