//! Test support shared by the test suites: a fresh, empty database of the
//! backend under test, removed again when the test ends.
//!
//! The backend comes from `STEADFAST_TEST_BACKEND` (`sqlite`, the default,
//! or `postgres`), so one suite runs against both; `STEADFAST_TEST_POSTGRES`
//! names the PostgreSQL server (default `postgres://postgres@127.0.0.1:5432`,
//! trust authentication).

use std::path::Path;

/// The backend under test: `sqlite` or `postgres`.
pub fn backend() -> String {
    std::env::var("STEADFAST_TEST_BACKEND").unwrap_or_else(|_| "sqlite".into())
}

/// Whether the suite runs against PostgreSQL.
pub fn is_postgres() -> bool {
    backend() == "postgres"
}

/// The PostgreSQL server the tests use, without a database name.
pub fn postgres_server() -> String {
    std::env::var("STEADFAST_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh database and a temporary folder; both go away on drop.
pub struct TestDb {
    /// The database URL (`sqlite://...` or `postgres://...`).
    pub url: String,
    dir: tempfile::TempDir,
}

impl TestDb {
    /// A fresh database of the backend under test.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = if is_postgres() {
            create_postgres_db().await
        } else {
            format!("sqlite://{}/engine.db", dir.path().display())
        };
        Self { url, dir }
    }

    /// A temporary folder that lives as long as the database.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.url.starts_with("postgres") {
            drop_postgres_db(&self.url);
        }
    }
}

/// Creates a database with a unique name and returns its URL.
async fn create_postgres_db() -> String {
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

/// Drops a test database, disconnecting whoever still uses it. Runs on a
/// thread of its own: `Drop` cannot await.
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
