//! `steadfast bench`: runs N `process_order` workflows with C concurrent
//! clients and reports throughput, latency from start to completion, CPU
//! per workflow, peak memory and database size, with the durability
//! setting each figure was measured under.
//!
//! - [`options`]: the command line;
//! - [`engine_mode`] and [`http_mode`]: the two things it drives (the
//!   engine with instant in-process activities; a real server over HTTP);
//! - [`runner`]: the concurrent clients;
//! - [`fill`]: a database with many closed workflows, and [`list`]: how
//!   long listing them takes;
//! - [`database`]: where the data lives, its durability and size;
//! - [`stats`] and [`report`]: the numbers and how they are shown.
//!
//! ```text
//! steadfast bench                                  # engine mode, SQLite, N=20,000, C=100
//! steadfast bench --mode http -n 5000
//! steadfast bench --database-url postgres://postgres@127.0.0.1:5432/steadfast_bench
//! steadfast bench --fail-first-charge -n 2000
//! steadfast bench --steps 1000 -n 100             # 100 workflows of 1,000 steps each
//! steadfast bench --fill 1000000 -n 0              # then time the list queries
//! steadfast bench --json                           # one JSON line
//! ```

pub mod database;
pub mod engine_mode;
pub mod fill;
pub mod http_mode;
pub mod list;
pub mod options;
pub mod report;
pub mod runner;
pub mod stats;

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use options::{BenchArgs, Mode};
pub use report::Report;

use database::{BenchStore, Location, sqlite_bytes};
use engine::WorkerConfig;
use engine_mode::{EngineTarget, Scenario, Workload};
use http_mode::HttpTarget;
use report::RunFigures;
use runner::Target;

/// A progress bar on the terminal (stderr; drawn only when it is one).
fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg:>9} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Sets up logging for the benchmark: warnings and errors only unless
/// `RUST_LOG` says otherwise, so that the progress bar stays readable.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the benchmark that `args` describe.
pub async fn run(args: &BenchArgs) -> anyhow::Result<Report> {
    if args.fail_first_charge && args.mode == Mode::Http {
        anyhow::bail!(
            "--fail-first-charge is an engine-mode scenario: over HTTP the payment service's \
             faults are random (an error rate), not \"the first attempt\""
        );
    }
    if args.steps.is_some() && (args.mode == Mode::Http || args.fail_first_charge) {
        anyhow::bail!(
            "--steps runs `bench_steps` on the engine: it goes with neither --mode http nor \
             --fail-first-charge"
        );
    }
    let mut location = Location::new(args.database_url.as_deref(), args.data_dir.as_deref())?;
    if args.keep {
        location.keep();
    }
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let store = BenchStore::open(&location.url).await?;
    let durability = store.durability().await?;

    let fill = if args.fill > 0 {
        let bar = progress(args.fill, "fill");
        Some(fill::fill(&store, args.fill, args.fill_failed_every, &tag, bar).await?)
    } else {
        None
    };

    let scenario = Scenario {
        fail_first_charge: args.fail_first_charge,
    };
    let config = WorkerConfig {
        workflow_concurrency: args.workflow_concurrency.max(1),
        activity_concurrency: args.activity_concurrency.max(1),
        ..WorkerConfig::default()
    };
    let target = Arc::new(match args.mode {
        Mode::Engine => {
            let workload = args.steps.map_or(Workload::Orders, Workload::Steps);
            Target::Engine(EngineTarget::start(&store, workload, scenario, config))
        }
        Mode::Http => Target::Http(Box::new(
            HttpTarget::start(args, &location, args.workflows as u64).await?,
        )),
    });

    let mut peak_before_run = 0;
    let run = if args.workflows > 0 {
        store.checkpoint().await;
        let bytes_before = store.bytes(&location).await?;
        peak_before_run = stats::peak_rss_bytes();
        stats::reset_peak_rss();
        let sample = stats::Sample::now(location.is_local_server());
        let result = runner::run(
            target.clone(),
            &format!("bench-{tag}-"),
            args.workflows,
            args.concurrency,
            Duration::from_secs(args.timeout_secs),
            progress(args.workflows as u64, "workflows"),
        )
        .await;
        let usage = sample.since();
        let peak = stats::peak_rss_bytes();
        store.checkpoint().await;
        let bytes_after = store.bytes(&location).await?;
        Some(RunFigures::new(
            result,
            args.workflows,
            args.concurrency,
            args.steps,
            usage,
            peak,
            bytes_after as i64 - bytes_before as i64,
        ))
    } else {
        None
    };

    let list = if args.fill > 0 || args.list {
        Some(list::measure(target.client(), args.list_limit, args.list_samples).await?)
    } else {
        None
    };

    if let Some(target) = Arc::into_inner(target) {
        target.shutdown().await;
    }
    store.checkpoint().await;
    let database_bytes = store.bytes(&location).await?;
    store.close().await;
    let services_database_bytes = (args.mode == Mode::Http
        && location.backend == database::Backend::Sqlite)
        .then(|| sqlite_bytes(&location.dir.join("services.db")));

    // The high-water mark may have been reset since the run (another bench
    // in this process, as in the tests): the run's own peak counts too.
    let peak_rss_bytes = stats::peak_rss_bytes()
        .max(peak_before_run)
        .max(run.as_ref().map_or(0, |r| r.peak_rss_bytes));
    Ok(Report {
        mode: args.mode,
        backend: location.backend,
        database: location.display_url(),
        data_dir: args.keep.then(|| location.dir.display().to_string()),
        durability,
        scenario: args.fail_first_charge.then(|| {
            format!(
                "every charge fails on attempt 1 ({}, retryable) and succeeds on attempt 2, {} ms later",
                engine_mode::SCENARIO_ERROR_KIND,
                engine_mode::charge_options().retry.initial_interval.as_millis()
            )
        }),
        machine: stats::Machine::this(),
        fill,
        run,
        list,
        database_bytes,
        services_database_bytes,
        peak_rss_bytes,
    })
}
