//! Leases and fences, at the store: a worker whose lease expired and whose
//! task another worker took over cannot commit its stale result.
mod common;

use std::time::Duration;

use chrono::Duration as Span;
use engine::clock::Clock;
use engine::store::{Applied, NewTask, Transition};
use engine::{ActivityOptions, Engine, EventKind, WorkerConfig, WorkflowContext, WorkflowError};

#[tokio::test]
async fn a_worker_past_its_lease_cannot_commit_stale_results() {
    let db = common::TestDb::new().await;
    let store = common::store(&db).await;
    let clock = common::manual_clock();
    let t0 = clock.now();
    // An engine that only accepts starts: the test plays the workers.
    let engine = Engine::builder_shared(store.clone())
        .workflow("w", |_: WorkflowContext, _: ()| async {
            Ok::<_, WorkflowError>(())
        })
        .clock(clock.clone())
        .config(WorkerConfig {
            enabled: false,
            ..WorkerConfig::default()
        })
        .start();
    engine.client().start("w", "fence-1", &()).await.unwrap();
    let lease = Duration::from_secs(10);

    // Worker A claims the workflow task, then stalls past its lease.
    let a = store
        .claim_workflow_tasks("A", t0, lease, 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(
        store
            .claim_workflow_tasks("B", t0 + Span::seconds(9), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let b = store
        .claim_workflow_tasks("B", t0 + Span::seconds(11), lease, 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(a.task.id, b.task.id);
    assert_ne!(a.task.lease_token, b.task.lease_token);

    let schedule = |task: engine::store::TaskRef, name: &str| Transition::CompleteWorkflowTask {
        task,
        workflow_id: "fence-1".into(),
        run: 1,
        consumed_through: 1,
        events: vec![
            EventKind::WorkflowTaskCompleted {
                consumed_through: 1,
            },
            EventKind::ActivityScheduled {
                seq: 1,
                name: name.into(),
                input: serde_json::Value::Null,
                options: ActivityOptions::default(),
            },
        ],
        new_tasks: vec![NewTask::Activity {
            seq: 1,
            name: name.into(),
            input: serde_json::Value::Null,
            options: ActivityOptions::default(),
        }],
        cancelled: vec![],
        current_step: None,
        closing: None,
        now: t0 + Span::seconds(12),
    };
    let stale = store
        .commit(&[schedule(a.task.clone(), "from_a")])
        .await
        .unwrap();
    assert_eq!(stale, vec![Applied::Stale]);
    let fresh = store
        .commit(&[schedule(b.task.clone(), "from_b")])
        .await
        .unwrap();
    assert_eq!(fresh, vec![Applied::Appended { first_event_id: 2 }]);
    let history = store.history("fence-1", 1, 0).await.unwrap();
    assert_eq!(history.len(), 3, "only B's commit landed");
    assert!(
        matches!(&history[2].kind, EventKind::ActivityScheduled { name, .. } if name == "from_b")
    );

    // The same for an activity attempt: C's lease runs out, D takes over.
    let t1 = t0 + Span::seconds(20);
    let c = store
        .claim_activity_tasks("C", t1, lease, 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let lease_end = t1 + Span::seconds(10) + Span::seconds(60); // lease + start-to-close
    assert!(
        store
            .claim_activity_tasks("D", lease_end - Span::seconds(1), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let d = store
        .claim_activity_tasks("D", lease_end, lease, 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(d.attempt, c.attempt);
    assert!(
        !store
            .heartbeat(&c.task, lease_end + Span::seconds(30))
            .await
            .unwrap(),
        "C learns it lost the lease"
    );
    let complete = |task: engine::store::TaskRef, by: &str| Transition::CompleteActivity {
        task,
        workflow_id: "fence-1".into(),
        run: 1,
        outcome: EventKind::ActivityCompleted {
            seq: 1,
            attempt: 1,
            result: serde_json::json!(by),
        },
        now: lease_end,
    };
    assert_eq!(
        store.commit(&[complete(c.task, "C")]).await.unwrap(),
        vec![Applied::Stale]
    );
    assert_eq!(
        store
            .commit(&[complete(d.task.clone(), "D")])
            .await
            .unwrap(),
        vec![Applied::Done]
    );
    assert_eq!(
        store.commit(&[complete(d.task, "D again")]).await.unwrap(),
        vec![Applied::Stale],
        "exactly once"
    );
    let outcomes: Vec<_> = store
        .history("fence-1", 1, 0)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ActivityCompleted { result, .. } => Some(result),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes, vec![serde_json::json!("D")]);
    engine.shutdown().await;
}

#[tokio::test]
async fn one_bad_transition_does_not_undo_its_batch_neighbours() {
    let db = common::TestDb::new().await;
    let store = common::store(&db).await;
    let now = common::manual_clock().now();
    let start = |id: &str| Transition::Start {
        id: id.into(),
        workflow_type: "w".into(),
        input: serde_json::Value::Null,
        first_task: None,
        now,
    };
    let stale = Transition::ReleaseTask {
        task: engine::store::TaskRef {
            id: 999_999,
            lease_token: "nobody".into(),
        },
        now,
    };
    let applied = store
        .commit(&[start("b-1"), stale, start("b-2")])
        .await
        .unwrap();
    assert_eq!(applied[0], Applied::Started { run: 1 });
    assert_eq!(applied[1], Applied::Stale);
    assert_eq!(applied[2], Applied::Started { run: 1 });
    assert!(store.workflow("b-1").await.unwrap().is_some());
    assert!(store.workflow("b-2").await.unwrap().is_some());
}
