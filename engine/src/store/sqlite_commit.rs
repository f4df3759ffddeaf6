//! How SQLite commits a batch of transitions: on a connection of its own,
//! on a thread of its own, with cached prepared statements.
//!
//! Why not through sqlx like every read: sqlx-sqlite runs each statement on
//! its worker thread and answers through a channel, and a batch needs a few
//! hundred row operations (load the rows, write them back); as sqlx calls
//! these cost most of a batch's time, as calls into SQLite in place they
//! cost a few microseconds each. [`Batch`] plans the batch exactly as for
//! PostgreSQL; only how rows are loaded and written differs.
//!
//! The transaction begins `IMMEDIATE`, taking SQLite's write lock before the
//! loads, so the rows read stay true until the commit.

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::store::batch::{Batch, Indexed};
use crate::store::rows::{INSERT_RUN, TASK_COLUMNS, TaskRow, WORKFLOW_COLUMNS, WorkflowRow};
use crate::store::sqlite_cache::{Cache, Cached};
use crate::store::{LeaseGrant, Outcome, Transition};

type Outcomes = Vec<Outcome>;

struct Job {
    batch: Arc<[Transition]>,
    lease: Option<LeaseGrant>,
    reply: oneshot::Sender<Result<Outcomes>>,
}

/// A handle to the writer thread; the thread ends when the last handle is
/// dropped.
#[derive(Clone)]
pub(crate) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Opens the database file at `path` (already migrated) for writing and
    /// starts the writer thread.
    pub(crate) fn start(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The commit that crosses this many WAL pages copies them into the
        // database file, and every transition of its batch waits for that.
        // At SQLite's default (1,000 pages, 4 MB) that happened every ~15
        // batches; at 8,000 (32 MB of WAL) the same pages are copied once
        // for many rewrites: about 9% more workflows/s in interleaved runs
        // against the default (BENCHMARKS.md).
        conn.pragma_update(None, "wal_autocheckpoint", 8000)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("steadfast-sqlite-writer".into())
            .spawn(move || {
                let mut cache = Cache::default();
                for job in queue {
                    let outcome = commit(&mut conn, &mut cache, &job.batch, job.lease.as_ref());
                    if outcome.is_err() {
                        cache.clear();
                    }
                    let _ = job.reply.send(outcome);
                }
            })
            .map_err(|e| Error::Corrupt(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Applies `batch` in one transaction on the writer thread; see
    /// [`Store::commit_leasing`](super::Store::commit_leasing).
    pub(crate) async fn commit(
        &self,
        batch: Arc<[Transition]>,
        lease: Option<&LeaseGrant>,
    ) -> Result<Outcomes> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                batch,
                lease: lease.cloned(),
                reply,
            })
            .map_err(|_| Error::ShuttingDown)?;
        answer.await.map_err(|_| Error::ShuttingDown)?
    }
}

fn commit(
    conn: &mut Connection,
    cache: &mut Cache,
    batch: &[Transition],
    lease: Option<&LeaseGrant>,
) -> Result<Outcomes> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    cache.check(&tx)?;
    let mut created = Vec::new();
    let mut heads = Vec::new();
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO workflows (id, run, workflow_type, status, input, version, \
             inputs_through, created_at, updated_at) VALUES (?1, 1, ?2, 'running', ?3, 0, 0, ?4, ?4) \
             ON CONFLICT (id) DO NOTHING",
        )?;
        for row in Batch::new_workflows(batch) {
            if insert.execute(params![
                row.id,
                row.workflow_type,
                row.input,
                row.created_at
            ])? == 1
            {
                // Inserted just now, with no tasks yet: nothing to load.
                created.push(row.id.clone());
                heads.push(row);
            }
        }
    }
    let ids = Batch::workflow_ids(batch);
    let mut tasks = Vec::new();
    {
        let mut head = tx.prepare_cached(&format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = ?1"
        ))?;
        let mut of_workflow = tx.prepare_cached(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE workflow_id = ?1"
        ))?;
        for id in &ids {
            if created.contains(id) {
                continue;
            }
            if let Some(cached) = cache.take(id) {
                heads.push(cached.row);
                tasks.extend(cached.tasks);
                continue;
            }
            if let Some(row) = head.query_row([id], workflow_row).optional()? {
                heads.push(row);
            }
            for task in of_workflow.query_map([id], task_row)? {
                tasks.push(task?);
            }
        }
        let mut by_id =
            tx.prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"))?;
        for id in Batch::released_task_ids(batch) {
            if let Some(task) = by_id.query_row([id], task_row).optional()? {
                // The batch changes a task of a workflow it may not load:
                // what the cache holds of that workflow would go stale.
                cache.take(&task.workflow_id);
                tasks.push(task);
            }
        }
    }
    tasks.sort_by_key(|t| t.id);
    tasks.dedup_by_key(|t| t.id);
    let mut plan = Batch::new(heads, tasks, created)?;
    plan.apply_all(batch, lease)?;
    write(&tx, &mut plan)?;
    tx.commit()?;
    let outcomes = plan.finish();
    cache.keep(
        plan.into_rows()
            .into_iter()
            .map(|(row, tasks)| Cached { row, tasks }),
    );
    Ok(outcomes)
}

/// The `UPDATE` of a workflow row's columns that no index holds, plus
/// `indexed` (the `SET` items of those that changed), keyed by `?1`.
macro_rules! update_workflow {
    ($indexed:literal) => {
        concat!(
            "UPDATE workflows SET run = ?2, result = ?3, error = ?4, cancel_requested = ?5, \
             current_step = ?6, retry_mode = ?7, version = ?8, inputs_through = ?9, \
             updated_at = ?10, closed_at = ?11",
            $indexed,
            " WHERE id = ?1"
        )
    };
}

/// Writes what the batch changed, a cached statement per kind of row.
fn write(tx: &rusqlite::Transaction<'_>, batch: &mut Batch<'_>) -> Result<()> {
    let mut insert_event = tx.prepare_cached(
        "INSERT INTO events (workflow_id, run, id, last_id, kind, payload, time) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for e in batch.event_rows() {
        insert_event.execute(params![
            e.workflow_id,
            e.run,
            e.id,
            e.last_id,
            e.kind,
            e.payload,
            e.time
        ])?;
    }
    // Before the inserts: a batch may drop a workflow task and create the
    // next one under the same key.
    let mut delete_task = tx.prepare_cached("DELETE FROM tasks WHERE id = ?1")?;
    for id in batch.deleted_tasks() {
        delete_task.execute([id])?;
    }
    let mut update_task = tx.prepare_cached(
        "UPDATE tasks SET lease_token = ?1, due_at = ?2, attempt = ?3, last_error = ?4, \
         last_failed_at = ?5 WHERE id = ?6",
    )?;
    for t in batch.changed_tasks() {
        update_task.execute(params![
            t.lease_token,
            t.due_at,
            t.attempt,
            t.last_error,
            t.last_failed_at,
            t.id
        ])?;
    }
    let mut insert_task = tx.prepare_cached(
        "INSERT INTO tasks (kind, workflow_id, run, seq, name, input, options, attempt, \
         max_attempts, timeout_ms, due_at, lease_token, scheduled_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
         ON CONFLICT (workflow_id, run, kind, seq) DO NOTHING",
    )?;
    let mut assigned = Vec::new();
    for t in batch.new_tasks() {
        let inserted = insert_task.execute(params![
            t.kind,
            t.workflow_id,
            t.run,
            t.seq,
            t.name,
            t.input,
            t.options,
            t.attempt,
            t.max_attempts,
            t.timeout_ms,
            t.due_at,
            t.lease_token,
            t.scheduled_at
        ])?;
        if inserted == 1 {
            let key = (t.workflow_id.clone(), t.run, t.kind.clone(), t.seq);
            assigned.push((key, tx.last_insert_rowid()));
        }
    }
    for ((workflow_id, run, kind, seq), id) in assigned {
        batch.assign_task_id((workflow_id, run, &kind, seq), id)?;
    }
    // Three updates: most transitions change no column an index holds, a
    // close changes only `status`, and SQLite rewrites the entries of every
    // index whose columns an update sets, changed or not (`created_at` is in
    // all three listing indexes).
    let mut update_plain = tx.prepare_cached(update_workflow!(""))?;
    let mut update_status = tx.prepare_cached(update_workflow!(", status = ?12"))?;
    let mut update_indexed =
        tx.prepare_cached(update_workflow!(", status = ?12, created_at = ?13"))?;
    for changed in batch.changed_workflows() {
        let w = changed.row;
        let common = params![
            w.id,
            w.run,
            w.result,
            w.error,
            w.cancel_requested,
            w.current_step,
            w.retry_mode,
            w.version,
            w.inputs_through,
            w.updated_at,
            w.closed_at
        ];
        let (update, indexed): (_, &[&dyn ToSql]) = match changed.indexed {
            Indexed::Unchanged => (&mut update_plain, &[]),
            Indexed::Status => (&mut update_status, &[&w.status]),
            Indexed::StatusAndCreated => (&mut update_indexed, &[&w.status, &w.created_at]),
        };
        let updated = update.execute(params_from_iter(common.iter().chain(indexed)))?;
        if updated != 1 {
            return Err(Error::Corrupt(format!(
                "workflow `{}` left the batch",
                w.id
            )));
        }
    }
    let mut insert_run = tx.prepare_cached(INSERT_RUN)?;
    for r in batch.closed_runs() {
        insert_run.execute(params![
            r.id,
            r.run,
            r.status,
            r.error,
            r.retry_mode,
            r.created_at,
            r.closed_at
        ])?;
    }
    // One writer per database: one row per counter.
    let mut count = tx.prepare_cached(
        "INSERT INTO workflow_counts (status, shard, n) VALUES (?1, 0, ?2) \
         ON CONFLICT (status, shard) DO UPDATE SET n = n + excluded.n",
    )?;
    for (status, n) in batch.count_deltas() {
        count.execute(params![status, n])?;
    }
    let mut per_minute = tx.prepare_cached(
        "INSERT INTO workflow_minutes (minute, outcome, shard, n) VALUES (?1, ?2, 0, ?3) \
         ON CONFLICT (minute, outcome, shard) DO UPDATE SET n = n + excluded.n",
    )?;
    for (minute, outcome, n) in batch.minute_deltas() {
        per_minute.execute(params![minute, outcome, n])?;
    }
    Ok(())
}

fn workflow_row(r: &Row<'_>) -> rusqlite::Result<WorkflowRow> {
    Ok(WorkflowRow {
        id: r.get(0)?,
        run: r.get(1)?,
        workflow_type: r.get(2)?,
        status: r.get(3)?,
        input: r.get(4)?,
        result: r.get(5)?,
        error: r.get(6)?,
        cancel_requested: r.get(7)?,
        current_step: r.get(8)?,
        retry_mode: r.get(9)?,
        version: r.get(10)?,
        inputs_through: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        closed_at: r.get(14)?,
    })
}

fn task_row(r: &Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        workflow_id: r.get(2)?,
        run: r.get(3)?,
        seq: r.get(4)?,
        name: r.get(5)?,
        input: r.get(6)?,
        options: r.get(7)?,
        attempt: r.get(8)?,
        max_attempts: r.get(9)?,
        timeout_ms: r.get(10)?,
        due_at: r.get(11)?,
        lease_token: r.get(12)?,
        last_error: r.get(13)?,
        last_failed_at: r.get(14)?,
        scheduled_at: r.get(15)?,
    })
}
