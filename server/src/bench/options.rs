//! The command line of `steadfast bench`.
//!
//! Unlike `serve`, these flags deliberately read no environment variables:
//! a `STEADFAST_DATABASE_URL` set for a server must never point a benchmark
//! (which writes thousands of workflows) at that server's database.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

/// What the benchmark drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `process_order` on the engine with in-process activities that answer
    /// at once: measures the engine and its store.
    Engine,
    /// A real server on 127.0.0.1: orders placed by `POST /api/orders`,
    /// activities calling the simulated services over HTTP.
    Http,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Engine => "engine",
            Mode::Http => "http",
        }
    }
}

/// `steadfast bench`: run `process_order` workflows and report throughput,
/// latency, CPU, memory and database size.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// What to drive.
    #[arg(long, value_enum, default_value = "engine")]
    pub mode: Mode,
    /// Workflows to run (0: none, e.g. only `--fill` and the list measurement).
    #[arg(short = 'n', long, default_value_t = 20_000)]
    pub workflows: usize,
    /// Concurrent clients; each starts a workflow, waits for it to close,
    /// then starts the next.
    #[arg(short = 'c', long, default_value_t = 100)]
    pub concurrency: usize,
    /// Engine database: `sqlite://path` or `postgres://user@host/db` (which
    /// must exist). Default: a SQLite file in the data folder.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Folder for the SQLite files and the server's generated secrets
    /// (default: a new temporary folder, removed at the end unless `--keep`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep the temporary data folder (its path is in the report).
    #[arg(long)]
    pub keep: bool,
    /// The failure scenario: every charge fails on its first attempt (a
    /// retryable error) and succeeds on the retry 100 ms later. Engine mode.
    #[arg(long)]
    pub fail_first_charge: bool,
    /// Each workflow is `bench_steps`, this many sequential steps of an
    /// instant activity, instead of an order (engine mode): what a step
    /// costs as a workflow's history grows.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    /// First fill the database with this many closed `process_order`
    /// workflows: SQL copies of the rows the engine wrote for two real ones
    /// (one completed, one failed), in batches.
    #[arg(long, default_value_t = 0)]
    pub fill: u64,
    /// One in this many filled workflows is a failed order (charge
    /// declined, stock given back); the others completed.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub fill_failed_every: u64,
    /// Measure the latency of listing workflows (always done after `--fill`).
    #[arg(long)]
    pub list: bool,
    /// Timed repetitions of each list query.
    #[arg(long, default_value_t = 50)]
    pub list_samples: usize,
    /// Page size of the list queries (the API's default is 50).
    #[arg(long, default_value_t = 50)]
    pub list_limit: u32,
    /// Workflow tasks the engine processes at once (as `serve`).
    #[arg(long, default_value_t = 64)]
    pub workflow_concurrency: usize,
    /// Activity attempts the engine runs at once (as `serve`).
    #[arg(long, default_value_t = 256)]
    pub activity_concurrency: usize,
    /// Longest wait for one workflow to close, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
    /// Print one JSON line instead of the text report.
    #[arg(long)]
    pub json: bool,
}
