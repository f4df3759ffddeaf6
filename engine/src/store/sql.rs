//! The SQL store's reads, claims and heartbeats, written once and compiled
//! for each backend.
//!
//! SQLite and PostgreSQL share this SQL: `$n` placeholders (SQLite
//! numbers them in order of appearance, so each query uses them in
//! ascending order), `RETURNING`, integers as 64-bit and JSON as text. What
//! differs is in a [`Dialect`]. Commits differ more and live apart
//! (`sqlite_commit`, `postgres_commit`; both planned by `batch`):
//! [`sql_store!`] implements [`Store`](super::Store) for a backend's struct,
//! which must have a `pool` field (for reads), `DIALECT` and `WRITERS`
//! constants and the inherent methods `queue` (the pool for claims,
//! heartbeats and due times), `commit_batch` and `wakeups`.

/// The SQL that differs between backends.
pub(crate) struct Dialect {
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

/// Implements `Store` for `$store` on database `$db`.
macro_rules! sql_store {
    ($store:ty, $db:ty) => {
        mod sql_impl {
            use super::*;
            use async_trait::async_trait;
            use sqlx::QueryBuilder;
            use std::time::Duration;

            use $crate::clock::{Timestamp, from_millis, to_millis};
            use $crate::error::{Error, Result};
            use $crate::history::Event;
            use $crate::store::rows::{
                EventRow, RunRow, TASK_COLUMNS, TaskRow, WORKFLOW_COLUMNS, WorkflowRow,
            };
            use $crate::store::{
                ActivityQuery, ActivityTask, DueTimer, LeaseGrant, Outcome, Store, TaskKind,
                TaskRef, Transition, WorkflowTask,
            };
            use $crate::workflow::{
                Counts, Cursor, ListFilter, ListPage, MinuteCounts, PendingActivity, PendingTimer,
                RunSummary, WorkflowRecord, WorkflowStatus,
            };

            fn ms(d: Duration) -> i64 {
                d.as_millis().min(i64::MAX as u128) as i64
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
                    .fetch_all(store.queue())
                    .await?)
            }

            #[async_trait]
            impl Store for $store {
                async fn commit_leasing(
                    &self,
                    batch: std::sync::Arc<[Transition]>,
                    lease: Option<&LeaseGrant>,
                ) -> Result<Vec<Outcome>> {
                    self.commit_batch(batch, lease).await
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
                        .execute(self.queue())
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
                    .fetch_all(self.queue())
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(workflow_id, run, seq)| DueTimer { workflow_id, run: run as u32, seq: seq as u32 })
                        .collect())
                }

                async fn next_due(&self, kind: TaskKind) -> Result<Option<Timestamp>> {
                    let due: Option<i64> = sqlx::query_scalar("SELECT MIN(due_at) FROM tasks WHERE kind = $1")
                        .bind(kind.as_str())
                        .fetch_one(self.queue())
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
                    // From the row holding event `after + 1` (a row may hold
                    // several events), found by one seek of the index.
                    let after = after.min(i64::MAX as u64 - 1);
                    let mut events = Vec::new();
                    for row in sqlx::query_as::<_, EventRow>(
                        "SELECT id, last_id, payload, time FROM events \
                         WHERE workflow_id = $1 AND run = $2 AND id >= (SELECT COALESCE(MAX(id), 0) \
                         FROM events WHERE workflow_id = $1 AND run = $2 AND id <= $3) ORDER BY id",
                    )
                    .bind(id)
                    .bind(run as i64)
                    .bind(after as i64 + 1)
                    .fetch_all(&self.pool)
                    .await?
                    {
                        events.extend(row.into_events(after)?);
                    }
                    Ok(events)
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

                fn writers(&self) -> usize {
                    <$store>::WRITERS
                }

                fn external_wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
                    self.wakeups()
                }
            }
        }
    };
}

pub(crate) use sql_store;
