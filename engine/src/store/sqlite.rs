//! The embedded backend: one SQLite file in WAL mode, fsync on every commit
//! (`synchronous = FULL`), for one process on one machine.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::Notify;

use super::sql::{Dialect, check_schema_version, sql_store};
use super::sqlite_commit::Committer;
use crate::error::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The SQLite [`Store`](super::Store).
///
/// ```no_run
/// # async fn demo() -> Result<(), engine::Error> {
/// use engine::store::sqlite::SqliteStore;
/// let store = SqliteStore::open("sqlite://data/steadfast.db").await?; // created if missing
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    /// For reads, claims and heartbeats.
    pool: SqlitePool,
    /// For the group commits (see `store::sqlite_commit`).
    committer: Committer,
}

impl SqliteStore {
    const DIALECT: Dialect = Dialect { skip_locked: "" };
    /// SQLite has one writer at a time.
    const WRITERS: usize = 1;

    /// Opens (creating if missing) the database file at `url`
    /// (`sqlite://path`), creates its folder, and migrates the schema. (Not
    /// an in-memory database: the writer has a connection of its own.)
    /// A database written by a newer Steadfast is refused with
    /// [`Error::SchemaTooNew`] and left untouched.
    pub async fn open(url: &str) -> Result<Self> {
        let open_error = |message: String| Error::Open {
            url: url.to_string(),
            message,
        };
        if !url.starts_with("sqlite:") {
            return Err(open_error("a SQLite URL starts with `sqlite:`".into()));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| open_error(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let path = options.get_filename().to_path_buf();
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(open_error(
                "an in-memory database cannot be shared by the writer and the readers; name a file"
                    .into(),
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_error(format!("cannot create {}: {e}", dir.display())))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| open_error(e.to_string()))?;
        migrate(&pool).await.map_err(|e| match e {
            Error::SchemaTooNew { .. } => e,
            other => open_error(other.to_string()),
        })?;
        let committer = Committer::start(&path).map_err(|e| open_error(e.to_string()))?;
        Ok(Self { pool, committer })
    }

    /// The connection pool (for tools that read the same file).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Claims and heartbeats share the readers' pool.
    fn queue(&self) -> &SqlitePool {
        &self.pool
    }

    async fn commit_batch(
        &self,
        batch: Arc<[super::Transition]>,
        lease: Option<&super::LeaseGrant>,
    ) -> Result<Vec<super::Outcome>> {
        self.committer.commit(batch, lease).await
    }

    fn wakeups(&self) -> Option<Arc<Notify>> {
        None
    }
}

/// Applies pending migrations; refuses a schema newer than this build's.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<()> {
    let has_table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if has_table.is_some() {
        let found: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(pool)
            .await?;
        check_schema_version(&MIGRATOR, found)?;
    }
    MIGRATOR.run(pool).await?;
    Ok(())
}

sql_store!(SqliteStore, sqlx::Sqlite);
