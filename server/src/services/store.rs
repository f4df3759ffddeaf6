//! The services' own database: a SQLite file or a PostgreSQL database, each
//! with its own pool and migrations.
//!
//! The SQL is written once: both backends accept `$1` placeholders,
//! `RETURNING` and `ON CONFLICT ... DO NOTHING`, and every integer column is
//! a 64-bit integer on both. The [`with_tx!`] and [`with_pool!`] macros
//! expand one block of sqlx calls for each backend's concrete types.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::Error;

/// The migrations table of the services, apart from the engine's
/// `_sqlx_migrations`, so that both may live in one database.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations_services";

/// A connection pool to one of the two supported backends.
#[derive(Clone, Debug)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects to `url` (`sqlite:...` or `postgres://...`) and applies the
    /// services' migrations.
    pub(crate) async fn connect(url: &str) -> Result<Db, Error> {
        if url.starts_with("sqlite:") {
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            // The file is created if missing; its directory too.
            if !in_memory
                && let Some(dir) = options.get_filename().parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)?;
            }
            // An in-memory database lives as long as its one connection.
            let pool = if in_memory {
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                SqlitePoolOptions::new().max_connections(8)
            }
            .connect_with(options)
            .await?;
            let mut migrator = sqlx::migrate!("../migrations/services/sqlite");
            migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
            migrator.run(&pool).await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect(url)
                .await?;
            let mut migrator = sqlx::migrate!("../migrations/services/postgres");
            migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
            migrator.run(&pool).await?;
            Ok(Db::Postgres(pool))
        } else {
            let scheme = url.split(':').next().unwrap_or_default().to_owned();
            Err(Error::UnsupportedDatabaseUrl(scheme))
        }
    }

    /// Closes every connection of the pool.
    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

/// Runs `$body` inside a write transaction bound to `$tx`, once per backend.
///
/// SQLite transactions start with `BEGIN IMMEDIATE`, taking the write lock
/// up front (waiting up to the busy timeout) so that a transaction never
/// fails to upgrade a read lock. `$body` commits or rolls back itself;
/// returning early (`?`) drops, and so rolls back, the transaction.
macro_rules! with_tx {
    ($db:expr, $tx:ident => $body:expr) => {
        match $db {
            $crate::services::store::Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                $body
            }
            $crate::services::store::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                $body
            }
        }
    };
}

/// Runs `$body` with `$pool` bound to the backend's pool, once per backend.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::services::store::Db::Sqlite($pool) => $body,
            $crate::services::store::Db::Postgres($pool) => $body,
        }
    };
}

pub(crate) use {with_pool, with_tx};

/// Milliseconds since the Unix epoch, as stored in `*_at_ms` columns.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A stored `*_at_ms` value as a UTC time (the epoch if out of range).
pub(crate) fn time_of(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A fresh random identifier: `prefix` then 24 hex digits.
pub(crate) fn new_id(prefix: &str) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &hex[..24])
}
