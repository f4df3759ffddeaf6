//! Bad input gets a typed, clearly worded error and changes nothing.
mod common;

use engine::store::sqlite::SqliteStore;
use engine::{Engine, Error, ListFilter, WorkflowContext, WorkflowError};
use serde::Deserialize;

#[derive(Deserialize)]
struct Order {
    #[allow(dead_code)]
    quantity: u32,
}

async fn order(_: WorkflowContext, _: Order) -> Result<(), WorkflowError> {
    Ok(())
}

#[tokio::test]
async fn unknown_type_bad_input_and_bad_ids_are_refused_and_create_nothing() {
    let db = common::TestDb::new().await;
    let engine = Engine::builder_shared(common::store(&db).await)
        .workflow("order", order)
        .config(common::fast_config())
        .start();
    let client = engine.client();
    let err = client
        .start("nope", "x-1", &serde_json::json!({"quantity": 1}))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::UnknownWorkflowType(t) if t == "nope"));
    assert_eq!(err.to_string(), "unknown workflow type `nope`");

    let err = client
        .start("order", "x-2", &serde_json::json!({"quantity": "many"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("invalid input for workflow `order`"),
        "{err}"
    );

    for id in ["", "bad\nid", &"x".repeat(300)] {
        let err = client
            .start("order", id, &serde_json::json!({"quantity": 1}))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
    assert!(matches!(
        client.describe("missing").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        client.history("missing", None).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        client.cancel("missing", "r").await,
        Err(Error::NotFound(_))
    ));
    let page = client.list(&ListFilter::default(), None, 10).await.unwrap();
    assert!(page.workflows.is_empty(), "nothing was created");
    engine.shutdown().await;
}

#[tokio::test]
async fn an_activity_nobody_registered_fails_the_call_not_the_process() {
    let db = common::TestDb::new().await;
    let engine = Engine::builder_shared(common::store(&db).await)
        .workflow("calls_missing", |ctx: WorkflowContext, _: ()| async move {
            let _: () = ctx.activity("not_registered", &()).await?;
            Ok::<_, WorkflowError>(())
        })
        .config(common::fast_config())
        .start();
    let client = engine.client();
    client.start("calls_missing", "m-1", &()).await.unwrap();
    let done = client
        .wait_closed("m-1", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.error.unwrap().kind, "UnknownActivity");
    engine.shutdown().await;
}

#[tokio::test]
async fn unwritable_or_corrupt_database_paths_give_open_errors() {
    let err = SqliteStore::open("sqlite:///proc/steadfast-forbidden/db.sqlite")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, Error::Open { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("cannot open the database sqlite:///proc/"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.db");
    let garbage = vec![0x5au8; 8192];
    std::fs::write(&path, &garbage).unwrap();
    let err = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, Error::Open { .. }), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file was left as it was"
    );

    let err = SqliteStore::open("mysql://nope").await.err().unwrap();
    assert!(matches!(err, Error::Open { .. }), "{err}");

    // The writer and the readers have connections of their own, which an
    // in-memory database cannot share.
    let err = SqliteStore::open("sqlite::memory:").await.err().unwrap();
    assert!(matches!(err, Error::Open { .. }), "{err}");
    assert!(err.to_string().contains("in-memory"), "{err}");
}

#[tokio::test]
async fn a_database_from_a_newer_steadfast_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/newer.db", dir.path().display());
    let store = SqliteStore::open(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', 1, x'00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.pool().close().await;
    drop(store);
    let err = SqliteStore::open(&url).await.err().unwrap();
    assert!(
        matches!(
            err,
            Error::SchemaTooNew {
                found: 99990101000000,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("newer than this Steadfast understands"),
        "{err}"
    );
}
