//! Scale-out on PostgreSQL with real processes: three `steadfast serve`
//! processes share one database; one is SIGKILLed mid-run, another SIGSTOPped
//! past its leases; every order completes once and every downstream effect
//! happens once per idempotency key. Also: a database unreachable at start-up
//! is a clear error and a non-zero exit.
//!
//! Runs only with `STEADFAST_TEST_BACKEND=postgres` (the test command's
//! PostgreSQL stage); prints why it skipped otherwise.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use sqlx::Connection;

const OPERATOR: &str = "scale-operator";
const JWT: &str = "scale-jwt-secret";
const ORDERS: usize = 1_000;

fn skipped(test: &str) -> bool {
    let skip = !testkit::is_postgres();
    if skip {
        eprintln!("skipping {test}: set STEADFAST_TEST_BACKEND=postgres to run it");
    }
    skip
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `steadfast serve` child process, killed when dropped.
struct Process {
    child: Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = signal(&self.child, "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, name: &str) -> std::io::Result<std::process::ExitStatus> {
    Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
}

async fn spawn(db: &testkit::TestDb, n: usize) -> Process {
    let port = free_port();
    let dir = db.dir().join(format!("p{n}"));
    let log = std::fs::File::create(db.dir().join(format!("p{n}.log"))).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&dir)
        .args([
            "--database-url",
            &db.url,
            "--operator-token",
            OPERATOR,
            "--jwt-secret",
            JWT,
        ])
        .args(["--lease-seconds", "2", "--log-format", "json"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn steadfast");
    let process = Process {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(res) = http.get(format!("{}/healthz", process.base)).send().await
            && res.status().is_success()
        {
            return process;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("steadfast process {n} did not come up");
}

async fn counts(http: &reqwest::Client, base: &str) -> Option<Value> {
    let res = http
        .get(format!("{base}/api/workflows?limit=1"))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .ok()?;
    Some(res.json::<Value>().await.ok()?["counts"].clone())
}

/// Places an order, retrying while the process answers 5xx or not at all
/// (the request id makes retries safe).
async fn place(http: &reqwest::Client, bases: &[String], token: &str, i: usize) {
    let body = json!({ "request_id": format!("so-{i}"), "item_id": "sku-widget", "quantity": 1, "address": "1 Scale St" });
    for attempt in 0..100 {
        let base = &bases[(i + attempt) % bases.len()];
        match http
            .post(format!("{base}/api/orders"))
            .bearer_auth(token)
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
        {
            Ok(res) if res.status().as_u16() == 202 || res.status().as_u16() == 409 => return,
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("order so-{i} could not be placed");
}

#[tokio::test]
async fn three_processes_survive_a_sigkill_and_a_sigstop_with_every_effect_once() {
    if skipped("three_processes_survive_a_sigkill_and_a_sigstop_with_every_effect_once") {
        return;
    }
    let db = testkit::TestDb::new().await;
    let mut procs = Vec::new();
    for n in 0..3 {
        procs.push(spawn(&db, n).await);
    }
    let http = reqwest::Client::new();
    for p in &procs {
        for service in ["inventory", "payment", "fulfilment"] {
            let res = http
                .put(format!("{}/api/services/{service}/faults", p.base))
                .bearer_auth(OPERATOR)
                .json(&json!({ "error_rate": 0.2 }))
                .send()
                .await
                .expect("set faults");
            assert!(res.status().is_success());
        }
    }
    let token = server::auth::Auth::new(JWT, OPERATOR)
        .issue("load")
        .expect("token");
    let bases: Vec<String> = procs.iter().map(|p| p.base.clone()).collect();
    futures::stream::iter(0..ORDERS)
        .map(|i| place(&http, &bases, &token, i))
        .buffer_unordered(50)
        .collect::<Vec<_>>()
        .await;

    // Midway: kill one process outright, freeze another past its leases.
    let survivor = procs[2].base.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = counts(&http, &survivor)
            .await
            .map(|c| c["completed"].as_u64().unwrap_or(0));
        if done.unwrap_or(0) >= (ORDERS / 4) as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {done:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let killed = procs.remove(0);
    drop(killed); // SIGKILL
    let frozen = &procs[0];
    signal(&frozen.child, "STOP").expect("SIGSTOP");
    tokio::time::sleep(Duration::from_secs(15)).await; // past its workflow and activity leases
    signal(&frozen.child, "CONT").expect("SIGCONT");

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let c = counts(&http, &survivor).await.unwrap_or(Value::Null);
        if c["completed"].as_u64() == Some(ORDERS as u64) {
            break;
        }
        assert_eq!(c["failed"].as_u64().unwrap_or(0), 0, "{c}");
        assert!(Instant::now() < deadline, "not all orders completed: {c}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every effect happened once per order and key, and each workflow completed once.
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    for (table, what) in [
        ("inventory_reservations", "reservation"),
        ("payment_charges", "charge"),
        ("fulfilment_shipments", "shipment"),
    ] {
        let (rows, orders, keys): (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), COUNT(DISTINCT order_id), COUNT(DISTINCT idempotency_key) FROM {table}"
        )))
        .fetch_one(&mut conn)
        .await
        .expect("count effects");
        assert_eq!(
            (rows, orders, keys),
            (ORDERS as i64, ORDERS as i64, ORDERS as i64),
            "{what}s"
        );
    }
    // One event per row (a row may hold several, `last_id` set).
    const EVENTS: &str = "WITH e AS (SELECT workflow_id, ev FROM events, LATERAL \
         jsonb_array_elements(CASE WHEN last_id IS NULL THEN jsonb_build_array(payload::jsonb) \
         ELSE payload::jsonb END) AS ev) ";
    let twice: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "{EVENTS}SELECT COUNT(*) FROM (SELECT workflow_id FROM e \
         WHERE ev->>'type' = 'WorkflowCompleted' GROUP BY workflow_id HAVING COUNT(*) <> 1) t"
    )))
    .fetch_one(&mut conn)
    .await
    .expect("count completions");
    assert_eq!(twice, 0, "a workflow completed more than once");
    let completions: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "{EVENTS}SELECT COUNT(*) FROM e WHERE ev->>'type' = 'WorkflowCompleted'"
    )))
    .fetch_one(&mut conn)
    .await
    .expect("count completions");
    assert_eq!(completions, ORDERS as i64);
    let dup_outcomes: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "{EVENTS}SELECT COUNT(*) FROM (SELECT workflow_id, ev->>'seq' FROM e \
         WHERE ev->>'type' = 'ActivityCompleted' GROUP BY 1, 2 HAVING COUNT(*) <> 1) t"
    )))
    .fetch_one(&mut conn)
    .await
    .expect("count outcomes");
    assert_eq!(dup_outcomes, 0, "an activity outcome was recorded twice");
    let _ = conn.close().await;
    drop(procs);
}

#[tokio::test]
async fn an_unreachable_database_at_start_up_is_a_clear_error_and_non_zero_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/nowhere",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run steadfast");
    assert!(!output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it must not hang"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
}
