//! What the engine tests share: a store of the backend under test (see
//! `testkit`: `STEADFAST_TEST_BACKEND` picks SQLite or PostgreSQL, so the
//! same suite runs against both), a controllable clock, and a short-lease
//! worker configuration.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use engine::WorkerConfig;
use engine::clock::ManualClock;
use engine::store::Store;
use engine::store::postgres::PostgresStore;
use engine::store::sqlite::SqliteStore;

pub use testkit::TestDb;

mod instrumented;
#[allow(unused_imports)] // each test binary compiles `common`; not all use it
pub use instrumented::Instrumented;

/// Opens the store of a test database.
pub async fn store(db: &TestDb) -> Arc<dyn Store> {
    open(&db.url).await
}

/// Opens the store at `url` with whichever backend the URL names.
pub async fn open(url: &str) -> Arc<dyn Store> {
    if url.starts_with("postgres") {
        Arc::new(PostgresStore::open(url).await.expect("open postgres store"))
    } else {
        Arc::new(SqliteStore::open(url).await.expect("open sqlite store"))
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
