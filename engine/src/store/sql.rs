//! The SQL store, written once and compiled for each backend.
//!
//! SQLite and PostgreSQL share nearly all SQL: `$n` placeholders (SQLite
//! numbers them in order of appearance, so each query uses them in
//! ascending order), `RETURNING`, `ON CONFLICT DO NOTHING`, integers as
//! 64-bit and JSON as text. What differs is in a [`Dialect`]: how a write
//! transaction begins and how rows are locked. [`sql_store!`] implements
//! [`Store`](super::Store) for a backend's struct, which must have a
//! `pool` field and a `DIALECT` constant.

/// The SQL that differs between backends.
pub(crate) struct Dialect {
    /// Starts a write transaction (SQLite takes the write lock at once, so a
    /// read-then-write transaction never fails to upgrade).
    pub begin: &'static str,
    /// Appended to a SELECT that must lock the row it reads: the workflow
    /// row (serialises appends to one history across processes) and a
    /// claimed task's row when checking its lease (so that no other process
    /// can claim the task between the fence check and the commit).
    pub lock_row: &'static str,
    /// Appended to the sub-select of a claim so concurrent claimers skip
    /// each other's rows instead of waiting.
    pub skip_locked: &'static str,
}

/// Refuses a database written by a newer Steadfast: `found` is the highest
/// migration version recorded in it (`None` for a fresh database), read by
/// each backend its own way before it migrates.
pub(crate) fn check_schema_version(
    migrator: &sqlx::migrate::Migrator,
    found: Option<i64>,
) -> crate::error::Result<()> {
    let supported = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    match found {
        Some(found) if found > supported => {
            Err(crate::error::Error::SchemaTooNew { found, supported })
        }
        _ => Ok(()),
    }
}

/// Implements `Store` for `$store` on database `$db` with connections `$conn`.
macro_rules! sql_store {
    ($store:ty, $db:ty, $conn:ty) => {
        mod sql_impl {
            use super::*;
            use async_trait::async_trait;
            use sqlx::{Connection, QueryBuilder};
            use std::time::Duration;

            use $crate::clock::{Timestamp, from_millis, to_millis};
            use $crate::error::{Error, Result};
            use $crate::history::Event;
            use $crate::store::batch::Batch;
            use $crate::store::rows::{
                EventRow, RunRow, TASK_COLUMNS, TaskRow, WORKFLOW_COLUMNS, WorkflowRow, to_json,
            };
            use $crate::store::{
                ActivityQuery, ActivityTask, Applied, DueTimer, Handoff, LeaseGrant, Store, TaskKind,
                TaskRef, Transition, WorkflowTask,
            };
            use $crate::workflow::{
                Counts, Cursor, ListFilter, ListPage, MinuteCounts, PendingActivity, PendingTimer,
                RunSummary, WorkflowRecord, WorkflowStatus,
            };

            type Conn = $conn;

            fn ms(d: Duration) -> i64 {
                d.as_millis().min(i64::MAX as u128) as i64
            }

            /// Most bind parameters one statement takes (SQLite allows
            /// 32,766, PostgreSQL 65,535).
            const MAX_PARAMS: usize = 30_000;

            /// Pushes ` IN ($1, $2, ...)` for `values`.
            fn push_in<T>(qb: &mut QueryBuilder<$db>, values: &[T])
            where
                T: Clone + for<'t> sqlx::Encode<'t, $db> + sqlx::Type<$db>,
            {
                qb.push(" IN (");
                let mut list = qb.separated(", ");
                for value in values {
                    list.push_bind(value.clone());
                }
                list.push_unseparated(")");
            }

            /// Inserts the workflows the batch starts; returns the ids that
            /// were new.
            async fn insert_started(conn: &mut Conn, rows: &[WorkflowRow]) -> Result<Vec<String>> {
                let mut created = Vec::with_capacity(rows.len());
                for chunk in rows.chunks(MAX_PARAMS / 6) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO workflows (id, run, workflow_type, status, input, version, \
                         inputs_through, created_at, updated_at) ",
                    );
                    qb.push_values(chunk, |mut b, row| {
                        b.push_bind(&row.id)
                            .push("1")
                            .push_bind(&row.workflow_type)
                            .push("'running'")
                            .push_bind(&row.input)
                            .push("0, 0")
                            .push_bind(row.created_at)
                            .push_bind(row.updated_at);
                    });
                    qb.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
                    let ids: Vec<(String,)> =
                        qb.build_query_as().persistent(false).fetch_all(&mut *conn).await?;
                    created.extend(ids.into_iter().map(|(id,)| id));
                }
                Ok(created)
            }

            /// The workflow rows named, locked until the commit.
            async fn load_heads(conn: &mut Conn, ids: &[String]) -> Result<Vec<WorkflowRow>> {
                let mut heads = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(MAX_PARAMS) {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id"
                    ));
                    push_in(&mut qb, chunk);
                    qb.push(" ORDER BY id").push(<$store>::DIALECT.lock_row);
                    heads.extend(qb.build_query_as().persistent(false).fetch_all(&mut *conn).await?);
                }
                Ok(heads)
            }

            /// The tasks of the workflows named and the tasks named by id,
            /// locked until the commit.
            async fn load_tasks(conn: &mut Conn, ids: &[String], task_ids: &[i64]) -> Result<Vec<TaskRow>> {
                let mut tasks = Vec::new();
                for chunk in ids.chunks(MAX_PARAMS) {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT {TASK_COLUMNS} FROM tasks WHERE workflow_id"
                    ));
                    push_in(&mut qb, chunk);
                    qb.push(" ORDER BY id").push(<$store>::DIALECT.lock_row);
                    tasks.extend(qb.build_query_as::<TaskRow>().persistent(false).fetch_all(&mut *conn).await?);
                }
                for chunk in task_ids.chunks(MAX_PARAMS) {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id"));
                    push_in(&mut qb, chunk);
                    qb.push(" ORDER BY id").push(<$store>::DIALECT.lock_row);
                    tasks.extend(qb.build_query_as::<TaskRow>().persistent(false).fetch_all(&mut *conn).await?);
                }
                tasks.sort_by_key(|t| t.id);
                tasks.dedup_by_key(|t| t.id);
                Ok(tasks)
            }

            /// Writes what the batch changed, a statement per table.
            async fn write(conn: &mut Conn, batch: &mut Batch, shard: i64) -> Result<()> {
                for chunk in batch.events().chunks(MAX_PARAMS / 6) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO events (workflow_id, run, id, kind, payload, time) ",
                    );
                    qb.push_values(chunk, |mut b, e| {
                        b.push_bind(&e.workflow_id)
                            .push_bind(e.run)
                            .push_bind(e.id)
                            .push_bind(e.kind.name())
                            .push_bind(to_json(&e.kind))
                            .push_bind(e.time);
                    });
                    qb.build().persistent(false).execute(&mut *conn).await?;
                }
                // Before the inserts: a batch may drop a workflow task and
                // create the next one under the same key.
                let deleted = batch.deleted_tasks();
                for chunk in deleted.chunks(MAX_PARAMS) {
                    let mut qb = QueryBuilder::<$db>::new("DELETE FROM tasks WHERE id");
                    push_in(&mut qb, chunk);
                    qb.build().persistent(false).execute(&mut *conn).await?;
                }
                for task in batch.changed_tasks() {
                    sqlx::query(
                        "UPDATE tasks SET lease_token = $1, due_at = $2, attempt = $3, \
                         last_error = $4, last_failed_at = $5 WHERE id = $6",
                    )
                    .bind(&task.lease_token)
                    .bind(task.due_at)
                    .bind(task.attempt)
                    .bind(&task.last_error)
                    .bind(task.last_failed_at)
                    .bind(task.id)
                    .execute(&mut *conn)
                    .await?;
                }
                let mut assigned = Vec::new();
                for chunk in batch.new_tasks().chunks(MAX_PARAMS / 13) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "INSERT INTO tasks (kind, workflow_id, run, seq, name, input, options, \
                         attempt, max_attempts, timeout_ms, due_at, lease_token, scheduled_at) ",
                    );
                    qb.push_values(chunk, |mut b, t| {
                        b.push_bind(&t.kind)
                            .push_bind(&t.workflow_id)
                            .push_bind(t.run)
                            .push_bind(t.seq)
                            .push_bind(&t.name)
                            .push_bind(&t.input)
                            .push_bind(&t.options)
                            .push_bind(t.attempt)
                            .push_bind(t.max_attempts)
                            .push_bind(t.timeout_ms)
                            .push_bind(t.due_at)
                            .push_bind(&t.lease_token)
                            .push_bind(t.scheduled_at);
                    });
                    qb.push(
                        " ON CONFLICT (workflow_id, run, kind, seq) DO NOTHING \
                         RETURNING id, workflow_id, run, kind, seq",
                    );
                    let rows: Vec<(i64, String, i64, String, i64)> =
                        qb.build_query_as().persistent(false).fetch_all(&mut *conn).await?;
                    assigned.extend(rows);
                }
                for (id, workflow_id, run, kind, seq) in assigned {
                    batch.assign_task_id((workflow_id, run, &kind, seq), id)?;
                }
                let workflows = batch.changed_workflows();
                for chunk in workflows.chunks(MAX_PARAMS / 15) {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO workflows ({WORKFLOW_COLUMNS}) "
                    ));
                    qb.push_values(chunk, |mut b, w| {
                        b.push_bind(&w.id)
                            .push_bind(w.run)
                            .push_bind(&w.workflow_type)
                            .push_bind(&w.status)
                            .push_bind(&w.input)
                            .push_bind(&w.result)
                            .push_bind(&w.error)
                            .push_bind(w.cancel_requested)
                            .push_bind(&w.current_step)
                            .push_bind(&w.retry_mode)
                            .push_bind(w.version)
                            .push_bind(w.inputs_through)
                            .push_bind(w.created_at)
                            .push_bind(w.updated_at)
                            .push_bind(w.closed_at);
                    });
                    qb.push(
                        " ON CONFLICT (id) DO UPDATE SET run = excluded.run, status = excluded.status, \
                         result = excluded.result, error = excluded.error, \
                         cancel_requested = excluded.cancel_requested, current_step = excluded.current_step, \
                         retry_mode = excluded.retry_mode, version = excluded.version, \
                         inputs_through = excluded.inputs_through, created_at = excluded.created_at, \
                         updated_at = excluded.updated_at, closed_at = excluded.closed_at",
                    );
                    qb.build().persistent(false).execute(&mut *conn).await?;
                }
                for row in batch.closed_runs() {
                    sqlx::query(
                        "INSERT INTO workflow_runs (id, run, status, error, retry_mode, created_at, closed_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
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
                    let mut qb = QueryBuilder::<$db>::new("INSERT INTO workflow_counts (status, shard, n) ");
                    qb.push_values(&counts, |mut b, (status, n)| {
                        b.push_bind(*status).push_bind(shard).push_bind(*n);
                    });
                    qb.push(" ON CONFLICT (status, shard) DO UPDATE SET n = workflow_counts.n + excluded.n");
                    qb.build().persistent(false).execute(&mut *conn).await?;
                }
                let minutes = batch.minute_deltas();
                if !minutes.is_empty() {
                    let mut qb =
                        QueryBuilder::<$db>::new("INSERT INTO workflow_minutes (minute, outcome, shard, n) ");
                    qb.push_values(&minutes, |mut b, (minute, outcome, n)| {
                        b.push_bind(*minute).push_bind(*outcome).push_bind(shard).push_bind(*n);
                    });
                    qb.push(
                        " ON CONFLICT (minute, outcome, shard) DO UPDATE SET n = workflow_minutes.n + excluded.n",
                    );
                    qb.build().persistent(false).execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// The WHERE clause of `list` and `counts`.
            fn push_filter(qb: &mut QueryBuilder<$db>, filter: &ListFilter, now: i64, with_status: bool) {
                qb.push(" WHERE 1 = 1");
                if let (true, Some(status)) = (with_status, filter.status) {
                    qb.push(" AND status = ").push_bind(status.as_str());
                }
                if let Some(t) = &filter.workflow_type {
                    qb.push(" AND workflow_type = ").push_bind(t.as_str());
                }
                if let Some(prefix) = filter.id_prefix.as_deref().filter(|p| !p.is_empty()) {
                    qb.push(" AND id >= ").push_bind(prefix.to_string());
                    qb.push(" AND id < ").push_bind(format!("{prefix}\u{10FFFF}"));
                }
                if let Some(after) = filter.started_after {
                    qb.push(" AND created_at >= ").push_bind(to_millis(after));
                }
                if let Some(before) = filter.started_before {
                    qb.push(" AND created_at < ").push_bind(to_millis(before));
                }
                if filter.backing_off {
                    qb.push(
                        " AND EXISTS (SELECT 1 FROM tasks t WHERE t.workflow_id = workflows.id \
                         AND t.run = workflows.run AND t.kind = 'activity' AND t.lease_token IS NULL \
                         AND t.attempt > 1 AND t.due_at > ",
                    )
                    .push_bind(now)
                    .push(")");
                }
                if filter.waiting_on_timer {
                    qb.push(
                        " AND EXISTS (SELECT 1 FROM tasks t WHERE t.workflow_id = workflows.id \
                         AND t.run = workflows.run AND t.kind = 'timer')",
                    );
                }
            }

            async fn claim(
                store: &$store,
                kind: TaskKind,
                owner: &str,
                now: Timestamp,
                lease: Duration,
                limit: u32,
            ) -> Result<Vec<TaskRow>> {
                let token = format!("{owner}:{}", uuid::Uuid::new_v4().simple());
                let sql = format!(
                    "UPDATE tasks SET lease_token = $1, due_at = $2 + timeout_ms WHERE id IN \
                     (SELECT id FROM tasks WHERE kind = $3 AND due_at <= $4 ORDER BY due_at LIMIT $5{}) \
                     RETURNING {TASK_COLUMNS}",
                    <$store>::DIALECT.skip_locked
                );
                let now = to_millis(now);
                Ok(sqlx::query_as::<_, TaskRow>(sqlx::AssertSqlSafe(sql))
                    .bind(token)
                    .bind(now + ms(lease))
                    .bind(kind.as_str())
                    .bind(now)
                    .bind(limit as i64)
                    .fetch_all(&store.pool)
                    .await?)
            }

            #[async_trait]
            impl Store for $store {
                async fn commit_leasing(
                    &self,
                    batch: &[Transition],
                    lease: Option<&LeaseGrant>,
                ) -> Result<Vec<(Applied, Vec<Handoff>)>> {
                    let mut conn = self.pool.acquire().await?;
                    let mut tx = conn.begin_with(<$store>::DIALECT.begin).await?;
                    let created = insert_started(&mut tx, &Batch::new_workflows(batch)).await?;
                    let ids = Batch::workflow_ids(batch);
                    let heads = load_heads(&mut tx, &ids).await?;
                    let tasks = load_tasks(&mut tx, &ids, &Batch::released_task_ids(batch)).await?;
                    let mut plan = Batch::new(heads, tasks, created)?;
                    plan.apply_all(batch, lease)?;
                    write(&mut tx, &mut plan, self.counter_shard()).await?;
                    tx.commit().await?;
                    self.committed(batch);
                    Ok(plan.finish())
                }

                async fn claim_workflow_tasks(
                    &self,
                    owner: &str,
                    now: Timestamp,
                    lease: Duration,
                    limit: u32,
                ) -> Result<Vec<WorkflowTask>> {
                    let rows = claim(self, TaskKind::Workflow, owner, now, lease, limit).await?;
                    Ok(rows.into_iter().map(TaskRow::into_workflow_task).collect())
                }

                async fn claim_activity_tasks(
                    &self,
                    owner: &str,
                    now: Timestamp,
                    lease: Duration,
                    limit: u32,
                ) -> Result<Vec<ActivityTask>> {
                    let rows = claim(self, TaskKind::Activity, owner, now, lease, limit).await?;
                    rows.into_iter().map(TaskRow::into_activity_task).collect()
                }

                async fn heartbeat(&self, task: &TaskRef, until: Timestamp) -> Result<bool> {
                    let done = sqlx::query("UPDATE tasks SET due_at = $1 WHERE id = $2 AND lease_token = $3")
                        .bind(to_millis(until))
                        .bind(task.id)
                        .bind(&task.lease_token)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn due_timers(&self, now: Timestamp, limit: u32) -> Result<Vec<DueTimer>> {
                    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                        "SELECT workflow_id, run, seq FROM tasks WHERE kind = 'timer' AND due_at <= $1 \
                         ORDER BY due_at LIMIT $2",
                    )
                    .bind(to_millis(now))
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(workflow_id, run, seq)| DueTimer { workflow_id, run: run as u32, seq: seq as u32 })
                        .collect())
                }

                async fn next_due(&self, kind: TaskKind) -> Result<Option<Timestamp>> {
                    let due: Option<i64> = sqlx::query_scalar("SELECT MIN(due_at) FROM tasks WHERE kind = $1")
                        .bind(kind.as_str())
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(due.map(from_millis))
                }

                async fn workflow(&self, id: &str) -> Result<Option<WorkflowRecord>> {
                    let sql = format!("SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1");
                    sqlx::query_as::<_, WorkflowRow>(sqlx::AssertSqlSafe(sql))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?
                        .map(WorkflowRow::into_record)
                        .transpose()
                }

                async fn runs(&self, id: &str) -> Result<Vec<RunSummary>> {
                    let mut runs: Vec<RunSummary> = sqlx::query_as::<_, RunRow>(
                        "SELECT run, status, error, retry_mode, created_at, closed_at \
                         FROM workflow_runs WHERE id = $1 ORDER BY run",
                    )
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(RunRow::into_summary)
                    .collect::<Result<_>>()?;
                    if let Some(current) = sqlx::query_as::<_, RunRow>(
                        "SELECT run, status, error, retry_mode, created_at, closed_at FROM workflows WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    {
                        runs.push(current.into_summary()?);
                    }
                    Ok(runs)
                }

                async fn history(&self, id: &str, run: u32, after: u64) -> Result<Vec<Event>> {
                    sqlx::query_as::<_, EventRow>(
                        "SELECT id, payload, time FROM events WHERE workflow_id = $1 AND run = $2 AND id > $3 ORDER BY id",
                    )
                    .bind(id)
                    .bind(run as i64)
                    .bind(after.min(i64::MAX as u64) as i64)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(EventRow::into_event)
                    .collect()
                }

                async fn pending_activities(&self, query: &ActivityQuery, now: Timestamp) -> Result<Vec<PendingActivity>> {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT {TASK_COLUMNS} FROM tasks WHERE kind = 'activity'"
                    ));
                    if let Some(id) = &query.workflow_id {
                        qb.push(" AND workflow_id = ").push_bind(id.as_str());
                    }
                    if query.backing_off_only {
                        qb.push(" AND lease_token IS NULL AND attempt > 1 AND due_at > ")
                            .push_bind(to_millis(now));
                    }
                    qb.push(" ORDER BY due_at LIMIT ").push_bind(query.limit as i64);
                    qb.build_query_as::<TaskRow>()
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(|row| row.into_pending_activity(now))
                        .collect()
                }

                async fn pending_timers(&self, workflow_id: Option<&str>, limit: u32) -> Result<Vec<PendingTimer>> {
                    let mut qb = QueryBuilder::<$db>::new(format!(
                        "SELECT {TASK_COLUMNS} FROM tasks WHERE kind = 'timer'"
                    ));
                    if let Some(id) = workflow_id {
                        qb.push(" AND workflow_id = ").push_bind(id);
                    }
                    qb.push(" ORDER BY due_at LIMIT ").push_bind(limit as i64);
                    Ok(qb
                        .build_query_as::<TaskRow>()
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(TaskRow::into_pending_timer)
                        .collect())
                }

                async fn list(
                    &self,
                    filter: &ListFilter,
                    after: Option<&Cursor>,
                    limit: u32,
                    now: Timestamp,
                ) -> Result<ListPage> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {WORKFLOW_COLUMNS} FROM workflows"));
                    push_filter(&mut qb, filter, to_millis(now), true);
                    if let Some(cursor) = after {
                        qb.push(" AND (created_at < ")
                            .push_bind(cursor.created_at_ms)
                            .push(" OR (created_at = ")
                            .push_bind(cursor.created_at_ms)
                            .push(" AND id < ")
                            .push_bind(cursor.id.as_str())
                            .push("))");
                    }
                    qb.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit as i64 + 1);
                    let mut workflows: Vec<WorkflowRecord> = qb
                        .build_query_as::<WorkflowRow>()
                        .fetch_all(&self.pool)
                        .await?
                        .into_iter()
                        .map(WorkflowRow::into_record)
                        .collect::<Result<_>>()?;
                    let next = if workflows.len() > limit as usize {
                        workflows.truncate(limit as usize);
                        workflows.last().map(|w| Cursor {
                            created_at_ms: to_millis(w.created_at),
                            id: w.id.clone(),
                        })
                    } else {
                        None
                    };
                    Ok(ListPage { workflows, next })
                }

                async fn counts(&self, filter: &ListFilter, now: Timestamp) -> Result<Counts> {
                    // Unfiltered totals are kept by every commit; a filter
                    // needs a scan of the matching rows.
                    let rows: Vec<(String, i64)> = if filter.matches_every_status_row() {
                        sqlx::query_as(
                            "SELECT status, CAST(SUM(n) AS BIGINT) FROM workflow_counts GROUP BY status",
                        )
                        .fetch_all(&self.pool)
                        .await?
                    } else {
                        let mut qb = QueryBuilder::<$db>::new("SELECT status, COUNT(*) FROM workflows");
                        push_filter(&mut qb, filter, to_millis(now), false);
                        qb.push(" GROUP BY status");
                        qb.build_query_as().fetch_all(&self.pool).await?
                    };
                    let mut counts = Counts::default();
                    for (status, n) in rows {
                        let status: WorkflowStatus = status
                            .parse()
                            .map_err(|_| Error::Corrupt(format!("unknown status `{status}`")))?;
                        counts.add(status, n.max(0) as u64);
                    }
                    Ok(counts)
                }

                async fn per_minute(&self, since: Timestamp) -> Result<Vec<MinuteCounts>> {
                    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
                        "SELECT minute, outcome, CAST(SUM(n) AS BIGINT) FROM workflow_minutes \
                         WHERE minute >= $1 GROUP BY minute, outcome ORDER BY minute",
                    )
                    .bind(to_millis(since).div_euclid(60_000))
                    .fetch_all(&self.pool)
                    .await?;
                    let mut minutes: Vec<MinuteCounts> = Vec::new();
                    for (minute, outcome, n) in rows {
                        let start = from_millis(minute.saturating_mul(60_000));
                        if minutes.last().is_none_or(|m| m.minute != start) {
                            minutes.push(MinuteCounts { minute: start, ..MinuteCounts::default() });
                        }
                        if let Some(current) = minutes.last_mut() {
                            current.add(&outcome, n.max(0) as u64)?;
                        }
                    }
                    Ok(minutes)
                }

                fn external_wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
                    self.wakeups()
                }
            }
        }
    };
}

pub(crate) use sql_store;
