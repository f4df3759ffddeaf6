//! `--fill N`: a database holding N closed `process_order` workflows,
//! made quickly and honestly. Two real orders run first on the engine (one
//! completes; one is declined at the charge and gives its stock back); then
//! plain SQL against the engine's schema (`migrations/*/0001_engine.sql`)
//! copies their `workflows` and `events` rows N times, in batches of one
//! transaction each, under new ids (`fill-TAG-000000000042`) with the
//! order id inside every payload replaced and the timestamps shifted to one
//! start per millisecond before now. The copies are byte for byte what the
//! engine writes for such orders, so the tables, indexes and sizes are
//! those of a database that ran N orders; only the CPU time of running them
//! is skipped. Closed workflows have no task rows, so none are copied; the
//! engine's kept counts are raised by the copies in the same transaction.

use std::time::{Duration, Instant};

use anyhow::Context;
use engine::{WorkerConfig, WorkflowStatus};
use indicatif::ProgressBar;
use serde::Serialize;

use super::database::{BenchStore, with_pool};
use super::engine_mode::{DECLINED_USER, EngineTarget, Scenario, USER, Workload};

/// Workflows copied per transaction.
const BATCH: u64 = 25_000;

/// The clone ids and start times of one batch, and the template each copies:
/// `$1..$2` the numbers, `$3` the id prefix, `$4` the first start time, `$5`
/// every how many a failed one, `$6`/`$7` the failed/completed template.
/// Parameters first appear in ascending order (SQLite numbers them so).
const CLONES: &str = "WITH RECURSIVE seq(i) AS ( \
        SELECT CAST($1 AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < $2 \
    ), clones AS ( \
        SELECT i, $3 || substr(CAST(1000000000000 + i AS TEXT), 2) AS new_id, $4 + i AS created, \
               CASE WHEN i % $5 = 0 THEN $6 ELSE $7 END AS template \
        FROM seq \
    ) ";

const COPY_WORKFLOWS: &str = "INSERT INTO workflows (id, run, workflow_type, status, input, result, \
        error, cancel_requested, current_step, retry_mode, version, inputs_through, created_at, \
        updated_at, closed_at) \
    SELECT c.new_id, t.run, t.workflow_type, t.status, replace(t.input, t.id, c.new_id), \
        replace(t.result, t.id, c.new_id), replace(t.error, t.id, c.new_id), t.cancel_requested, \
        t.current_step, t.retry_mode, t.version, t.inputs_through, c.created, \
        c.created + (t.updated_at - t.created_at), c.created + (t.closed_at - t.created_at) \
    FROM clones c JOIN workflows t ON t.id = c.template";

const COPY_EVENTS: &str = "INSERT INTO events (workflow_id, run, id, last_id, kind, payload, time) \
    SELECT c.new_id, e.run, e.id, e.last_id, e.kind, replace(e.payload, t.id, c.new_id), \
        c.created + (e.time - t.created_at) \
    FROM clones c JOIN workflows t ON t.id = c.template \
    JOIN events e ON e.workflow_id = t.id AND e.run = t.run";

/// The engine keeps per-status totals and per-minute counts with every
/// commit (`migrations/*/0002_counters.sql`); the copies add theirs.
/// (`WHERE true`: SQLite needs it to read `ON CONFLICT` after a SELECT.)
const COUNT_COPIES: &str = "INSERT INTO workflow_counts (status, shard, n) \
    SELECT t.status, 0, COUNT(*) FROM clones c JOIN workflows t ON t.id = c.template \
    WHERE true GROUP BY t.status \
    ON CONFLICT (status, shard) DO UPDATE SET n = workflow_counts.n + excluded.n";

const COUNT_COPIES_PER_MINUTE: &str = "INSERT INTO workflow_minutes (minute, outcome, shard, n) \
    SELECT m, o, 0, COUNT(*) FROM ( \
        SELECT c.created / 60000 AS m, 'started' AS o FROM clones c \
        UNION ALL \
        SELECT (c.created + (t.closed_at - t.created_at)) / 60000, t.status \
        FROM clones c JOIN workflows t ON t.id = c.template \
    ) AS x WHERE true GROUP BY m, o \
    ON CONFLICT (minute, outcome, shard) DO UPDATE SET n = workflow_minutes.n + excluded.n";

/// What a fill did.
#[derive(Debug, Clone, Serialize)]
pub struct FillFigures {
    /// Workflows copied (the two templates not counted).
    pub workflows: u64,
    /// Of which failed orders.
    pub failed: u64,
    /// `events` rows copied. A row holds the events one transition
    /// appended, so how many an order has depends on which of its
    /// transitions ran eagerly (four when all did).
    pub event_rows: u64,
    pub elapsed_s: f64,
    pub workflows_per_s: f64,
}

/// Fills the database of `store` with `n` closed workflows, one in
/// `failed_every` failed; `tag` keeps the ids apart from earlier fills.
pub async fn fill(
    store: &BenchStore,
    n: u64,
    failed_every: u64,
    tag: &str,
    progress: ProgressBar,
) -> anyhow::Result<FillFigures> {
    let started = Instant::now();
    let ok_template = format!("fill-{tag}-template-completed");
    let failed_template = format!("fill-{tag}-template-failed");
    run_templates(store, &ok_template, &failed_template).await?;

    let base = now_ms() - n as i64 - 1_000;
    let prefix = format!("fill-{tag}-");
    let mut event_rows = 0;
    let mut lo = 0;
    while lo < n {
        let hi = (lo + BATCH).min(n);
        let copied: u64 = with_pool!(store, pool => {
            let mut tx = pool.begin().await?;
            let mut copied = 0;
            for (i, statement) in [COPY_WORKFLOWS, COPY_EVENTS, COUNT_COPIES, COUNT_COPIES_PER_MINUTE]
                .into_iter()
                .enumerate()
            {
                let sql = format!("{CLONES}{statement}");
                let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(lo as i64)
                    .bind(hi as i64)
                    .bind(&prefix)
                    .bind(base)
                    .bind(failed_every.max(1) as i64)
                    .bind(&failed_template)
                    .bind(&ok_template)
                    .execute(&mut *tx)
                    .await?;
                if i == 1 {
                    copied = done.rows_affected();
                }
            }
            tx.commit().await?;
            copied
        });
        event_rows += copied;
        progress.inc(hi - lo);
        lo = hi;
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    Ok(FillFigures {
        workflows: n,
        failed: n.div_ceil(failed_every.max(1)),
        event_rows,
        elapsed_s: elapsed,
        workflows_per_s: n as f64 / elapsed.max(1e-9),
    })
}

/// Runs the two template orders to their end on the engine.
async fn run_templates(store: &BenchStore, ok: &str, failed: &str) -> anyhow::Result<()> {
    let target = EngineTarget::start(
        store,
        Workload::Orders,
        Scenario::default(),
        WorkerConfig::default(),
    );
    let result = async {
        for (id, user, expected) in [
            (ok, USER, WorkflowStatus::Completed),
            (failed, DECLINED_USER, WorkflowStatus::Failed),
        ] {
            let record = target
                .run_order(id, user, Duration::from_secs(60))
                .await
                .with_context(|| format!("template order {id}"))?;
            anyhow::ensure!(
                record.status == expected,
                "template order {id} ended {} instead of {expected}",
                record.status
            );
        }
        Ok(())
    }
    .await;
    target.shutdown().await;
    result
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
