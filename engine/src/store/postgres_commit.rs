//! How PostgreSQL commits a batch of transitions. [`Batch`] plans it; the
//! rows it touches are loaded and written with one statement per table,
//! each taking its rows as arrays (`= ANY($1)`, `UNNEST`). The statement
//! texts never change, so each is prepared once per connection, and a batch
//! costs about ten round trips whatever its size.
//!
//! The loads lock what they read (`FOR UPDATE`): the workflow rows, so that
//! one history is appended to by one transaction at a time across
//! processes, and the tasks, so that no claim takes a task between the
//! fence check and the commit. Rows are locked in id order, which keeps two
//! batches touching the same workflows from deadlocking.

use sqlx::{Connection, PgConnection, PgPool};

use crate::error::Result;
use crate::store::batch::Batch;
use crate::store::rows::{INSERT_RUN, TASK_COLUMNS, TaskRow, WORKFLOW_COLUMNS, WorkflowRow};
use crate::store::{LeaseGrant, Outcome, Transition};

/// Rows per counter; readers sum them.
const COUNTER_SHARDS: u8 = 16;

/// The end of an insert of whole workflow rows that writes a batch's
/// changed rows back (they exist: the batch loaded them).
const UPDATE_WORKFLOW: &str = "ON CONFLICT (id) DO UPDATE SET run = excluded.run, \
     status = excluded.status, result = excluded.result, error = excluded.error, \
     cancel_requested = excluded.cancel_requested, current_step = excluded.current_step, \
     retry_mode = excluded.retry_mode, version = excluded.version, \
     inputs_through = excluded.inputs_through, created_at = excluded.created_at, \
     updated_at = excluded.updated_at, closed_at = excluded.closed_at";

/// Applies `batch` in one transaction; see [`Store::commit_leasing`](super::Store::commit_leasing).
pub(crate) async fn commit(
    pool: &PgPool,
    batch: &[Transition],
    lease: Option<&LeaseGrant>,
) -> Result<Vec<Outcome>> {
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
    let tasks: Vec<TaskRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE workflow_id = ANY($1) OR id = ANY($2) \
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
    Ok(plan.finish())
}

/// Inserts the workflows the batch starts; returns the ids that were new.
async fn insert_started(conn: &mut PgConnection, rows: &[WorkflowRow]) -> Result<Vec<String>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let column = |f: fn(&WorkflowRow) -> String| rows.iter().map(f).collect::<Vec<_>>();
    Ok(sqlx::query_scalar(
        "INSERT INTO workflows (id, run, workflow_type, status, input, version, inputs_through, \
         created_at, updated_at) \
         SELECT id, 1, t, 'running', i, 0, 0, c, c \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[]) AS s(id, t, i, c) \
         ON CONFLICT (id) DO NOTHING RETURNING id",
    )
    .bind(column(|w| w.id.clone()))
    .bind(column(|w| w.workflow_type.clone()))
    .bind(column(|w| w.input.clone()))
    .bind(rows.iter().map(|w| w.created_at).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?)
}

/// Writes what the batch changed, a statement per table.
async fn write(conn: &mut PgConnection, batch: &mut Batch<'_>, shard: i64) -> Result<()> {
    let events = batch.event_rows();
    if !events.is_empty() {
        sqlx::query(
            "INSERT INTO events (workflow_id, run, id, last_id, kind, payload, time) \
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], \
             $5::text[], $6::text[], $7::bigint[])",
        )
        .bind(events.iter().map(|e| e.workflow_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.run).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.last_id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.kind.as_ref()).collect::<Vec<_>>())
        .bind(
            events
                .iter()
                .map(|e| e.payload.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(events.iter().map(|e| e.time).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    // Before the inserts: a batch may drop a workflow task and create the
    // next one under the same key.
    let deleted = batch.deleted_tasks();
    if !deleted.is_empty() {
        sqlx::query("DELETE FROM tasks WHERE id = ANY($1)")
            .bind(deleted)
            .execute(&mut *conn)
            .await?;
    }
    let changed: Vec<&TaskRow> = batch.changed_tasks().collect();
    if !changed.is_empty() {
        sqlx::query(
            "UPDATE tasks SET lease_token = u.l, due_at = u.d, attempt = u.a, last_error = u.e, \
             last_failed_at = u.f \
             FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], \
             $6::bigint[]) AS u(id, l, d, a, e, f) WHERE tasks.id = u.id",
        )
        .bind(changed.iter().map(|t| t.id).collect::<Vec<_>>())
        .bind(
            changed
                .iter()
                .map(|t| t.lease_token.clone())
                .collect::<Vec<_>>(),
        )
        .bind(changed.iter().map(|t| t.due_at).collect::<Vec<_>>())
        .bind(changed.iter().map(|t| t.attempt).collect::<Vec<_>>())
        .bind(
            changed
                .iter()
                .map(|t| t.last_error.clone())
                .collect::<Vec<_>>(),
        )
        .bind(changed.iter().map(|t| t.last_failed_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    let new_tasks = batch.new_tasks();
    if !new_tasks.is_empty() {
        let text = |f: fn(&TaskRow) -> String| new_tasks.iter().map(|t| f(t)).collect::<Vec<_>>();
        let maybe =
            |f: fn(&TaskRow) -> Option<String>| new_tasks.iter().map(|t| f(t)).collect::<Vec<_>>();
        let int = |f: fn(&TaskRow) -> i64| new_tasks.iter().map(|t| f(t)).collect::<Vec<_>>();
        let assigned: Vec<(i64, String, i64, String, i64)> = sqlx::query_as(
            "INSERT INTO tasks (kind, workflow_id, run, seq, name, input, options, attempt, \
             max_attempts, timeout_ms, due_at, lease_token, scheduled_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], \
             $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], \
             $12::text[], $13::bigint[]) \
             ON CONFLICT (workflow_id, run, kind, seq) DO NOTHING \
             RETURNING id, workflow_id, run, kind, seq",
        )
        .bind(text(|t| t.kind.clone()))
        .bind(text(|t| t.workflow_id.clone()))
        .bind(int(|t| t.run))
        .bind(int(|t| t.seq))
        .bind(text(|t| t.name.clone()))
        .bind(maybe(|t| t.input.clone()))
        .bind(maybe(|t| t.options.clone()))
        .bind(int(|t| t.attempt))
        .bind(int(|t| t.max_attempts))
        .bind(int(|t| t.timeout_ms))
        .bind(int(|t| t.due_at))
        .bind(maybe(|t| t.lease_token.clone()))
        .bind(int(|t| t.scheduled_at))
        .fetch_all(&mut *conn)
        .await?;
        for (id, workflow_id, run, kind, seq) in assigned {
            batch.assign_task_id((workflow_id, run, &kind, seq), id)?;
        }
    }
    // PostgreSQL skips the index entries of values an update leaves alone
    // (a HOT update) by itself: the whole row goes back.
    let workflows: Vec<&WorkflowRow> = batch.changed_workflows().iter().map(|c| c.row).collect();
    if !workflows.is_empty() {
        let text =
            |f: fn(&WorkflowRow) -> String| workflows.iter().map(|w| f(w)).collect::<Vec<_>>();
        let maybe = |f: fn(&WorkflowRow) -> Option<String>| {
            workflows.iter().map(|w| f(w)).collect::<Vec<_>>()
        };
        let int = |f: fn(&WorkflowRow) -> i64| workflows.iter().map(|w| f(w)).collect::<Vec<_>>();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO workflows ({WORKFLOW_COLUMNS}) \
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[], \
             $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[]) {UPDATE_WORKFLOW}"
        )))
        .bind(text(|w| w.id.clone()))
        .bind(int(|w| w.run))
        .bind(text(|w| w.workflow_type.clone()))
        .bind(text(|w| w.status.clone()))
        .bind(text(|w| w.input.clone()))
        .bind(maybe(|w| w.result.clone()))
        .bind(maybe(|w| w.error.clone()))
        .bind(int(|w| w.cancel_requested))
        .bind(maybe(|w| w.current_step.clone()))
        .bind(maybe(|w| w.retry_mode.clone()))
        .bind(int(|w| w.version))
        .bind(int(|w| w.inputs_through))
        .bind(int(|w| w.created_at))
        .bind(int(|w| w.updated_at))
        .bind(workflows.iter().map(|w| w.closed_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    for row in batch.closed_runs() {
        sqlx::query(INSERT_RUN)
            .bind(&row.id)
            .bind(row.run)
            .bind(&row.status)
            .bind(&row.error)
            .bind(&row.retry_mode)
            .bind(row.created_at)
            .bind(row.closed_at)
            .execute(&mut *conn)
            .await?;
    }
    let counts = batch.count_deltas();
    if !counts.is_empty() {
        sqlx::query(
            "INSERT INTO workflow_counts (status, shard, n) \
             SELECT s, $2, n FROM UNNEST($1::text[], $3::bigint[]) AS u(s, n) \
             ON CONFLICT (status, shard) DO UPDATE SET n = workflow_counts.n + excluded.n",
        )
        .bind(counts.iter().map(|(s, _)| *s).collect::<Vec<_>>())
        .bind(shard)
        .bind(counts.iter().map(|(_, n)| *n).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    let minutes = batch.minute_deltas();
    if !minutes.is_empty() {
        sqlx::query(
            "INSERT INTO workflow_minutes (minute, outcome, shard, n) \
             SELECT m, o, $3, n FROM UNNEST($1::bigint[], $2::text[], $4::bigint[]) AS u(m, o, n) \
             ON CONFLICT (minute, outcome, shard) DO UPDATE SET n = workflow_minutes.n + excluded.n",
        )
        .bind(minutes.iter().map(|(m, _, _)| *m).collect::<Vec<_>>())
        .bind(minutes.iter().map(|(_, o, _)| *o).collect::<Vec<_>>())
        .bind(shard)
        .bind(minutes.iter().map(|(_, _, n)| *n).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
