//! The shared backend: one PostgreSQL database for many worker and server
//! processes on many machines.
//!
//! Claims lock the tasks they take with `FOR UPDATE SKIP LOCKED`, so
//! concurrent claimers never wait for each other nor take the same task;
//! transitions lock the workflow row they change (and the task row whose
//! lease they check), so one history is appended to by one transaction at a
//! time.
//!
//! Wake-ups cross processes with `LISTEN/NOTIFY` on the channel
//! [`CHANNEL`]: after each commit that leaves work another process could
//! claim, a background task sends one notification (commits made while one
//! is being sent are coalesced into the next), and a
//! second background task listens on a dedicated connection, reconnecting
//! after a loss, and notifies [`Store::external_wakeups`](super::Store::external_wakeups).
//! Workers still poll, so a lost notification only delays work. Both tasks
//! end when the last clone of the store is dropped.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::sql::{Dialect, check_schema_version, sql_store};
use crate::error::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The channel on which commits announce possible new work.
pub const CHANNEL: &str = "steadfast_work";

/// Most connections the store's pool for reads opens.
const MAX_CONNECTIONS: u32 = 10;
/// Most connections for claims, heartbeats and due times. The writers have
/// one each, and the listener one: a process opens at most 17.
const QUEUE_CONNECTIONS: u32 = 4;
/// How long opening one connection may take before the store gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a query may wait for a free connection of the pool.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest pause between attempts to re-establish the listener.
const MAX_LISTEN_BACKOFF: Duration = Duration::from_secs(5);

/// The PostgreSQL [`Store`](super::Store).
///
/// ```no_run
/// # async fn demo() -> Result<(), engine::Error> {
/// use engine::store::postgres::PostgresStore;
/// let store = PostgresStore::open("postgres://steadfast@db.internal/steadfast").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Connections for claims, heartbeats and due times (see [`PostgresStore::open`]).
    queue_pool: PgPool,
    /// The writers' connections, one each, so that a commit never waits
    /// for one behind claims or heartbeats.
    commit_pool: PgPool,
    background: Arc<Background>,
}

/// The notifier and listener tasks, and what they share with the store.
struct Background {
    /// Set by each commit that leaves unleased work; the notifier sends one
    /// NOTIFY per wake-up.
    announce: Arc<Notify>,
    /// Notified when another process announces work.
    wakeups: Arc<Notify>,
    tasks: Vec<AbortHandle>,
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl PostgresStore {
    const DIALECT: Dialect = Dialect {
        skip_locked: " FOR UPDATE SKIP LOCKED",
    };
    /// Batches committed at once: while one waits for its commit to reach
    /// the disk, the other is loaded and written. (Measured on two cores
    /// with the server local: 1 writer 625 workflows/s, 2 writers 702, 4
    /// writers ~490; again with a connection per writer, 2 writers
    /// 2,469–2,608 and 3 writers 2,143–2,509. More writers make smaller
    /// batches, which pay each commit's work more often.)
    const WRITERS: usize = 2;

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`,
    /// which must exist) and migrates the schema; processes starting
    /// together migrate one at a time (the migrator holds an advisory
    /// lock). An unreachable server fails with [`Error::Open`] within a few
    /// seconds; a database written by a newer Steadfast is refused with
    /// [`Error::SchemaTooNew`] and left untouched.
    ///
    /// Must be called within a Tokio runtime: the store runs two background
    /// tasks (see the [module documentation](self)).
    pub async fn open(url: &str) -> Result<Self> {
        let open_error = |message: String| Error::Open {
            url: redact(url),
            message,
        };
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| open_error(e.to_string()))?
            .application_name("steadfast");

        // One connection first: it fails fast with the server's own reason
        // (refused, unknown database, authentication) where a pool would
        // retry until its timeout, and it runs the migrations.
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
            .await
            .map_err(|_| open_error(format!("no connection within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| open_error(e.to_string()))?;
        migrate(&mut conn).await.map_err(|e| match e {
            Error::SchemaTooNew { .. } => e,
            other => open_error(other.to_string()),
        })?;
        let _ = conn.close().await;

        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone());
        // Commits, claims and heartbeats address rows by key or by the due
        // index, so a whole-table scan is never their best plan; but a
        // connection plans a prepared statement once and keeps the plan,
        // and a plan made while a table was small scans it whole.
        // `workflows` grows from empty on a new database, and `tasks`
        // churns (a step inserts and deletes a row): between autovacuum
        // passes it holds thousands of dead rows, which such a scan would
        // read on every commit and claim. Their connections therefore plan
        // without sequential scans; reads (listing, searching) keep theirs.
        let queue_options = options.clone().options([("enable_seqscan", "off")]);
        let queue_pool = PgPoolOptions::new()
            .max_connections(QUEUE_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(queue_options.clone());
        let commit_pool = PgPoolOptions::new()
            .max_connections(Self::WRITERS as u32)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(queue_options.options([("enable_bitmapscan", "off")]));
        // The listener keeps its connection for good, outside the pool that
        // queries share.
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options);

        // Tells this store's own notifications apart from other processes'.
        let origin = uuid::Uuid::new_v4().simple().to_string();
        let announce = Arc::new(Notify::new());
        let wakeups = Arc::new(Notify::new());
        let notifier = tokio::spawn(notify_loop(pool.clone(), announce.clone(), origin.clone()));
        let listener = tokio::spawn(listen_loop(listen_pool, wakeups.clone(), origin));
        Ok(Self {
            pool,
            queue_pool,
            commit_pool,
            background: Arc::new(Background {
                announce,
                wakeups,
                tasks: vec![notifier.abort_handle(), listener.abort_handle()],
            }),
        })
    }

    /// The connection pool (for tools that read the same database).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn queue(&self) -> &PgPool {
        &self.queue_pool
    }

    fn wakeups(&self) -> Option<Arc<Notify>> {
        Some(self.background.wakeups.clone())
    }

    async fn commit_batch(
        &self,
        batch: Arc<[super::Transition]>,
        lease: Option<&super::LeaseGrant>,
    ) -> Result<Vec<super::Outcome>> {
        let committed = super::postgres_commit::commit(&self.commit_pool, &batch, lease).await?;
        // Work another process could take (a task due now or at a time it
        // must wait for, a released lease): wake the notifier, which sends
        // the NOTIFY off the commit path. Work handed off to this process
        // needs none: this process's workers are woken in-process, and
        // other processes take it only after its lease runs out, which
        // their polling finds.
        if committed.unleased_work {
            self.background.announce.notify_one();
        }
        Ok(committed.outcomes)
    }
}

/// Applies pending migrations; refuses a schema newer than this build's.
async fn migrate(conn: &mut PgConnection) -> Result<()> {
    let has_table: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
            .fetch_one(&mut *conn)
            .await?;
    if has_table.is_some() {
        let found: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?;
        check_schema_version(&MIGRATOR, found)?;
    }
    // Takes `pg_advisory_lock` for the database while it migrates.
    MIGRATOR.run(conn).await?;
    Ok(())
}

/// Sends one NOTIFY per wake-up of `announce`; commits made meanwhile leave
/// one pending wake-up, so a burst of commits costs two notifications.
async fn notify_loop(pool: PgPool, announce: Arc<Notify>, origin: String) {
    loop {
        announce.notified().await;
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&origin)
            .execute(&pool)
            .await
        {
            // Other processes fall back to polling.
            tracing::debug!(error = %e, "cannot announce new work");
        }
    }
}

/// Listens on [`CHANNEL`] and wakes `wakeups` for each notification from
/// another store, and after a reconnection (notifications sent while the
/// connection was down are lost).
async fn listen_loop(pool: PgPool, wakeups: Arc<Notify>, origin: String) {
    let wake = || {
        // Wake every idle worker loop, and the next one to go idle.
        wakeups.notify_waiters();
        wakeups.notify_one();
    };
    let mut backoff = Duration::from_millis(100);
    let mut listener: Option<PgListener> = None;
    let mut lost = false;
    loop {
        if listener.is_none() {
            let connected = match PgListener::connect_with(&pool).await {
                Ok(mut l) => l.listen(CHANNEL).await.map(|()| l),
                Err(e) => Err(e),
            };
            match connected {
                Ok(l) => {
                    backoff = Duration::from_millis(100);
                    listener = Some(l);
                    if std::mem::take(&mut lost) {
                        wake();
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "cannot listen for new work; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_LISTEN_BACKOFF);
                    continue;
                }
            }
        }
        let Some(active) = listener.as_mut() else {
            continue;
        };
        match active.try_recv().await {
            Ok(Some(notification)) => {
                if notification.payload() != origin {
                    wake();
                }
            }
            // The connection was lost and has been re-established.
            Ok(None) => wake(),
            Err(e) => {
                // Start over with a new connection after a pause.
                tracing::debug!(error = %e, "listening for new work failed; reconnecting");
                listener = None;
                lost = true;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_LISTEN_BACKOFF);
            }
        }
    }
}

/// `url` without its password, for error messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

sql_store!(PostgresStore, sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db?sslmode=require"),
            "postgres://u:***@h:5432/db?sslmode=require"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("not a url"), "not a url");
    }
}
