mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use engine::{
    ActivityContext, ActivityError, Engine, EventKind, Start, WorkflowContext, WorkflowError,
    WorkflowStatus,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Order {
    item: String,
}

async fn step(ctx: ActivityContext, item: String) -> Result<String, ActivityError> {
    Ok(format!("{}:{item}", ctx.name()))
}

async fn order(ctx: WorkflowContext, order: Order) -> Result<Vec<String>, WorkflowError> {
    let reserved: String = ctx.activity("reserve", &order.item).await?;
    let charged: String = ctx.activity("charge", &order.item).await?;
    let shipped: String = ctx.activity("ship", &order.item).await?;
    Ok(vec![reserved, charged, shipped])
}

#[tokio::test]
async fn reserve_charge_ship_completes_with_history_in_order() {
    let db = common::TestDb::new().await;
    let engine = Engine::builder_shared(common::store(&db).await)
        .workflow("order", order)
        .activity("reserve", step)
        .activity("charge", step)
        .activity("ship", step)
        .config(common::fast_config())
        .start();
    let client = engine.client();
    let started = client
        .start(
            "order",
            "o-1",
            &Order {
                item: "sku-1".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        started,
        Start::Started {
            id: "o-1".into(),
            run: 1
        }
    );
    let done = client
        .wait_closed("o-1", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, WorkflowStatus::Completed);
    assert_eq!(
        done.result,
        Some(serde_json::json!([
            "reserve:sku-1",
            "charge:sku-1",
            "ship:sku-1"
        ]))
    );

    let history = client.history("o-1", None).await.unwrap();
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e.kind.name())
        .filter(|k| *k != "WorkflowTaskCompleted")
        .collect();
    assert_eq!(
        kinds,
        [
            "WorkflowStarted",
            "ActivityScheduled",
            "ActivityCompleted",
            "ActivityScheduled",
            "ActivityCompleted",
            "ActivityScheduled",
            "ActivityCompleted",
            "WorkflowCompleted"
        ]
    );
    let names: Vec<String> = history
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ActivityScheduled { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["reserve", "charge", "ship"]);
    assert!(
        history
            .windows(2)
            .all(|w| w[0].id + 1 == w[1].id && w[0].time <= w[1].time)
    );
    let described = client.describe("o-1").await.unwrap();
    assert!(described.pending_activities.is_empty() && described.pending_timers.is_empty());
    engine.shutdown().await;
}

#[tokio::test]
async fn shutdown_while_the_workers_look_for_due_work_returns_at_once() {
    let db = common::TestDb::new().await;
    let store = Arc::new(common::Instrumented::new(common::store(&db).await));
    // Every worker loop finds nothing, then spends 300 ms looking for the
    // next due task: the shutdown below lands inside that look.
    store.next_due_delay_ms.store(300, Ordering::SeqCst);
    let engine = Engine::builder_shared(store.clone())
        .workflow("order", order)
        .config(engine::WorkerConfig {
            poll_interval: Duration::from_secs(120),
            ..common::fast_config()
        })
        .start();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A loop that missed the shutdown would sleep out the poll interval.
    tokio::time::timeout(Duration::from_secs(30), engine.shutdown())
        .await
        .expect("shutdown returned without waiting for the poll interval");
}
