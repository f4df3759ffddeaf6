//! Connection loss: PostgreSQL restarts mid-run; the process reconnects and
//! carries on, and no order is lost. Runs only with
//! `STEADFAST_TEST_BACKEND=postgres`, and needs the right to restart the
//! local cluster (`pg_ctlcluster`, as root on the development and CI machines).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

const OPERATOR: &str = "restart-operator";
const JWT: &str = "restart-jwt";
const ORDERS: usize = 200;

fn restart_postgres() -> bool {
    let Ok(versions) = std::fs::read_dir("/etc/postgresql") else {
        return false;
    };
    let Some(version) = versions.flatten().map(|e| e.file_name()).next() else {
        return false;
    };
    Command::new("pg_ctlcluster")
        .arg("--skip-systemctl-redirect")
        .arg(&version)
        .args(["main", "restart", "-m", "fast"])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn orders_survive_a_postgres_restart() {
    if !testkit::is_postgres() {
        eprintln!(
            "skipping orders_survive_a_postgres_restart: set STEADFAST_TEST_BACKEND=postgres to run it"
        );
        return;
    }
    let db = testkit::TestDb::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(db.dir().join("server.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(db.dir().join("data"))
        .args([
            "--database-url",
            &db.url,
            "--operator-token",
            OPERATOR,
            "--jwt-secret",
            JWT,
        ])
        .args(["--lease-seconds", "2"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "server did not come up");
    // Slow the services a little so that orders are in flight during the restart.
    for service in ["inventory", "payment", "fulfilment"] {
        http.put(format!("{base}/api/services/{service}/faults"))
            .bearer_auth(OPERATOR)
            .json(&json!({ "latency_ms": 50 }))
            .send()
            .await
            .unwrap();
    }
    let token = server::auth::Auth::new(JWT, OPERATOR)
        .issue("restart")
        .unwrap();
    let place = |i: usize| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let body = json!({ "request_id": format!("pr-{i}"), "item_id": "sku-gadget", "quantity": 1, "address": "2 Restart Rd" });
            for _ in 0..300 {
                match http
                    .post(format!("{base}/api/orders"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if matches!(r.status().as_u16(), 202 | 409) => return,
                    _ => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            panic!("order pr-{i} could not be placed");
        }
    };
    let first = futures::stream::iter(0..ORDERS / 2)
        .map(place)
        .buffer_unordered(20)
        .collect::<Vec<_>>();
    first.await;
    assert!(
        restart_postgres(),
        "could not restart PostgreSQL (pg_ctlcluster)"
    );
    futures::stream::iter(ORDERS / 2..ORDERS)
        .map(place)
        .buffer_unordered(20)
        .collect::<Vec<_>>()
        .await;

    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let counts: Value = match http
            .get(format!("{base}/api/workflows?limit=1"))
            .bearer_auth(OPERATOR)
            .send()
            .await
        {
            Ok(r) => r
                .json::<Value>()
                .await
                .map(|v| v["counts"].clone())
                .unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        if counts["completed"].as_u64() == Some(ORDERS as u64) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all orders completed after the restart: {counts}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}
