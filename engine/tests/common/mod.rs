//! What the engine tests share: a store of the backend under test, a
//! controllable clock, and a short-lease worker configuration.
//!
//! The backend comes from `STEADFAST_TEST_BACKEND` (`sqlite`, the default,
//! or `postgres`), so the same suite runs against both.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use engine::WorkerConfig;
use engine::clock::ManualClock;
use engine::store::Store;
use engine::store::postgres::PostgresStore;
use engine::store::sqlite::SqliteStore;

/// A fresh, empty database of the backend under test; the guard removes it.
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match backend().as_str() {
            "postgres" => postgres_url(&dir).await,
            _ => format!("sqlite://{}/engine.db", dir.path().display()),
        };
        Self { url, _dir: dir }
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        open(&self.url).await
    }
}

pub fn backend() -> String {
    std::env::var("STEADFAST_TEST_BACKEND").unwrap_or_else(|_| "sqlite".into())
}

/// Opens the store at `url` with whichever backend the URL names.
pub async fn open(url: &str) -> Arc<dyn Store> {
    if url.starts_with("postgres") {
        open_postgres(url).await
    } else {
        Arc::new(SqliteStore::open(url).await.expect("open sqlite store"))
    }
}

async fn open_postgres(url: &str) -> Arc<dyn Store> {
    Arc::new(PostgresStore::open(url).await.expect("open postgres store"))
}

/// The server the PostgreSQL tests use (trust authentication), without a
/// database; `STEADFAST_TEST_POSTGRES` overrides it.
fn postgres_server() -> String {
    std::env::var("STEADFAST_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Creates a fresh PostgreSQL database for one test and returns its URL.
/// [`TestDb`] drops it again.
async fn postgres_url(_dir: &tempfile::TempDir) -> String {
    use sqlx::{Connection, Executor};
    let server = postgres_server();
    let name = format!("steadfast_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("connect to PostgreSQL at {server}: {e}"));
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    let _ = admin.close().await;
    format!("{server}/{name}")
}

/// Drops a test database made by [`postgres_url`], disconnecting whoever
/// still uses it. Runs on a thread of its own: `Drop` cannot await.
fn drop_postgres_db(url: &str) {
    let Some(name) = url
        .rsplit('/')
        .next()
        .filter(|n| n.starts_with("steadfast_test_"))
    else {
        return;
    };
    let admin = format!("{}/postgres", postgres_server());
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let dropped = std::thread::spawn(move || {
        use sqlx::{Connection, Executor};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            conn.execute(sqlx::AssertSqlSafe(sql)).await?;
            conn.close().await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
    })
    .join();
    if let Ok(Err(e)) = dropped {
        eprintln!("cannot drop test database {name}: {e}");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.url.starts_with("postgres") {
            drop_postgres_db(&self.url);
        }
    }
}

/// A clock at a fixed, round moment.
pub fn manual_clock() -> ManualClock {
    ManualClock::new("2026-01-01T00:00:00Z".parse().expect("valid time"))
}

/// Workers that notice expired leases and new work quickly.
pub fn fast_config() -> WorkerConfig {
    WorkerConfig {
        lease: Duration::from_secs(5),
        poll_interval: Duration::from_millis(20),
        ..WorkerConfig::default()
    }
}

/// Waits (bounded) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}
