//! The report: every figure of a benchmark, printed for a person or as one
//! JSON line.

use std::fmt;

use serde::Serialize;

use super::database::Backend;
use super::fill::FillFigures;
use super::list::ListFigures;
use super::options::Mode;
use super::runner::{Outcomes, RunResult};
use super::stats::{Machine, Percentiles, Usage};

/// The workflow run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    pub workflows: usize,
    pub concurrency: usize,
    pub outcomes: Outcomes,
    pub elapsed_s: f64,
    /// Workflows closed per second of the run.
    pub throughput_per_s: f64,
    /// From placing the order to observing its workflow closed.
    pub latency: Percentiles,
    pub usage: Usage,
    /// CPU (user + system) of this process per workflow.
    pub cpu_ms_per_workflow: f64,
    /// CPU of the local PostgreSQL server per workflow.
    pub postgres_cpu_ms_per_workflow: Option<f64>,
    /// Peak resident memory during the run (`VmHWM`).
    pub peak_rss_bytes: u64,
    /// Growth of the engine's database during the run.
    pub database_growth_bytes: i64,
    pub bytes_per_workflow: f64,
    /// Per step, when each workflow was `bench_steps` (`--steps`).
    pub steps: Option<StepFigures>,
}

/// What a step of `bench_steps` cost: the run's figures divided by the
/// steps of the workflows that closed.
#[derive(Debug, Clone, Serialize)]
pub struct StepFigures {
    pub per_workflow: u64,
    pub per_s: f64,
    /// CPU (user + system) of this process per step, in microseconds.
    pub cpu_us_per_step: f64,
    pub bytes_per_step: f64,
}

impl RunFigures {
    pub fn new(
        result: RunResult,
        workflows: usize,
        concurrency: usize,
        steps_per_workflow: Option<u64>,
        usage: Usage,
        peak_rss_bytes: u64,
        database_growth_bytes: i64,
    ) -> Self {
        let closed = result.latencies.len();
        let per = |seconds: f64| seconds * 1e3 / closed.max(1) as f64;
        let elapsed_s = result.elapsed.as_secs_f64();
        let steps = steps_per_workflow.map(|k| {
            let steps = (closed as u64 * k).max(1) as f64;
            StepFigures {
                per_workflow: k,
                per_s: steps / elapsed_s.max(1e-9),
                cpu_us_per_step: usage.cpu.total_s() * 1e6 / steps,
                bytes_per_step: database_growth_bytes as f64 / steps,
            }
        });
        Self {
            steps,
            workflows,
            concurrency,
            throughput_per_s: closed as f64 / elapsed_s.max(1e-9),
            latency: Percentiles::of(&result.latencies),
            cpu_ms_per_workflow: per(usage.cpu.total_s()),
            postgres_cpu_ms_per_workflow: usage.postgres_cpu.map(|c| per(c.total_s())),
            outcomes: result.outcomes,
            elapsed_s,
            usage,
            peak_rss_bytes,
            database_growth_bytes,
            bytes_per_workflow: database_growth_bytes as f64 / closed.max(1) as f64,
        }
    }
}

/// Everything one `steadfast bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: Mode,
    pub backend: Backend,
    /// The database (password hidden).
    pub database: String,
    /// The data folder, when it is kept.
    pub data_dir: Option<String>,
    /// When a commit counts as durable, as the store's connections say.
    pub durability: String,
    /// The failure scenario, if any.
    pub scenario: Option<String>,
    pub machine: Machine,
    pub fill: Option<FillFigures>,
    pub run: Option<RunFigures>,
    pub list: Option<ListFigures>,
    /// The engine's database at the end (SQLite: file + WAL after a
    /// checkpoint; PostgreSQL: `pg_database_size`).
    pub database_bytes: u64,
    /// The simulated services' SQLite file (http mode).
    pub services_database_bytes: Option<u64>,
    /// Peak resident memory of the whole process.
    pub peak_rss_bytes: u64,
}

impl Report {
    /// Whether every workflow started and completed.
    pub fn all_completed(&self) -> bool {
        self.run
            .as_ref()
            .is_none_or(|r| r.outcomes.errors == 0 && r.outcomes.completed == r.workflows as u64)
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn load(l: [f64; 3]) -> String {
    format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2])
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "steadfast bench: {} mode, {} ({})",
            self.mode.as_str(),
            self.backend.name(),
            self.database
        )?;
        writeln!(
            f,
            "machine:     {} cores, {}, {:.1} GiB",
            self.machine.cores,
            self.machine.cpu_model,
            self.machine.memory_bytes as f64 / (1u64 << 30) as f64
        )?;
        writeln!(f, "durability:  {}", self.durability)?;
        if let Some(s) = &self.scenario {
            writeln!(f, "scenario:    {s}")?;
        }
        if let Some(fill) = &self.fill {
            writeln!(
                f,
                "fill:        {} workflows ({} failed), {} event rows, in {:.1} s ({:.0} workflows/s)",
                fill.workflows, fill.failed, fill.event_rows, fill.elapsed_s, fill.workflows_per_s
            )?;
        }
        if let Some(run) = &self.run {
            let o = &run.outcomes;
            writeln!(
                f,
                "workflows:   {} with {} concurrent clients: {} completed, {} failed, {} other, {} errors",
                run.workflows, run.concurrency, o.completed, o.failed, o.other, o.errors
            )?;
            for e in &o.first_errors {
                writeln!(f, "  error:     {e}")?;
            }
            writeln!(
                f,
                "throughput:  {:.0} workflows/s ({:.2} s)",
                run.throughput_per_s, run.elapsed_s
            )?;
            if let Some(s) = &run.steps {
                writeln!(
                    f,
                    "steps:       {} per workflow: {:.0} steps/s, {:.1} µs CPU and {:.0} bytes per step",
                    s.per_workflow, s.per_s, s.cpu_us_per_step, s.bytes_per_step
                )?;
            }
            let l = &run.latency;
            writeln!(
                f,
                "latency:     p50 {}, p95 {}, p99 {}, max {} (mean {}; start to completion)",
                ms(l.p50_ms),
                ms(l.p95_ms),
                ms(l.p99_ms),
                ms(l.max_ms),
                ms(l.mean_ms)
            )?;
            let u = &run.usage;
            writeln!(
                f,
                "cpu:         {:.2} ms per workflow ({:.2} s user + {:.2} s sys; {:.2} cores busy)",
                run.cpu_ms_per_workflow,
                u.cpu.user_s,
                u.cpu.sys_s,
                u.cpu.total_s() / u.elapsed_s.max(1e-9)
            )?;
            if let (Some(pg), Some(per)) = (&u.postgres_cpu, run.postgres_cpu_ms_per_workflow) {
                writeln!(
                    f,
                    "postgres:    {per:.2} ms CPU per workflow ({:.2} s user + {:.2} s sys, all local postgres processes)",
                    pg.user_s, pg.sys_s
                )?;
            }
            writeln!(
                f,
                "memory:      peak RSS {} during the run",
                mb(run.peak_rss_bytes)
            )?;
            writeln!(
                f,
                "database:    +{} during the run ({:.0} bytes per workflow)",
                mb(run.database_growth_bytes.max(0) as u64),
                run.bytes_per_workflow
            )?;
            if let (Some(busy), Some(others)) = (u.machine_busy_cores, u.others_busy_cores) {
                writeln!(
                    f,
                    "machine:     {busy:.2} of {} cores busy, {others:.2} by other processes",
                    self.machine.cores
                )?;
            }
            writeln!(
                f,
                "load:        {} before, {} after",
                load(u.loadavg_before),
                load(u.loadavg_after)
            )?;
        }
        if let Some(list) = &self.list {
            writeln!(
                f,
                "list:        {} workflows stored ({} failed), pages of {}",
                list.stored_workflows, list.stored_failed, list.limit
            )?;
            for q in &list.queries {
                writeln!(
                    f,
                    "  {}: {} rows; first {}, then p50 {}, p95 {}, max {} ({} samples)",
                    q.name,
                    q.returned,
                    ms(q.first_ms),
                    ms(q.latency.p50_ms),
                    ms(q.latency.p95_ms),
                    ms(q.latency.max_ms),
                    q.latency.count
                )?;
            }
        }
        write!(
            f,
            "size:        engine database {}",
            mb(self.database_bytes)
        )?;
        if let Some(s) = self.services_database_bytes {
            write!(f, ", services database {}", mb(s))?;
        }
        writeln!(f, "; process peak RSS {}", mb(self.peak_rss_bytes))?;
        if let Some(dir) = &self.data_dir {
            writeln!(f, "data kept:   {dir}")?;
        }
        Ok(())
    }
}
