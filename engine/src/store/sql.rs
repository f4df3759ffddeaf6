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
            use $crate::history::{Event, EventKind, Failure};
            use $crate::store::rows::{
                EventRow, RunRow, TASK_COLUMNS, TaskRow, WORKFLOW_COLUMNS, WorkflowRow,
                retry_mode_str, to_json,
            };
            use $crate::store::{
                ActivityQuery, ActivityTask, Applied, Closing, DueTimer, Handoff, LeaseGrant, NewTask,
                Store, TaskKind, TaskRef, Transition, WorkflowTask,
            };
            use $crate::workflow::{
                Counts, Cursor, ListFilter, ListPage, PendingActivity, PendingTimer, RunSummary,
                WorkflowRecord, WorkflowStatus,
            };

            type Conn = $conn;

            fn ms(d: Duration) -> i64 {
                d.as_millis().min(i64::MAX as u128) as i64
            }

            async fn head(conn: &mut Conn, id: &str) -> Result<Option<WorkflowRow>> {
                let sql = format!(
                    "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1{}",
                    <$store>::DIALECT.lock_row
                );
                Ok(sqlx::query_as::<_, WorkflowRow>(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?)
            }

            /// The running current run `run` of `id`, or why not.
            async fn running_head(
                conn: &mut Conn,
                id: &str,
                run: Option<u32>,
            ) -> Result<std::result::Result<WorkflowRow, Applied>> {
                let Some(row) = head(conn, id).await? else {
                    return Ok(Err(match run {
                        Some(_) => Applied::Stale,
                        None => Applied::NotFound,
                    }));
                };
                if run.is_some_and(|r| r as i64 != row.run) {
                    return Ok(Err(Applied::Stale));
                }
                let status = row.status()?;
                if status.is_closed() {
                    return Ok(Err(match run {
                        Some(_) => Applied::Stale,
                        None => Applied::WrongState {
                            status,
                            message: format!("the workflow already {}", closed_verb(status)),
                        },
                    }));
                }
                Ok(Ok(row))
            }

            fn closed_verb(status: WorkflowStatus) -> &'static str {
                match status {
                    WorkflowStatus::Running => "runs",
                    WorkflowStatus::Completed => "completed",
                    WorkflowStatus::Failed => "failed",
                    WorkflowStatus::Cancelled => "was cancelled",
                    WorkflowStatus::Terminated => "was terminated",
                }
            }

            /// Appends events after `version`; returns the new version and
            /// the id of the last input event among them, if any.
            async fn append(
                conn: &mut Conn,
                id: &str,
                run: i64,
                version: i64,
                events: &[EventKind],
                now: i64,
            ) -> Result<(i64, Option<i64>)> {
                if events.is_empty() {
                    return Ok((version, None));
                }
                let mut last_input = None;
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO events (workflow_id, run, id, kind, payload, time) ",
                );
                qb.push_values(events.iter().enumerate(), |mut b, (i, event)| {
                    let event_id = version + 1 + i as i64;
                    if event.is_input() {
                        last_input = Some(event_id);
                    }
                    b.push_bind(id.to_string())
                        .push_bind(run)
                        .push_bind(event_id)
                        .push_bind(event.name())
                        .push_bind(to_json(event))
                        .push_bind(now);
                });
                qb.build().execute(&mut *conn).await?;
                Ok((version + events.len() as i64, last_input))
            }

            async fn set_version(
                conn: &mut Conn,
                id: &str,
                version: i64,
                inputs_through: Option<i64>,
                current_step: Option<&str>,
                now: i64,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE workflows SET version = $1, inputs_through = COALESCE($2, inputs_through), \
                     current_step = COALESCE($3, current_step), updated_at = $4 WHERE id = $5",
                )
                .bind(version)
                .bind(inputs_through)
                .bind(current_step)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            /// Appends input events and makes sure a workflow task will run;
            /// a task it creates is leased to the caller when `lease` says so.
            async fn deliver(
                conn: &mut Conn,
                row: &WorkflowRow,
                events: &[EventKind],
                now: i64,
                lease: Option<&LeaseGrant>,
                handoff: &mut Vec<Handoff>,
            ) -> Result<()> {
                let (version, inputs) = append(conn, &row.id, row.run, row.version, events, now).await?;
                set_version(conn, &row.id, version, inputs, None, now).await?;
                if inputs.is_some() {
                    let created: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO tasks (kind, workflow_id, run, seq, name, due_at, lease_token, scheduled_at) \
                         VALUES ('workflow', $1, $2, 0, $3, $4, $5, $6) \
                         ON CONFLICT (workflow_id, run, kind, seq) DO NOTHING RETURNING id",
                    )
                    .bind(&row.id)
                    .bind(row.run)
                    .bind(&row.workflow_type)
                    .bind(lease.map_or(now, |l| to_millis(l.until)))
                    .bind(lease.map(|l| l.token.clone()))
                    .bind(now)
                    .fetch_optional(&mut *conn)
                    .await?;
                    if let (Some(id), Some(lease)) = (created, lease) {
                        handoff.push(Handoff::Workflow(workflow_task(row, id, lease)));
                    }
                }
                Ok(())
            }

            fn workflow_task(row: &WorkflowRow, id: i64, lease: &LeaseGrant) -> WorkflowTask {
                WorkflowTask {
                    task: TaskRef { id, lease_token: lease.token.clone() },
                    workflow_id: row.id.clone(),
                    run: row.run as u32,
                    workflow_type: row.workflow_type.clone(),
                }
            }

            /// Whether `task` is still held under its lease token.
            async fn holds(conn: &mut Conn, task: &TaskRef) -> Result<bool> {
                let sql = format!(
                    "SELECT id FROM tasks WHERE id = $1 AND lease_token = $2{}",
                    <$store>::DIALECT.lock_row
                );
                Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(task.id)
                    .bind(&task.lease_token)
                    .fetch_optional(&mut *conn)
                    .await?
                    .is_some())
            }

            async fn delete_task(conn: &mut Conn, task_id: i64) -> Result<()> {
                sqlx::query("DELETE FROM tasks WHERE id = $1")
                    .bind(task_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            async fn close(conn: &mut Conn, id: &str, run: i64, closing: &Closing, now: i64) -> Result<()> {
                sqlx::query(
                    "UPDATE workflows SET status = $1, result = $2, error = $3, closed_at = $4, \
                     updated_at = $5 WHERE id = $6",
                )
                .bind(closing.status.as_str())
                .bind(closing.result.as_ref().map(to_json))
                .bind(closing.error.as_ref().map(to_json))
                .bind(now)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
                sqlx::query("DELETE FROM tasks WHERE workflow_id = $1 AND run = $2")
                    .bind(id)
                    .bind(run)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            async fn insert_task(
                conn: &mut Conn,
                row: &WorkflowRow,
                task: &NewTask,
                now: i64,
                lease: Option<&LeaseGrant>,
                handoff: &mut Vec<Handoff>,
            ) -> Result<()> {
                match task {
                    NewTask::Activity { seq, name, input, options } => {
                        let timeout = ms(options.start_to_close_timeout);
                        let created: Option<i64> = sqlx::query_scalar(
                            "INSERT INTO tasks (kind, workflow_id, run, seq, name, input, options, \
                             attempt, max_attempts, timeout_ms, due_at, lease_token, scheduled_at) \
                             VALUES ('activity', $1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $11) \
                             ON CONFLICT (workflow_id, run, kind, seq) DO NOTHING RETURNING id",
                        )
                        .bind(&row.id)
                        .bind(row.run)
                        .bind(*seq as i64)
                        .bind(name)
                        .bind(to_json(input))
                        .bind(to_json(options))
                        .bind(options.retry.maximum_attempts as i64)
                        .bind(timeout)
                        .bind(lease.map_or(now, |l| to_millis(l.until) + timeout))
                        .bind(lease.map(|l| l.token.clone()))
                        .bind(now)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if let (Some(id), Some(lease)) = (created, lease) {
                            handoff.push(Handoff::Activity(ActivityTask {
                                task: TaskRef { id, lease_token: lease.token.clone() },
                                workflow_id: row.id.clone(),
                                run: row.run as u32,
                                seq: *seq,
                                name: name.clone(),
                                input: input.clone(),
                                attempt: 1,
                                options: options.clone(),
                                scheduled_at: from_millis(now),
                            }));
                        }
                    }
                    NewTask::Timer { seq, fire_at } => {
                        sqlx::query(
                            "INSERT INTO tasks (kind, workflow_id, run, seq, name, due_at, scheduled_at) \
                             VALUES ('timer', $1, $2, $3, 'timer', $4, $5) \
                             ON CONFLICT (workflow_id, run, kind, seq) DO NOTHING",
                        )
                        .bind(&row.id)
                        .bind(row.run)
                        .bind(*seq as i64)
                        .bind(to_millis(*fire_at))
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
                Ok(())
            }

            async fn apply(
                conn: &mut Conn,
                transition: &Transition,
                lease: Option<&LeaseGrant>,
                handoff: &mut Vec<Handoff>,
            ) -> Result<Applied> {
                match transition {
                    Transition::Start { id, workflow_type, input, now } => {
                        let now = to_millis(*now);
                        let sql = format!(
                            "INSERT INTO workflows (id, run, workflow_type, status, input, version, \
                             inputs_through, created_at, updated_at) \
                             VALUES ($1, 1, $2, 'running', $3, 0, 0, $4, $5) \
                             ON CONFLICT (id) DO NOTHING RETURNING {WORKFLOW_COLUMNS}"
                        );
                        let created = sqlx::query_as::<_, WorkflowRow>(sqlx::AssertSqlSafe(sql))
                            .bind(id)
                            .bind(workflow_type)
                            .bind(to_json(input))
                            .bind(now)
                            .bind(now)
                            .fetch_optional(&mut *conn)
                            .await?;
                        let Some(row) = created else {
                            let existing = head(conn, id).await?.ok_or_else(|| Error::Corrupt("start lost".into()))?;
                            return Ok(Applied::AlreadyExists(Box::new(existing.into_record()?)));
                        };
                        let started = EventKind::WorkflowStarted {
                            workflow_type: workflow_type.clone(),
                            input: input.clone(),
                            retry_of_run: None,
                            resume: Vec::new(),
                        };
                        deliver(conn, &row, &[started], now, lease, handoff).await?;
                        Ok(Applied::Started { run: 1 })
                    }
                    Transition::CompleteWorkflowTask {
                        task, workflow_id, run, consumed_through, events, new_tasks, cancelled,
                        current_step, closing, now,
                    } => {
                        if !holds(conn, task).await? {
                            return Ok(Applied::Stale);
                        }
                        let now = to_millis(*now);
                        let row = match running_head(conn, workflow_id, Some(*run)).await? {
                            Ok(row) => row,
                            Err(refusal) => {
                                delete_task(conn, task.id).await?;
                                return Ok(refusal);
                            }
                        };
                        let first_event_id = row.version as u64 + 1;
                        let (version, _) = append(conn, &row.id, row.run, row.version, events, now).await?;
                        set_version(conn, &row.id, version, None, current_step.as_deref(), now).await?;
                        if let Some(closing) = closing {
                            close(conn, &row.id, row.run, closing, now).await?;
                            return Ok(Applied::Appended { first_event_id });
                        }
                        for seq in cancelled {
                            sqlx::query(
                                "DELETE FROM tasks WHERE workflow_id = $1 AND run = $2 \
                                 AND kind IN ('activity', 'timer') AND seq = $3",
                            )
                            .bind(&row.id)
                            .bind(row.run)
                            .bind(*seq as i64)
                            .execute(&mut *conn)
                            .await?;
                        }
                        for new_task in new_tasks {
                            insert_task(conn, &row, new_task, now, lease, handoff).await?;
                        }
                        if row.inputs_through as u64 > *consumed_through {
                            // Inputs arrived while the task ran: another round,
                            // at once if the caller takes it.
                            sqlx::query("UPDATE tasks SET lease_token = $1, due_at = $2 WHERE id = $3")
                                .bind(lease.map(|l| l.token.clone()))
                                .bind(lease.map_or(now, |l| to_millis(l.until)))
                                .bind(task.id)
                                .execute(&mut *conn)
                                .await?;
                            if let Some(lease) = lease {
                                handoff.push(Handoff::Workflow(workflow_task(&row, task.id, lease)));
                            }
                        } else {
                            delete_task(conn, task.id).await?;
                        }
                        Ok(Applied::Appended { first_event_id })
                    }
                    Transition::ReleaseTask { task, now } => {
                        let done = sqlx::query(
                            "UPDATE tasks SET lease_token = NULL, due_at = $1 WHERE id = $2 AND lease_token = $3",
                        )
                        .bind(to_millis(*now))
                        .bind(task.id)
                        .bind(&task.lease_token)
                        .execute(&mut *conn)
                        .await?;
                        Ok(if done.rows_affected() == 1 { Applied::Done } else { Applied::Stale })
                    }
                    Transition::CompleteActivity { task, workflow_id, run, outcome, now } => {
                        // The delete is the fence: it matches only under our lease.
                        let held: Option<i64> = sqlx::query_scalar(
                            "DELETE FROM tasks WHERE id = $1 AND lease_token = $2 RETURNING id",
                        )
                        .bind(task.id)
                        .bind(&task.lease_token)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if held.is_none() {
                            return Ok(Applied::Stale);
                        }
                        match running_head(conn, workflow_id, Some(*run)).await? {
                            Ok(row) => {
                                deliver(conn, &row, std::slice::from_ref(outcome), to_millis(*now), lease, handoff).await?;
                                Ok(Applied::Done)
                            }
                            Err(refusal) => Ok(refusal),
                        }
                    }
                    Transition::RetryActivity {
                        task, workflow_id, run, seq, attempt, error, next_attempt_at, now,
                    } => {
                        if !holds(conn, task).await? {
                            return Ok(Applied::Stale);
                        }
                        let row = match running_head(conn, workflow_id, Some(*run)).await? {
                            Ok(row) => row,
                            Err(refusal) => return Ok(refusal),
                        };
                        let now = to_millis(*now);
                        sqlx::query(
                            "UPDATE tasks SET attempt = $1, lease_token = NULL, due_at = $2, \
                             last_error = $3, last_failed_at = $4 WHERE id = $5",
                        )
                        .bind(*attempt as i64 + 1)
                        .bind(to_millis(*next_attempt_at))
                        .bind(to_json(error))
                        .bind(now)
                        .bind(task.id)
                        .execute(&mut *conn)
                        .await?;
                        let failed = EventKind::ActivityAttemptFailed {
                            seq: *seq,
                            attempt: *attempt,
                            error: error.clone(),
                            next_attempt_at: *next_attempt_at,
                        };
                        deliver(conn, &row, &[failed], now, lease, handoff).await?;
                        Ok(Applied::Done)
                    }
                    Transition::FireTimer { workflow_id, run, seq, now } => {
                        let gone = sqlx::query(
                            "DELETE FROM tasks WHERE workflow_id = $1 AND run = $2 AND kind = 'timer' AND seq = $3",
                        )
                        .bind(workflow_id)
                        .bind(*run as i64)
                        .bind(*seq as i64)
                        .execute(&mut *conn)
                        .await?;
                        if gone.rows_affected() == 0 {
                            return Ok(Applied::Stale);
                        }
                        match running_head(conn, workflow_id, Some(*run)).await? {
                            Ok(row) => {
                                deliver(conn, &row, &[EventKind::TimerFired { seq: *seq }], to_millis(*now), lease, handoff).await?;
                                Ok(Applied::Done)
                            }
                            Err(refusal) => Ok(refusal),
                        }
                    }
                    Transition::RequestCancel { id, reason, now } => {
                        let row = match running_head(conn, id, None).await? {
                            Ok(row) => row,
                            Err(refusal) => return Ok(refusal),
                        };
                        if row.cancel_requested != 0 {
                            return Ok(Applied::Done);
                        }
                        sqlx::query("UPDATE workflows SET cancel_requested = 1 WHERE id = $1")
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                        let event = EventKind::CancelRequested { reason: reason.clone() };
                        deliver(conn, &row, &[event], to_millis(*now), lease, handoff).await?;
                        Ok(Applied::Done)
                    }
                    Transition::Terminate { id, reason, now } => {
                        let row = match running_head(conn, id, None).await? {
                            Ok(row) => row,
                            Err(refusal) => return Ok(refusal),
                        };
                        let now = to_millis(*now);
                        let event = EventKind::WorkflowTerminated { reason: reason.clone() };
                        let (version, _) = append(conn, id, row.run, row.version, &[event], now).await?;
                        set_version(conn, id, version, None, None, now).await?;
                        let closing = Closing {
                            status: WorkflowStatus::Terminated,
                            result: None,
                            error: Some(Failure::new("Terminated", reason.clone())),
                        };
                        close(conn, id, row.run, &closing, now).await?;
                        Ok(Applied::Done)
                    }
                    Transition::Signal { id, name, payload, now } => {
                        let row = match running_head(conn, id, None).await? {
                            Ok(row) => row,
                            Err(refusal) => return Ok(refusal),
                        };
                        let event = EventKind::SignalReceived { name: name.clone(), payload: payload.clone() };
                        deliver(conn, &row, &[event], to_millis(*now), lease, handoff).await?;
                        Ok(Applied::Done)
                    }
                    Transition::RetryActivityNow { id, seq, now } => {
                        make_due(conn, id, "activity", *seq, to_millis(*now)).await
                    }
                    Transition::FireTimerNow { id, seq, now } => {
                        make_due(conn, id, "timer", *seq, to_millis(*now)).await
                    }
                    Transition::Retry { id, from_run, mode, resume, now } => {
                        let Some(row) = head(conn, id).await? else {
                            return Ok(Applied::NotFound);
                        };
                        let status = row.status()?;
                        if row.run != *from_run as i64 {
                            return Ok(Applied::WrongState {
                                status,
                                message: format!("run {} is newer than run {from_run}", row.run),
                            });
                        }
                        if !status.is_closed() || status == WorkflowStatus::Completed {
                            return Ok(Applied::WrongState {
                                status,
                                message: "only a failed, cancelled or terminated workflow can be retried".into(),
                            });
                        }
                        let now = to_millis(*now);
                        sqlx::query(
                            "INSERT INTO workflow_runs (id, run, status, error, retry_mode, created_at, closed_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(id)
                        .bind(row.run)
                        .bind(&row.status)
                        .bind(&row.error)
                        .bind(&row.retry_mode)
                        .bind(row.created_at)
                        .bind(row.closed_at)
                        .execute(&mut *conn)
                        .await?;
                        let run = row.run + 1;
                        sqlx::query(
                            "UPDATE workflows SET run = $1, status = 'running', result = NULL, error = NULL, \
                             cancel_requested = 0, current_step = NULL, retry_mode = $2, version = 0, \
                             inputs_through = 0, created_at = $3, updated_at = $4, closed_at = NULL WHERE id = $5",
                        )
                        .bind(run)
                        .bind(retry_mode_str(*mode))
                        .bind(now)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *conn)
                        .await?;
                        let row = head(conn, id).await?.ok_or_else(|| Error::Corrupt("retry lost".into()))?;
                        let started = EventKind::WorkflowStarted {
                            workflow_type: row.workflow_type.clone(),
                            input: $crate::store::rows::json(&row.input)?,
                            retry_of_run: Some(*from_run),
                            resume: resume.clone(),
                        };
                        deliver(conn, &row, &[started], now, lease, handoff).await?;
                        Ok(Applied::Started { run: run as u32 })
                    }
                }
            }

            async fn make_due(conn: &mut Conn, id: &str, kind: &str, seq: u32, now: i64) -> Result<Applied> {
                let row = match running_head(conn, id, None).await? {
                    Ok(row) => row,
                    Err(refusal) => return Ok(refusal),
                };
                let done = sqlx::query(
                    "UPDATE tasks SET due_at = $1 WHERE workflow_id = $2 AND run = $3 AND kind = $4 \
                     AND seq = $5 AND lease_token IS NULL",
                )
                .bind(now)
                .bind(id)
                .bind(row.run)
                .bind(kind)
                .bind(seq as i64)
                .execute(&mut *conn)
                .await?;
                Ok(if done.rows_affected() == 1 { Applied::Done } else { Applied::NoSuchOperation })
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
                    let mut outcomes = Vec::with_capacity(batch.len());
                    for transition in batch {
                        let mut handoff = Vec::new();
                        let applied = apply(&mut tx, transition, lease, &mut handoff).await?;
                        outcomes.push((applied, handoff));
                    }
                    tx.commit().await?;
                    self.committed(batch);
                    Ok(outcomes)
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
                    let mut qb = QueryBuilder::<$db>::new("SELECT status, COUNT(*) FROM workflows");
                    push_filter(&mut qb, filter, to_millis(now), false);
                    qb.push(" GROUP BY status");
                    let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
                    let mut counts = Counts::default();
                    for (status, n) in rows {
                        let status: WorkflowStatus = status
                            .parse()
                            .map_err(|_| Error::Corrupt(format!("unknown status `{status}`")))?;
                        counts.add(status, n as u64);
                    }
                    Ok(counts)
                }

                fn external_wakeups(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
                    self.wakeups()
                }
            }
        }
    };
}

pub(crate) use sql_store;
