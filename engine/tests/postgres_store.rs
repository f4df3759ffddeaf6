//! What only the PostgreSQL store has: several processes sharing one
//! database. Two stores opened on one database stand for two processes (each
//! has its own pool and listener).
//!
//! These tests need `STEADFAST_TEST_BACKEND=postgres` and a server (see
//! `tests/common`); otherwise they print why and pass. Opening an
//! unreachable server needs no server and always runs.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Span;
use engine::clock::Timestamp;
use engine::store::postgres::PostgresStore;
use engine::store::{
    Applied, Handoff, LeaseGrant, NewTask, Store, Transition, WorkflowTaskOutcome,
};
use engine::{ActivityOptions, EventKind};
use engine::{Counts, Error, ListFilter};
use sqlx::{Connection, Executor};
use tokio::sync::{Barrier, Notify};

fn skipped(test: &str) -> bool {
    let skip = !testkit::is_postgres();
    if skip {
        eprintln!("skipping {test}: set STEADFAST_TEST_BACKEND=postgres to run it");
    }
    skip
}

fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().expect("valid time")
}

/// Starts `n` workflows, each with a workflow task due at [`now`].
async fn start_workflows(store: &PostgresStore, n: usize) {
    let starts: Vec<Transition> = (0..n)
        .map(|i| Transition::Start {
            id: format!("wf-{i:04}"),
            workflow_type: "t".into(),
            input: serde_json::json!(i),
            first_task: None,
            now: now(),
        })
        .collect();
    let applied = store.commit(&starts).await.expect("start workflows");
    assert!(applied.iter().all(|a| *a == Applied::Started { run: 1 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_claiming_concurrently_get_disjoint_tasks() {
    if skipped("two_stores_claiming_concurrently_get_disjoint_tasks") {
        return;
    }
    let db = common::TestDb::new().await;
    let a = Arc::new(PostgresStore::open(&db.url).await.unwrap());
    let b = Arc::new(PostgresStore::open(&db.url).await.unwrap());
    start_workflows(&a, 200).await;

    // Four claimers per store, released together, each taking a few tasks
    // at a time until none is left.
    const CLAIMERS: usize = 4;
    let barrier = Arc::new(Barrier::new(2 * CLAIMERS));
    let mut claimers = Vec::new();
    for (name, store) in [("a", a.clone()), ("b", b.clone())] {
        for i in 0..CLAIMERS {
            let store = store.clone();
            let barrier = barrier.clone();
            claimers.push(tokio::spawn(async move {
                let owner = format!("{name}{i}");
                store
                    .next_due(engine::store::TaskKind::Workflow)
                    .await
                    .unwrap();
                barrier.wait().await;
                let mut claimed = Vec::new();
                loop {
                    let tasks = store
                        .claim_workflow_tasks(&owner, now(), Duration::from_secs(60), 3)
                        .await
                        .expect("claim");
                    if tasks.is_empty() {
                        return (name, claimed);
                    }
                    claimed.extend(tasks);
                    tokio::task::yield_now().await;
                }
            }));
        }
    }
    let mut ids = HashSet::new();
    let mut workflows = HashSet::new();
    let mut per_store = [0usize; 2];
    for claimer in claimers {
        let (name, claimed) = claimer.await.unwrap();
        per_store[usize::from(name == "b")] += claimed.len();
        for task in claimed {
            assert!(task.task.lease_token.starts_with(name));
            assert!(
                ids.insert(task.task.id),
                "task {} claimed twice",
                task.task.id
            );
            assert!(workflows.insert(task.workflow_id));
        }
    }
    eprintln!(
        "claimed by store a: {}, by store b: {}",
        per_store[0], per_store[1]
    );
    assert_eq!(ids.len(), 200, "every due task is claimed exactly once");
    assert_eq!(workflows.len(), 200);
}

#[tokio::test]
async fn a_claim_skips_tasks_locked_by_another_claim() {
    if skipped("a_claim_skips_tasks_locked_by_another_claim") {
        return;
    }
    let db = common::TestDb::new().await;
    let store = PostgresStore::open(&db.url).await.unwrap();
    start_workflows(&store, 20).await;

    // Another process is in the middle of claiming five tasks.
    let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut tx = other.begin().await.unwrap();
    let locked: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM tasks ORDER BY due_at, id LIMIT 5 FOR UPDATE")
            .fetch_all(&mut *tx)
            .await
            .unwrap();

    let claimed = tokio::time::timeout(
        Duration::from_secs(5),
        store.claim_workflow_tasks("me", now(), Duration::from_secs(60), 100),
    )
    .await
    .expect("a claim does not wait for locked rows")
    .unwrap();
    assert_eq!(claimed.len(), 15);
    assert!(claimed.iter().all(|t| !locked.contains(&t.task.id)));

    tx.rollback().await.unwrap();
    let rest = store
        .claim_workflow_tasks("me", now(), Duration::from_secs(60), 100)
        .await
        .unwrap();
    let mut rest: Vec<i64> = rest.iter().map(|t| t.task.id).collect();
    rest.sort();
    let mut locked = locked;
    locked.sort();
    assert_eq!(rest, locked);
}

/// Waits up to `limit` for a wake-up.
async fn woken(notify: &Notify, limit: Duration) -> bool {
    tokio::time::timeout(limit, notify.notified()).await.is_ok()
}

/// A start whose workflow task is left for any worker to claim.
fn start(i: usize) -> Transition {
    Transition::Start {
        id: format!("wf-{i}"),
        workflow_type: "t".into(),
        input: serde_json::Value::Null,
        first_task: None,
        now: now(),
    }
}

/// Two stores on a new database (returned too: it must outlive them), and
/// the second's wake-ups, once it has heard the first.
async fn listening_pair() -> (common::TestDb, PostgresStore, PostgresStore, Arc<Notify>) {
    let db = common::TestDb::new().await;
    let a = PostgresStore::open(&db.url).await.unwrap();
    let b = PostgresStore::open(&db.url).await.unwrap();
    let wakeups = b.external_wakeups().expect("PostgreSQL has wake-ups");
    until_heard(&a, &wakeups, 0).await;
    (db, a, b, wakeups)
}

/// Commits starts to `a` until `b`, whose wake-ups are `wakeups`, hears
/// one (its listener connects in the background), then forgets the
/// wake-ups still pending. Starts ids from `from` on.
async fn until_heard(a: &PostgresStore, wakeups: &Notify, from: usize) {
    for i in from..from + 50 {
        a.commit(&[start(i)]).await.unwrap();
        if woken(wakeups, Duration::from_millis(200)).await {
            while woken(wakeups, Duration::from_millis(300)).await {}
            return;
        }
    }
    panic!("b never heard a's commits");
}

#[tokio::test]
async fn a_commit_in_one_store_wakes_the_other() {
    if skipped("a_commit_in_one_store_wakes_the_other") {
        return;
    }
    let (_db, a, b, wakeups) = listening_pair().await;

    // b's own commits do not wake b (its workers are woken in-process).
    b.commit(&[start(1000)]).await.unwrap();
    assert!(!woken(&wakeups, Duration::from_millis(500)).await);

    // a's commit does, promptly.
    let notified = wakeups.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    let sent = Instant::now();
    a.commit(&[start(1001)]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), notified)
        .await
        .expect("b is woken by a's commit");
    eprintln!("woken {:?} after a's commit", sent.elapsed());
}

#[tokio::test]
async fn work_handed_off_to_its_committer_wakes_no_other_process() {
    if skipped("work_handed_off_to_its_committer_wakes_no_other_process") {
        return;
    }
    let (_db, a, _b, wakeups) = listening_pair().await;

    // An eager start: its first workflow task ran in a and scheduled an
    // activity, which the commit leases to a.
    let lease = LeaseGrant {
        token: "a:1".into(),
        until: now() + Span::seconds(30),
    };
    let eager = Transition::Start {
        id: "eager".into(),
        workflow_type: "t".into(),
        input: serde_json::Value::Null,
        first_task: Some(WorkflowTaskOutcome {
            events: vec![
                EventKind::WorkflowTaskCompleted {
                    consumed_through: 1,
                },
                EventKind::ActivityScheduled {
                    seq: 1,
                    name: "act".into(),
                    input: serde_json::Value::Null,
                    options: ActivityOptions::default(),
                },
            ],
            new_tasks: vec![NewTask::Activity {
                seq: 1,
                name: "act".into(),
                input: serde_json::Value::Null,
                options: ActivityOptions::default(),
            }],
            cancelled: vec![],
            current_step: None,
            closing: None,
        }),
        now: now(),
    };
    let outcomes = a
        .commit_leasing(vec![eager].into(), Some(&lease))
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0].handoffs.as_slice(), [Handoff::Activity(_)]),
        "the activity is handed to a"
    );
    assert!(
        !woken(&wakeups, Duration::from_millis(500)).await,
        "nothing b could claim, so no wake-up"
    );
    // b still hears work it could take.
    a.commit(&[start(1000)]).await.unwrap();
    assert!(woken(&wakeups, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn the_listener_reconnects_after_losing_its_connection() {
    if skipped("the_listener_reconnects_after_losing_its_connection") {
        return;
    }
    let (db, a, _b, wakeups) = listening_pair().await;
    // Kill every listening connection of this database.
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "found the listeners");
    // b listens again and hears a.
    until_heard(&a, &wakeups, 100).await;
    // Heard for real, not just the wake-up that follows a reconnection.
    a.commit(&[start(1000)]).await.unwrap();
    assert!(
        woken(&wakeups, Duration::from_secs(5)).await,
        "b hears a again"
    );
    let _ = admin.close().await;
}

#[tokio::test]
async fn dropping_the_store_ends_its_background_tasks_and_connections() {
    if skipped("dropping_the_store_ends_its_background_tasks_and_connections") {
        return;
    }
    let db = common::TestDb::new().await;
    let store = PostgresStore::open(&db.url).await.unwrap();
    start_workflows(&store, 3).await;
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let others = "SELECT COUNT(*) FROM pg_stat_activity \
                  WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let mut listening = 0i64;
    for _ in 0..250 {
        listening = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if listening == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listening, 1, "the store listens");
    drop(store);
    for _ in 0..250 {
        let left: i64 = sqlx::query_scalar(others)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        if left == 0 {
            let _ = admin.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the dropped store's connections are still open");
}

#[tokio::test]
async fn several_processes_opening_at_once_migrate_once() {
    if skipped("several_processes_opening_at_once_migrate_once") {
        return;
    }
    let db = common::TestDb::new().await;
    let opened = futures::future::join_all((0..6).map(|_| PostgresStore::open(&db.url))).await;
    for store in opened {
        store.expect("every concurrent open succeeds");
    }
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/postgres"
    ))
    .unwrap()
    .count();
    assert_eq!(applied as usize, files);
    let _ = conn.close().await;
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    if skipped("a_newer_schema_is_refused") {
        return;
    }
    let db = common::TestDb::new().await;
    drop(PostgresStore::open(&db.url).await.unwrap());
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    conn.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', TRUE, '\\x00', 0)",
    )
    .await
    .unwrap();
    let _ = conn.close().await;
    match PostgresStore::open(&db.url).await {
        Err(Error::SchemaTooNew { found, .. }) => assert_eq!(found, 99990101000000),
        Err(other) => panic!("expected SchemaTooNew, got {other}"),
        Ok(_) => panic!("expected SchemaTooNew, the store opened"),
    }
}

#[tokio::test]
async fn ids_compare_by_code_point_in_prefix_search_and_paging() {
    if skipped("ids_compare_by_code_point_in_prefix_search_and_paging") {
        return;
    }
    let db = common::TestDb::new().await;
    let store = PostgresStore::open(&db.url).await.unwrap();
    let ids = [
        "ab",
        "ab-1",
        "abZ",
        "ab\u{e9}",
        "ab\u{1F600}",
        "aB",
        "Ab",
        "a",
        "ac",
        "b",
    ];
    let starts: Vec<Transition> = ids
        .iter()
        .map(|id| Transition::Start {
            id: id.to_string(),
            workflow_type: "t".into(),
            input: serde_json::Value::Null,
            first_task: None,
            now: now(),
        })
        .collect();
    store.commit(&starts).await.unwrap();
    let filter = ListFilter {
        id_prefix: Some("ab".into()),
        ..ListFilter::default()
    };
    // Newest first, then by id descending, two per page.
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list(&filter, cursor.as_ref(), 2, now())
            .await
            .unwrap();
        listed.extend(page.workflows.into_iter().map(|w| w.id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        listed,
        ["ab\u{1F600}", "ab\u{e9}", "abZ", "ab-1", "ab"],
        "code point order, as in SQLite"
    );
    let counts = store.counts(&filter, now()).await.unwrap();
    assert_eq!(
        counts,
        Counts {
            running: 5,
            ..Counts::default()
        }
    );
}

#[tokio::test]
async fn a_missing_database_fails_to_open() {
    if skipped("a_missing_database_fails_to_open") {
        return;
    }
    let db = common::TestDb::new().await;
    let (server, _) = db.url.rsplit_once('/').unwrap();
    let url = format!("{server}/steadfast_test_missing");
    match PostgresStore::open(&url).await {
        Err(Error::Open { message, .. }) => {
            assert!(message.contains("does not exist"), "{message}")
        }
        Err(other) => panic!("expected Error::Open, got {other}"),
        Ok(_) => panic!("a store opened on a missing database"),
    }
}

/// Needs no server: nothing listens on port 1.
#[tokio::test]
async fn an_unreachable_server_fails_to_open_quickly() {
    let began = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        PostgresStore::open("postgres://postgres:secret@127.0.0.1:1/steadfast"),
    )
    .await
    .expect("open gives up by itself");
    let elapsed = began.elapsed();
    match result {
        Err(Error::Open { url, message }) => {
            assert!(!url.contains("secret"), "the password is not shown: {url}");
            eprintln!("refused after {elapsed:?}: {message}");
        }
        Err(other) => panic!("expected Error::Open, got {other}"),
        Ok(_) => panic!("a store opened on port 1"),
    }
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
}

/// Needs no server: a socket that accepts connections and never answers
/// stands for a server that hangs (or a network that drops packets).
#[tokio::test]
async fn a_server_that_never_answers_fails_to_open_within_the_connect_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let accepting = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let began = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        PostgresStore::open(&format!("postgres://postgres@127.0.0.1:{port}/steadfast")),
    )
    .await
    .expect("open gives up by itself");
    let elapsed = began.elapsed();
    match result {
        Err(Error::Open { message, .. }) => eprintln!("gave up after {elapsed:?}: {message}"),
        Err(other) => panic!("expected Error::Open, got {other}"),
        Ok(_) => panic!("a store opened on a silent socket"),
    }
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    accepting.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_workflow_commits_without_rereading_its_deleted_task_rows() {
    if skipped("a_long_workflow_commits_without_rereading_its_deleted_task_rows") {
        return;
    }
    const STEPS: u32 = 300;
    let db = common::TestDb::new().await;
    let store = Arc::new(PostgresStore::open(&db.url).await.unwrap());
    let engine = engine::Engine::builder_shared(store.clone())
        .workflow(
            "long",
            |ctx: engine::WorkflowContext, steps: u32| async move {
                for i in 0..steps {
                    let _: u32 = ctx.activity("step", &i).await?;
                }
                Ok::<_, engine::WorkflowError>(steps)
            },
        )
        .activity("step", |_, i: u32| async move {
            Ok::<_, engine::ActivityError>(i)
        })
        .config(common::fast_config())
        .start();
    let client = engine.client();
    client.start("long", "long-1", &STEPS).await.unwrap();
    let done = client
        .wait_closed("long-1", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(done.result, Some(serde_json::json!(STEPS)));
    engine.shutdown().await;
    drop(client);
    drop(engine);
    drop(store);
    // Each step deletes its task row, and until autovacuum (not within this
    // test) the index keeps an entry per step under the workflow's id. Every
    // commit loads the workflow's task rows: a bitmap scan visits the dead
    // entries each time (21.5 per load here, growing with the steps), a
    // plain index scan marks them and skips them (1.0). A backend reports
    // its counts when it exits, or after 10 s idle: wait up to 30 s.
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut read_per_scan = None;
    for _ in 0..300 {
        let (scans, read): (i64, i64) = sqlx::query_as(
            "SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes \
             WHERE indexrelname = 'tasks_workflow_id_run_kind_seq_key'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if scans >= i64::from(STEPS) {
            read_per_scan = Some(read as f64 / scans as f64);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut admin)
            .await;
    }
    let _ = admin.close().await;
    let read_per_scan = read_per_scan.expect("the writers' index scans were reported");
    assert!(
        read_per_scan < 10.0,
        "{read_per_scan:.1} index entries read per load of a {STEPS}-step workflow's tasks"
    );
}
