//! A SQLite database written by an earlier schema opens under the current
//! one with its histories intact (migration `0003_events_append` rebuilds
//! `events` as an append-ordered table).

use std::borrow::Cow;
use std::path::Path;

use engine::EventKind;
use engine::store::Store;
use engine::store::sqlite::SqliteStore;
use sqlx::migrate::Migrator;

#[tokio::test]
async fn histories_written_before_append_ordered_events_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let history = [
        EventKind::WorkflowStarted {
            workflow_type: "order".into(),
            input: serde_json::json!({"item": "sku-1"}),
            retry_of_run: None,
            resume: vec![],
        },
        EventKind::WorkflowTaskCompleted {
            consumed_through: 1,
        },
        EventKind::WorkflowCompleted {
            result: serde_json::json!("done"),
        },
    ];
    {
        // The schema as it was before 0003, written the way the engine did.
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/sqlite"));
        let mut earlier = Migrator::new(dir).await.unwrap();
        let before: Vec<_> = earlier
            .migrations
            .iter()
            .filter(|m| m.version < 3)
            .cloned()
            .collect();
        earlier.migrations = Cow::Owned(before);
        earlier.run(&pool).await.unwrap();
        // Written out of order across workflows, as concurrent commits do.
        for (workflow, ids) in [("old-2", [1, 2, 3]), ("old-1", [1, 2, 3])] {
            for (id, kind) in ids.into_iter().zip(&history) {
                sqlx::query(
                    "INSERT INTO events (workflow_id, run, id, kind, payload, time) \
                     VALUES (?, 1, ?, ?, ?, ?)",
                )
                .bind(workflow)
                .bind(id)
                .bind(kind.name())
                .bind(serde_json::to_string(kind).unwrap())
                .bind(1_700_000_000_000_i64 + id)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
        pool.close().await;
    }

    let store = SqliteStore::open(&url).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let index: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    assert_eq!(index.as_deref(), Some("events_by_workflow"), "0003 ran");
    pool.close().await;
    for workflow in ["old-1", "old-2"] {
        let read = store.history(workflow, 1, 0).await.unwrap();
        assert_eq!(read.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            read.iter().map(|e| e.kind.name()).collect::<Vec<_>>(),
            history.iter().map(EventKind::name).collect::<Vec<_>>()
        );
        let after_first = store.history(workflow, 1, 1).await.unwrap();
        assert_eq!(after_first.len(), 2);
    }
}
