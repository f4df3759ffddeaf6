//! The benchmark's database: where it is (a SQLite file in a temporary
//! folder by default, or the URL given), the engine's store on it, its
//! durability settings as the store's own connections report them, and its
//! size on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use engine::store::Store;
use engine::store::postgres::PostgresStore;
use engine::store::sqlite::SqliteStore;
use serde::Serialize;

/// Which engine store backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Where the benchmark keeps its data.
pub struct Location {
    pub url: String,
    pub backend: Backend,
    /// The data folder (SQLite files, the server's secrets).
    pub dir: PathBuf,
    temp: Option<tempfile::TempDir>,
}

impl Location {
    /// The given URL and folder, or a SQLite file in a new temporary folder.
    pub fn new(database_url: Option<&str>, data_dir: Option<&Path>) -> anyhow::Result<Self> {
        let (dir, temp) = match data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                (dir.to_path_buf(), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("steadfast-bench-")
                    .tempdir()
                    .context("creating a temporary folder")?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let url = database_url
            .map(str::to_string)
            .unwrap_or_else(|| format!("sqlite://{}/steadfast.db", dir.display()));
        Ok(Self {
            backend: Backend::of_url(&url),
            url,
            dir,
            temp,
        })
    }

    /// Keeps the temporary folder on disk after the run.
    pub fn keep(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = temp.keep();
        }
    }

    /// The URL without its password.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }

    /// The SQLite file, when the backend is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        (self.backend == Backend::Sqlite).then(|| sqlite_path(&self.url))
    }

    /// The URL of the simulated services' database in http mode: a SQLite
    /// file beside the engine's, or the same PostgreSQL database (as `serve`).
    pub fn services_url(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}/services.db", self.dir.display()),
            Backend::Postgres => self.url.clone(),
        }
    }

    /// Whether the database server runs on this machine (its CPU can be read).
    pub fn is_local_server(&self) -> bool {
        self.backend == Backend::Postgres
            && [
                "@127.0.0.1",
                "@localhost",
                "@[::1]",
                "://127.0.0.1",
                "://localhost",
            ]
            .iter()
            .any(|h| self.url.contains(h))
    }
}

/// The file a `sqlite:` URL names.
pub fn sqlite_path(url: &str) -> PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// Bytes of a SQLite database on disk: the file and its WAL.
pub fn sqlite_bytes(path: &Path) -> u64 {
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    size(path.to_path_buf()) + size(PathBuf::from(wal))
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let auth = &url[scheme + 3..at];
            match auth.find(':') {
                Some(colon) => {
                    format!("{}{}:***{}", &url[..scheme + 3], &auth[..colon], &url[at..])
                }
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The engine's store, by concrete type so that its own connections can be
/// asked about durability and size.
#[derive(Clone)]
pub enum BenchStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// Runs `$body` with `$pool` bound to the store's connection pool.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::bench::database::BenchStore::Sqlite(s) => {
                let $pool = s.pool();
                $body
            }
            $crate::bench::database::BenchStore::Postgres(s) => {
                let $pool = s.pool();
                $body
            }
        }
    };
}
pub(crate) use with_pool;

impl BenchStore {
    /// Opens (and migrates) the store at `url`, as `serve` does.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Ok(match Backend::of_url(url) {
            Backend::Sqlite => BenchStore::Sqlite(SqliteStore::open(url).await?),
            Backend::Postgres => BenchStore::Postgres(PostgresStore::open(url).await?),
        })
    }

    /// The store as the engine takes it.
    pub fn shared(&self) -> Arc<dyn Store> {
        match self {
            BenchStore::Sqlite(s) => Arc::new(s.clone()),
            BenchStore::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// The settings that decide when a commit is durable, read on one of
    /// the store's own connections.
    pub async fn durability(&self) -> anyhow::Result<String> {
        Ok(match self {
            BenchStore::Sqlite(s) => {
                let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(s.pool())
                    .await?;
                let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                    .fetch_one(s.pool())
                    .await?;
                let sync = match sync {
                    0 => "OFF",
                    1 => "NORMAL",
                    2 => "FULL",
                    3 => "EXTRA",
                    _ => "unknown",
                };
                format!("SQLite journal_mode={journal}, synchronous={sync} (fsync on every commit)")
            }
            BenchStore::Postgres(s) => {
                let mut settings = Vec::new();
                for name in ["synchronous_commit", "fsync", "wal_sync_method"] {
                    let value: String =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {name}")))
                            .fetch_one(s.pool())
                            .await?;
                    settings.push(format!("{name}={value}"));
                }
                format!("PostgreSQL {}", settings.join(", "))
            }
        })
    }

    /// Bytes the engine's database takes: the SQLite file and its WAL, or
    /// the PostgreSQL database.
    pub async fn bytes(&self, location: &Location) -> anyhow::Result<u64> {
        Ok(match self {
            BenchStore::Sqlite(_) => location.sqlite_path().map_or(0, |p| sqlite_bytes(&p)),
            BenchStore::Postgres(s) => {
                let n: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(s.pool())
                    .await?;
                n.max(0) as u64
            }
        })
    }

    /// Moves a SQLite WAL's pages into the database file and truncates the
    /// WAL, so that sizes compare (best effort; nothing for PostgreSQL).
    pub async fn checkpoint(&self) {
        if let BenchStore::Sqlite(s) = self {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(s.pool())
                .await;
        }
    }

    /// Closes the store's connections.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/a/b.db?mode=rwc"),
            PathBuf::from("/tmp/a/b.db")
        );
        assert_eq!(sqlite_path("sqlite:data/x.db"), PathBuf::from("data/x.db"));
        assert_eq!(
            redact("postgres://u:pw@127.0.0.1/db"),
            "postgres://u:***@127.0.0.1/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(Backend::of_url("postgresql://h/db"), Backend::Postgres);
    }
}
