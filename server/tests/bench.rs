//! `steadfast bench` with a tiny N: the report's counts add up. No timing
//! is asserted (the machine may be busy); only that the numbers are sane.
//! Runs against the backend under test (`STEADFAST_TEST_BACKEND`).

use clap::Parser;
use server::bench::{self, BenchArgs};
use server::cli::{Cli, Command};

fn bench_args(db: &testkit::TestDb, extra: &[&str]) -> BenchArgs {
    let dir = db.dir().join("bench");
    let mut argv = vec![
        "steadfast".to_string(),
        "bench".into(),
        "--database-url".into(),
        db.url.clone(),
        "--data-dir".into(),
        dir.display().to_string(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    match Cli::parse_from(argv).command {
        Command::Bench(args) => *args,
        _ => unreachable!("bench was parsed"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_mode_runs_every_workflow_to_completion() {
    let db = testkit::TestDb::new().await;
    let report = bench::run(&bench_args(&db, &["-n", "20", "-c", "4"]))
        .await
        .expect("bench runs");
    let run = report.run.as_ref().expect("a run");
    assert_eq!(run.workflows, 20);
    assert_eq!(run.outcomes.completed, 20, "{:?}", run.outcomes);
    assert_eq!(
        run.outcomes.failed + run.outcomes.other + run.outcomes.errors,
        0
    );
    assert!(report.all_completed());
    assert_eq!(run.latency.count, 20);
    let l = &run.latency;
    assert!(0.0 < l.p50_ms && l.p50_ms <= l.p95_ms && l.p95_ms <= l.p99_ms && l.p99_ms <= l.max_ms);
    assert!(l.mean_ms <= l.max_ms);
    assert!(run.throughput_per_s > 0.0 && run.elapsed_s > 0.0);
    assert!(run.usage.cpu.total_s() >= 0.0 && run.cpu_ms_per_workflow >= 0.0);
    assert!(run.peak_rss_bytes > 0 && report.peak_rss_bytes >= run.peak_rss_bytes);
    assert!(report.database_bytes > 0);
    if db.url.starts_with("sqlite") {
        assert!(
            report.durability.contains("synchronous=FULL"),
            "{}",
            report.durability
        );
    } else {
        assert!(
            report.durability.contains("synchronous_commit=on"),
            "{}",
            report.durability
        );
    }
    assert!(report.list.is_none() && report.fill.is_none());
    // The JSON line parses and says the same.
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert_eq!(json["run"]["outcomes"]["completed"], 20);
    assert_eq!(json["mode"], "engine");
    assert!(!report.to_string().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failure_scenario_retries_every_charge_once() {
    let db = testkit::TestDb::new().await;
    let report = bench::run(&bench_args(
        &db,
        &["-n", "6", "-c", "3", "--fail-first-charge"],
    ))
    .await
    .expect("bench runs");
    let run = report.run.as_ref().expect("a run");
    assert_eq!(run.outcomes.completed, 6, "{:?}", run.outcomes);
    assert!(report.scenario.is_some());
    // Every workflow waited out the charge's 100 ms backoff.
    assert!(run.latency.p50_ms >= 100.0, "{:?}", run.latency);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fill_copies_closed_workflows_and_lists_them() {
    let db = testkit::TestDb::new().await;
    let report = bench::run(&bench_args(
        &db,
        &[
            "-n",
            "5",
            "--fill",
            "250",
            "--fill-failed-every",
            "50",
            "--list-samples",
            "2",
        ],
    ))
    .await
    .expect("bench runs");
    let fill = report.fill.as_ref().expect("a fill");
    assert_eq!((fill.workflows, fill.failed), (250, 5));
    // At least the four rows of an order whose every transition ran
    // eagerly, per copy (a template whose steps were not eager has more).
    assert!(fill.event_rows >= 250 * 4, "{} event rows", fill.event_rows);
    let list = report.list.as_ref().expect("list figures");
    // 250 copies, 2 templates (one failed), 5 benchmark orders.
    assert_eq!(list.stored_workflows, 257);
    assert_eq!(list.stored_failed, 6);
    let failed_page = &list.queries[0];
    assert_eq!(failed_page.returned, 6);
    assert_eq!(failed_page.latency.count, 2);
    assert_eq!(list.queries[2].returned, 50, "unfiltered first page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_mode_places_orders_through_the_api() {
    let db = testkit::TestDb::new().await;
    let report = bench::run(&bench_args(&db, &["--mode", "http", "-n", "5", "-c", "2"]))
        .await
        .expect("bench runs");
    let run = report.run.as_ref().expect("a run");
    assert_eq!(run.outcomes.completed, 5, "{:?}", run.outcomes);
    assert!(report.all_completed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_mode_runs_long_workflows_and_reports_per_step() {
    let db = testkit::TestDb::new().await;
    let report = bench::run(&bench_args(&db, &["--steps", "40", "-n", "3", "-c", "2"]))
        .await
        .expect("bench runs");
    let run = report.run.as_ref().expect("a run");
    // A workflow that closed with any other count than 40 is an error.
    assert_eq!(run.outcomes.completed, 3, "{:?}", run.outcomes);
    assert!(report.all_completed());
    let steps = run.steps.as_ref().expect("per-step figures");
    assert_eq!(steps.per_workflow, 40);
    assert!(steps.per_s > run.throughput_per_s * 39.0, "{steps:?}");
    assert!(steps.cpu_us_per_step >= 0.0);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("json");
    assert_eq!(json["run"]["steps"]["per_workflow"], 40);
    assert!(report.to_string().contains("40 per workflow"));
}

#[tokio::test]
async fn steps_mode_refuses_http_and_the_failure_scenario() {
    let db = testkit::TestDb::new().await;
    for extra in [&["--mode", "http"][..], &["--fail-first-charge"]] {
        let mut argv = vec!["--steps", "10", "-n", "1"];
        argv.extend_from_slice(extra);
        let error = bench::run(&bench_args(&db, &argv))
            .await
            .expect_err("refused");
        assert!(error.to_string().contains("--steps"), "{error}");
    }
}
