//! Replay: concurrent operations replay the same way, changed code is caught
//! as non-determinism, and a long workflow costs linear work.
mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use engine::{
    ActivityContext, ActivityError, Engine, EventKind, WorkerConfig, WorkflowContext,
    WorkflowError, WorkflowStatus,
};

async fn echo(ctx: ActivityContext, n: u64) -> Result<String, ActivityError> {
    Ok(format!("{}={n}", ctx.name()))
}

/// Runs two activities at once, races a third against a timer, then sleeps.
async fn fan_out(ctx: WorkflowContext, _: ()) -> Result<Vec<String>, WorkflowError> {
    let (a, b) = futures::join!(
        ctx.activity::<_, String>("a", &1u64),
        ctx.activity::<_, String>("b", &2u64)
    );
    let raced = match futures::future::select(
        ctx.activity::<_, String>("c", &3u64),
        ctx.sleep(Duration::from_secs(3600)),
    )
    .await
    {
        futures::future::Either::Left((c, _)) => c?,
        futures::future::Either::Right(_) => "timer".to_string(),
    };
    let id = ctx.uuid();
    ctx.sleep(Duration::from_secs(7200)).await?;
    let same_id = ctx.uuid() != id;
    Ok(vec![a?, b?, raced, same_id.to_string()])
}

fn fan_out_engine(store: Arc<dyn engine::store::Store>, config: WorkerConfig) -> Engine {
    Engine::builder_shared(store)
        .workflow("fan_out", fan_out)
        .activity("a", echo)
        .activity("b", echo)
        .activity("c", echo)
        .config(config)
        .start()
}

#[tokio::test]
async fn join_and_select_replay_identically_after_a_restart() {
    let db = common::TestDb::new().await;
    let engine = fan_out_engine(common::store(&db).await, common::fast_config());
    let client = engine.client();
    client.start("fan_out", "j-1", &()).await.unwrap();
    common::eventually("waiting on the last timer", || {
        let client = client.clone();
        async move {
            client
                .describe("j-1")
                .await
                .unwrap()
                .pending_timers
                .iter()
                .any(|t| t.seq == 6)
        }
    })
    .await;
    engine.shutdown().await;
    // Fresh process: the instance is rebuilt from history by replay.
    let engine = fan_out_engine(common::store(&db).await, common::fast_config());
    let client = engine.client();
    client.fire_timer_now("j-1", 6).await.unwrap();
    let done = client
        .wait_closed("j-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed, "{:?}", done.error);
    assert_eq!(
        done.result,
        Some(serde_json::json!(["a=1", "b=2", "c=3", "true"]))
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn without_a_cache_every_step_replays_and_still_completes() {
    let db = common::TestDb::new().await;
    let config = WorkerConfig {
        cache_capacity: 0,
        ..common::fast_config()
    };
    let engine = fan_out_engine(common::store(&db).await, config);
    let client = engine.client();
    client.start("fan_out", "j-2", &()).await.unwrap();
    common::eventually("waiting on the last timer", || {
        let client = client.clone();
        async move {
            client
                .describe("j-2")
                .await
                .unwrap()
                .pending_timers
                .iter()
                .any(|t| t.seq == 6)
        }
    })
    .await;
    client.fire_timer_now("j-2", 6).await.unwrap();
    let done = client
        .wait_closed("j-2", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed, "{:?}", done.error);
    engine.shutdown().await;
}

#[tokio::test]
async fn changed_code_stops_with_a_non_determinism_error() {
    let db = common::TestDb::new().await;
    let v1 = Engine::builder_shared(common::store(&db).await)
        .workflow("evolving", |ctx: WorkflowContext, _: ()| async move {
            let _: String = ctx.activity("a", &1u64).await?;
            ctx.sleep(Duration::from_secs(3600)).await?;
            Ok::<_, WorkflowError>(())
        })
        .activity("a", echo)
        .config(common::fast_config())
        .start();
    let client = v1.client();
    client.start("evolving", "nd-1", &()).await.unwrap();
    common::eventually("sleeping", || {
        let client = client.clone();
        async move {
            !client
                .describe("nd-1")
                .await
                .unwrap()
                .pending_timers
                .is_empty()
        }
    })
    .await;
    v1.shutdown().await;

    // A deployment changed the first step: replay must notice.
    let v2 = Engine::builder_shared(common::store(&db).await)
        .workflow("evolving", |ctx: WorkflowContext, _: ()| async move {
            let _: String = ctx.activity("b", &1u64).await?;
            ctx.sleep(Duration::from_secs(3600)).await?;
            Ok::<_, WorkflowError>(())
        })
        .activity("b", echo)
        .config(common::fast_config())
        .start();
    let client = v2.client();
    client.fire_timer_now("nd-1", 2).await.unwrap();
    let done = client
        .wait_closed("nd-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Failed);
    let error = done.error.unwrap();
    assert_eq!(error.kind, "NonDeterminism");
    assert!(
        error.message.contains("activity `b`") && error.message.contains("activity `a`"),
        "{}",
        error.message
    );
    let described = client.describe("nd-1").await.unwrap();
    assert_eq!(described.workflow.error.unwrap().kind, "NonDeterminism");
    let history = client.history("nd-1", None).await.unwrap();
    assert!(
        matches!(&history.last().unwrap().kind, EventKind::WorkflowFailed { error } if error.kind == "NonDeterminism")
    );
    assert!(
        !history
            .iter()
            .any(|e| matches!(&e.kind, EventKind::ActivityScheduled { name, .. } if name == "b")),
        "never silently continued"
    );
    v2.shutdown().await;
}

#[tokio::test]
async fn a_thousand_sequential_steps_cost_linear_history_reads() {
    const STEPS: u64 = 1_000;
    let db = common::TestDb::new().await;
    let counting = Arc::new(common::Instrumented::new(common::store(&db).await));
    let engine = Engine::builder_shared(counting.clone())
        .workflow("long", |ctx: WorkflowContext, steps: u64| async move {
            let mut last = String::new();
            for i in 0..steps {
                last = ctx.activity("a", &i).await?;
            }
            Ok::<_, WorkflowError>(last)
        })
        .activity("a", echo)
        .config(common::fast_config())
        .start();
    let client = engine.client();
    client.start("long", "long-1", &STEPS).await.unwrap();
    let done = client
        .wait_closed("long-1", Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(
        done.result,
        Some(serde_json::json!(format!("a={}", STEPS - 1)))
    );
    let history_len = client.history("long-1", None).await.unwrap().len() as u64;
    let read = counting.events_read.load(Ordering::SeqCst) - history_len;
    // Each workflow task is handed over with the events whose commit made
    // it, so the cached instance reads next to nothing (reading only what
    // is new would be ~STEPS; replaying from the start every time would
    // read ~STEPS^2 = 1,000,000).
    assert!(
        read < STEPS / 10,
        "history events read: {read} for {STEPS} steps"
    );
    // The start committed with the first workflow task, and each activity's
    // outcome with the workflow task it woke: the instance stayed cached in
    // this process. Every one, the first included: the first activity is
    // handed over by the start's commit and usually finishes before the
    // start's caller has kept the instance (999 of 1,000 without the wait).
    assert_eq!(counting.eager_starts.load(Ordering::SeqCst), 1);
    let eager = counting.eager_commits.load(Ordering::SeqCst);
    assert_eq!(eager, STEPS, "outcomes committed eagerly");
    engine.shutdown().await;
}
