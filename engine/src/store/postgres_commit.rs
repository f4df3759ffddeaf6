//! How PostgreSQL commits a batch of transitions. [`Batch`] plans it; the
//! rows it touches are loaded with one statement per table and written
//! with one statement for all tables ([`WRITE`]), each taking its rows as
//! arrays (`= ANY($1)`, `UNNEST`). The statement texts never change, so
//! each is prepared once per connection, and a batch costs six round trips
//! (`BEGIN`, the starts, two loads, the write, `COMMIT`) whatever its size.
//!
//! The loads lock what they read (`FOR UPDATE`): the workflow rows, so that
//! one history is appended to by one transaction at a time across
//! processes, and the tasks, so that no claim takes a task between the
//! fence check and the commit. Rows are locked in id order, which keeps two
//! batches touching the same workflows from deadlocking.

use sqlx::{Connection, PgConnection, PgPool};

use crate::error::Result;
use crate::store::batch::Batch;
use crate::store::rows::{TASK_COLUMNS, TaskRow, WORKFLOW_COLUMNS, WorkflowRow};
use crate::store::{LeaseGrant, Outcome, Transition};

/// Rows per counter; readers sum them.
const COUNTER_SHARDS: u8 = 16;

/// What a commit did.
pub(crate) struct Committed {
    pub outcomes: Vec<Outcome>,
    /// Whether it left work another process could claim
    /// ([`Batch::leaves_unleased_work`]).
    pub unleased_work: bool,
}

/// Applies `batch` in one transaction; see [`Store::commit_leasing`](super::Store::commit_leasing).
pub(crate) async fn commit(
    pool: &PgPool,
    batch: &[Transition],
    lease: Option<&LeaseGrant>,
) -> Result<Committed> {
    // A commit holds the counter rows it updates until it ends: batches
    // committing at once (this process's writers, other processes) add to
    // one of several rows per counter, so that they rarely queue on one.
    let shard = i64::from(uuid::Uuid::new_v4().as_bytes()[0] % COUNTER_SHARDS);
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let created = insert_started(&mut tx, &Batch::new_workflows(batch)).await?;
    let ids = Batch::workflow_ids(batch);
    let heads: Vec<WorkflowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = ANY($1) ORDER BY id FOR UPDATE"
    )))
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    // The ids first, by plain index scans (the writers' connections plan
    // without bitmap scans): a step deletes its task row, and until
    // autovacuum comes a workflow's key range in the index holds an entry
    // per step it ran. A bitmap scan visits every one of those dead rows on
    // every commit, so a step of a long workflow cost O(steps so far); a
    // plain index scan marks the entries of rows dead to everyone, and
    // later scans skip them.
    let tasks: Vec<TaskRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE id IN ( \
             SELECT id FROM tasks WHERE workflow_id = ANY($1) \
             UNION ALL SELECT unnest($2::BIGINT[])) \
         ORDER BY id FOR UPDATE"
    )))
    .bind(&ids)
    .bind(Batch::released_task_ids(batch))
    .fetch_all(&mut *tx)
    .await?;
    let mut plan = Batch::new(heads, tasks, created)?;
    plan.apply_all(batch, lease)?;
    write(&mut tx, &mut plan, shard).await?;
    tx.commit().await?;
    Ok(Committed {
        unleased_work: plan.leaves_unleased_work(),
        outcomes: plan.finish(),
    })
}

/// One column of `rows`, to bind as an array.
fn column<'r, R, T>(rows: &'r [R], f: impl Fn(&'r R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// Inserts the workflows the batch starts; returns the ids that were new.
async fn insert_started(conn: &mut PgConnection, rows: &[WorkflowRow]) -> Result<Vec<String>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO workflows (id, run, workflow_type, status, input, version, inputs_through, \
         created_at, updated_at) \
         SELECT id, 1, t, 'running', i, 0, 0, c, c \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[]) AS s(id, t, i, c) \
         ON CONFLICT (id) DO NOTHING RETURNING id",
    )
    .bind(column(rows, |w| w.id.as_str()))
    .bind(column(rows, |w| w.workflow_type.as_str()))
    .bind(column(rows, |w| w.input.as_str()))
    .bind(column(rows, |w| w.created_at))
    .fetch_all(&mut *conn)
    .await?)
}

/// Writes what the batch changed in one statement (one round trip): a
/// data-modifying `WITH` part per table, each taking its rows as arrays.
/// Empty arrays write nothing, so the text never changes.
///
/// The parts of one statement run in no set order and do not see each
/// other's rows, with one exception made on purpose: the task insert waits
/// for the task delete (it reads `del`). A batch may drop a workflow task
/// and create the next one under the same key, and the new row would
/// otherwise meet the old one and be dropped by `ON CONFLICT DO NOTHING`.
const WRITE: &str = "WITH \
     ev AS (INSERT INTO events (workflow_id, run, id, last_id, kind, payload, time) \
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], \
         $5::text[], $6::text[], $7::bigint[])), \
     del AS (DELETE FROM tasks WHERE id = ANY($8) RETURNING id), \
     upd AS (UPDATE tasks SET lease_token = u.l, due_at = u.d, attempt = u.a, \
         last_error = u.e, last_failed_at = u.f \
         FROM UNNEST($9::bigint[], $10::text[], $11::bigint[], $12::bigint[], $13::text[], \
         $14::bigint[]) AS u(id, l, d, a, e, f) WHERE tasks.id = u.id), \
     ins AS (INSERT INTO tasks (kind, workflow_id, run, seq, name, input, options, attempt, \
         max_attempts, timeout_ms, due_at, lease_token, scheduled_at) \
         SELECT * FROM UNNEST($15::text[], $16::text[], $17::bigint[], $18::bigint[], \
         $19::text[], $20::text[], $21::text[], $22::bigint[], $23::bigint[], $24::bigint[], \
         $25::bigint[], $26::text[], $27::bigint[]) \
         WHERE (SELECT COUNT(*) FROM del) >= 0 \
         ON CONFLICT (workflow_id, run, kind, seq) DO NOTHING \
         RETURNING id, workflow_id, run, kind, seq), \
     wf AS (INSERT INTO workflows (id, run, workflow_type, status, input, result, error, \
         cancel_requested, current_step, retry_mode, version, inputs_through, created_at, \
         updated_at, closed_at) \
         SELECT * FROM UNNEST($28::text[], $29::bigint[], $30::text[], $31::text[], \
         $32::text[], $33::text[], $34::text[], $35::bigint[], $36::text[], $37::text[], \
         $38::bigint[], $39::bigint[], $40::bigint[], $41::bigint[], $42::bigint[]) \
         ON CONFLICT (id) DO UPDATE SET run = excluded.run, status = excluded.status, \
         result = excluded.result, error = excluded.error, \
         cancel_requested = excluded.cancel_requested, current_step = excluded.current_step, \
         retry_mode = excluded.retry_mode, version = excluded.version, \
         inputs_through = excluded.inputs_through, created_at = excluded.created_at, \
         updated_at = excluded.updated_at, closed_at = excluded.closed_at), \
     runs AS (INSERT INTO workflow_runs \
         (id, run, status, error, retry_mode, created_at, closed_at) \
         SELECT * FROM UNNEST($43::text[], $44::bigint[], $45::text[], $46::text[], \
         $47::text[], $48::bigint[], $49::bigint[])), \
     counts AS (INSERT INTO workflow_counts (status, shard, n) \
         SELECT s, $50, n FROM UNNEST($51::text[], $52::bigint[]) AS u(s, n) \
         ON CONFLICT (status, shard) DO UPDATE SET n = workflow_counts.n + excluded.n), \
     minutes AS (INSERT INTO workflow_minutes (minute, outcome, shard, n) \
         SELECT m, o, $50, n FROM UNNEST($53::bigint[], $54::text[], $55::bigint[]) \
         AS u(m, o, n) \
         ON CONFLICT (minute, outcome, shard) \
         DO UPDATE SET n = workflow_minutes.n + excluded.n) \
     SELECT id, workflow_id, run, kind, seq FROM ins";

/// Writes what the batch changed ([`WRITE`]) and records the ids the new
/// tasks were given.
async fn write(conn: &mut PgConnection, batch: &mut Batch<'_>, shard: i64) -> Result<()> {
    // The columns borrow the batch, which records the ids after.
    let assigned: Vec<(i64, String, i64, String, i64)> = {
        let events = batch.event_rows();
        let changed: Vec<&TaskRow> = batch.changed_tasks().collect();
        let new_tasks = batch.new_tasks();
        let workflows: Vec<&WorkflowRow> =
            batch.changed_workflows().iter().map(|c| c.row).collect();
        let runs = batch.closed_runs();
        let counts = batch.count_deltas();
        let minutes = batch.minute_deltas();
        sqlx::query_as(WRITE)
            .bind(column(&events, |e| e.workflow_id))
            .bind(column(&events, |e| e.run))
            .bind(column(&events, |e| e.id))
            .bind(column(&events, |e| e.last_id))
            .bind(column(&events, |e| e.kind.as_ref()))
            .bind(column(&events, |e| e.payload.as_str()))
            .bind(column(&events, |e| e.time))
            .bind(batch.deleted_tasks())
            .bind(column(&changed, |t| t.id))
            .bind(column(&changed, |t| t.lease_token.as_deref()))
            .bind(column(&changed, |t| t.due_at))
            .bind(column(&changed, |t| t.attempt))
            .bind(column(&changed, |t| t.last_error.as_deref()))
            .bind(column(&changed, |t| t.last_failed_at))
            .bind(column(&new_tasks, |t| t.kind.as_str()))
            .bind(column(&new_tasks, |t| t.workflow_id.as_str()))
            .bind(column(&new_tasks, |t| t.run))
            .bind(column(&new_tasks, |t| t.seq))
            .bind(column(&new_tasks, |t| t.name.as_str()))
            .bind(column(&new_tasks, |t| t.input.as_deref()))
            .bind(column(&new_tasks, |t| t.options.as_deref()))
            .bind(column(&new_tasks, |t| t.attempt))
            .bind(column(&new_tasks, |t| t.max_attempts))
            .bind(column(&new_tasks, |t| t.timeout_ms))
            .bind(column(&new_tasks, |t| t.due_at))
            .bind(column(&new_tasks, |t| t.lease_token.as_deref()))
            .bind(column(&new_tasks, |t| t.scheduled_at))
            .bind(column(&workflows, |w| w.id.as_str()))
            .bind(column(&workflows, |w| w.run))
            .bind(column(&workflows, |w| w.workflow_type.as_str()))
            .bind(column(&workflows, |w| w.status.as_str()))
            .bind(column(&workflows, |w| w.input.as_str()))
            .bind(column(&workflows, |w| w.result.as_deref()))
            .bind(column(&workflows, |w| w.error.as_deref()))
            .bind(column(&workflows, |w| w.cancel_requested))
            .bind(column(&workflows, |w| w.current_step.as_deref()))
            .bind(column(&workflows, |w| w.retry_mode.as_deref()))
            .bind(column(&workflows, |w| w.version))
            .bind(column(&workflows, |w| w.inputs_through))
            .bind(column(&workflows, |w| w.created_at))
            .bind(column(&workflows, |w| w.updated_at))
            .bind(column(&workflows, |w| w.closed_at))
            .bind(column(runs, |r| r.id.as_str()))
            .bind(column(runs, |r| r.run))
            .bind(column(runs, |r| r.status.as_str()))
            .bind(column(runs, |r| r.error.as_deref()))
            .bind(column(runs, |r| r.retry_mode.as_deref()))
            .bind(column(runs, |r| r.created_at))
            .bind(column(runs, |r| r.closed_at))
            .bind(shard)
            .bind(column(&counts, |(s, _)| *s))
            .bind(column(&counts, |(_, n)| *n))
            .bind(column(&minutes, |(m, _, _)| *m))
            .bind(column(&minutes, |(_, o, _)| *o))
            .bind(column(&minutes, |(_, _, n)| *n))
            .fetch_all(&mut *conn)
            .await?
    };
    for (id, workflow_id, run, kind, seq) in assigned {
        batch.assign_task_id((workflow_id, run, &kind, seq), id)?;
    }
    Ok(())
}
