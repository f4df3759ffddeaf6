//! Crash recovery with real processes. A child process runs hundreds of
//! workflows (activities in flight, retries backing off, timers pending) and
//! is killed with SIGKILL at random moments, several times; a last process on
//! the same database finishes every workflow. An idempotent sink, keyed by
//! the activities' idempotency keys, shows each effect exactly once.
//!
//! The child is this same test binary running the ignored test
//! `crash_child`, configured through environment variables.
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine::{
    ActivityContext, ActivityError, ActivityOptions, Engine, EventKind, ListFilter, RetryPolicy,
    WorkerConfig, WorkflowContext, WorkflowError, WorkflowStatus,
};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

const WORKFLOWS: usize = 200;

async fn sink_pool(path: &str) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .expect("sink");
    sqlx::query("CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .execute(&pool)
        .await
        .expect("effects table");
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS attempts (key TEXT NOT NULL, attempt INTEGER NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("attempts table");
    pool
}

/// The downstream effect: recorded once per key; a repeated key returns the
/// first answer.
async fn effect(pool: &SqlitePool, ctx: &ActivityContext) -> Result<String, ActivityError> {
    let key = ctx.idempotency_key();
    let value = format!("{}@{}", ctx.name(), ctx.attempt());
    sqlx::query("INSERT INTO attempts (key, attempt) VALUES ($1, $2)")
        .bind(&key)
        .bind(ctx.attempt() as i64)
        .execute(pool)
        .await
        .map_err(|e| ActivityError::retryable(e.to_string()))?;
    sqlx::query("INSERT INTO effects (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(&key)
        .bind(&value)
        .execute(pool)
        .await
        .map_err(|e| ActivityError::retryable(e.to_string()))?;
    sqlx::query_scalar("SELECT value FROM effects WHERE key = $1")
        .bind(&key)
        .fetch_one(pool)
        .await
        .map_err(|e| ActivityError::retryable(e.to_string()))
}

/// a -> short durable sleep -> b (first attempt fails for some) -> c.
async fn crashy(ctx: WorkflowContext, n: u64) -> Result<Vec<String>, WorkflowError> {
    let a: String = ctx.activity("a", &n).await?;
    ctx.sleep(Duration::from_millis(50 + (n * 37) % 400))
        .await?;
    let b: String = ctx.activity("b", &n).await?;
    let c: String = ctx.activity("c", &n).await?;
    Ok(vec![a, b, c])
}

fn options() -> ActivityOptions {
    ActivityOptions {
        start_to_close_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            initial_interval: Duration::from_millis(100),
            maximum_interval: Some(Duration::from_millis(500)),
            ..RetryPolicy::default()
        },
        ..ActivityOptions::default()
    }
}

#[tokio::test]
#[ignore = "run as a child process by killed_processes_lose_nothing_and_repeat_no_effect"]
async fn crash_child() {
    let (Ok(db), Ok(sink)) = (std::env::var("CRASH_DB"), std::env::var("CRASH_SINK")) else {
        return;
    };
    let store = common::open(&db).await;
    let sink = sink_pool(&sink).await;
    let activity = |sink: SqlitePool, flaky: bool| {
        move |ctx: ActivityContext, n: u64| {
            let sink = sink.clone();
            async move {
                // Some first attempts fail, so retries are backing off when the kill comes.
                if flaky && ctx.attempt() == 1 && n.is_multiple_of(3) {
                    return Err(ActivityError::retryable("flaky first attempt"));
                }
                tokio::time::sleep(Duration::from_millis(n % 20)).await;
                effect(&sink, &ctx).await
            }
        }
    };
    let engine = Engine::builder_shared(store)
        .workflow("crashy", crashy)
        .activity_with("a", options(), activity(sink.clone(), false))
        .activity_with("b", options(), activity(sink.clone(), true))
        .activity_with("c", options(), activity(sink.clone(), false))
        .config(WorkerConfig {
            lease: Duration::from_secs(1),
            poll_interval: Duration::from_millis(50),
            workflow_concurrency: 32,
            activity_concurrency: 64,
            ..WorkerConfig::default()
        })
        .start();
    let client = engine.client();
    // Starting is idempotent, so every incarnation may (re)submit all of them.
    use futures::StreamExt;
    futures::stream::iter(0..WORKFLOWS as u64)
        .map(|n| {
            let client = client.clone();
            async move {
                client
                    .start("crashy", &format!("crash-{n}"), &n)
                    .await
                    .expect("start")
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    eprintln!("child {}: all started", std::process::id());
    tokio::time::sleep(Duration::from_secs(600)).await;
}

struct Killer(Child);

impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(db: &str, sink: &str) -> Killer {
    let exe = std::env::current_exe().expect("test binary");
    let child = Command::new(exe)
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CRASH_DB", db)
        .env("CRASH_SINK", sink)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    Killer(child)
}

#[tokio::test]
async fn killed_processes_lose_nothing_and_repeat_no_effect() {
    let db = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let sink_path = dir.path().join("sink.db").display().to_string();
    let store = common::store(&db).await;

    // Several incarnations, each SIGKILLed at a random moment.
    for round in 0..5 {
        let child = spawn_child(&db.url, &sink_path);
        let pause = rand::random_range(300..2_500u64);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        drop(child); // SIGKILL, then reap
        let counts = store
            .counts(&ListFilter::default(), chrono::Utc::now())
            .await
            .unwrap();
        eprintln!("round {round}: killed after {pause} ms; {counts:?}");
    }

    // A last incarnation finishes everything.
    let child = spawn_child(&db.url, &sink_path);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let counts = store
            .counts(&ListFilter::default(), chrono::Utc::now())
            .await
            .unwrap();
        if counts.completed as usize == WORKFLOWS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all workflows finished: {counts:?}"
        );
        assert_eq!(
            counts.failed + counts.cancelled + counts.terminated,
            0,
            "{counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(child);

    let sink = sink_pool(&sink_path).await;
    let mut expected_keys = Vec::new();
    for n in 0..WORKFLOWS {
        let id = format!("crash-{n}");
        let record = store.workflow(&id).await.unwrap().expect("workflow kept");
        assert_eq!(
            (record.run, record.status),
            (1, WorkflowStatus::Completed),
            "{id}"
        );
        let history = store.history(&id, 1, 0).await.unwrap();
        let count =
            |pred: &dyn Fn(&EventKind) -> bool| history.iter().filter(|e| pred(&e.kind)).count();
        assert_eq!(
            count(&|k| matches!(k, EventKind::WorkflowStarted { .. })),
            1,
            "{id}"
        );
        assert_eq!(
            count(&|k| matches!(k, EventKind::WorkflowCompleted { .. })),
            1,
            "{id}: completed once"
        );
        for seq in [1u32, 3, 4] {
            assert_eq!(
                count(&|k| matches!(k, EventKind::ActivityScheduled { seq: s, .. } if *s == seq)),
                1,
                "{id}: activity {seq} scheduled once"
            );
            assert_eq!(
                count(&|k| matches!(k, EventKind::ActivityCompleted { seq: s, .. } if *s == seq)),
                1,
                "{id}: activity {seq} completed once"
            );
            expected_keys.push(format!("{id}/1/{seq}"));
        }
        // The result carries what the sink answered for each key.
        let result: Vec<String> = serde_json::from_value(record.result.unwrap()).unwrap();
        for (seq, value) in [1u32, 3, 4].iter().zip(&result) {
            let stored: String = sqlx::query_scalar("SELECT value FROM effects WHERE key = $1")
                .bind(format!("{id}/1/{seq}"))
                .fetch_one(&sink)
                .await
                .unwrap();
            assert_eq!(&stored, value, "{id}/{seq}");
        }
    }
    let mut keys: Vec<String> = sqlx::query_scalar("SELECT key FROM effects")
        .fetch_all(&sink)
        .await
        .unwrap();
    keys.sort();
    expected_keys.sort();
    assert_eq!(
        keys, expected_keys,
        "exactly one effect per idempotency key, none extra"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempts")
        .fetch_one(&sink)
        .await
        .unwrap();
    eprintln!("{} effects from {attempts} attempts", keys.len());
    assert!(attempts as usize >= keys.len());
}
