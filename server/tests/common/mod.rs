//! A real `steadfast serve` on an ephemeral port with its own data folder,
//! and a small HTTP client for the tests.
#![allow(dead_code)]

use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};
use server::cli::{Cli, Command, ServeArgs};
use server::serve::Server;

pub const OPERATOR: &str = "test-operator-token";

pub struct TestServer {
    pub server: Option<Server>,
    pub base: String,
    pub http: reqwest::Client,
    /// The database of the backend under test (SQLite files live in its folder).
    pub db: testkit::TestDb,
}

/// Arguments as a person would type them, with the test database (the
/// PostgreSQL one when `STEADFAST_TEST_BACKEND=postgres`, else SQLite files
/// in its folder).
pub fn args(db: &testkit::TestDb, extra: &[&str]) -> ServeArgs {
    let dir = db.dir();
    let mut argv = vec![
        "steadfast".to_string(),
        "serve".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        dir.display().to_string(),
        "--operator-token".into(),
        OPERATOR.into(),
        "--jwt-secret".into(),
        "test-jwt-secret".into(),
    ];
    if db.url.starts_with("postgres") {
        argv.extend(["--database-url".to_string(), db.url.clone()]);
    }
    argv.extend(extra.iter().map(|s| s.to_string()));
    match Cli::parse_from(argv).command {
        Command::Serve(args) => *args,
        _ => unreachable!("serve was parsed"),
    }
}

impl TestServer {
    pub async fn start(extra: &[&str]) -> Self {
        let db = testkit::TestDb::new().await;
        let server = Server::start(&args(&db, extra))
            .await
            .expect("server starts");
        let base = format!("http://{}", server.addr);
        Self {
            server: Some(server),
            base,
            http: reqwest::Client::new(),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, user: &str) -> String {
        self.state().auth.issue(user).expect("token")
    }

    pub fn state(&self) -> &server::state::AppState {
        &self.server.as_ref().expect("running").state
    }

    /// `POST /api/orders` as `user`; returns status and JSON body.
    pub async fn order(&self, user: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(self.url("/api/orders"))
            .bearer_auth(self.token(user))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(self.url(path))
            .bearer_auth(OPERATOR)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(OPERATOR);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Waits (bounded) for a workflow to close; returns its record.
    pub async fn closed(&self, id: &str) -> Value {
        let record = self
            .state()
            .client
            .wait_closed(id, Duration::from_secs(60))
            .await
            .expect("workflow closes");
        serde_json::to_value(record).expect("json")
    }

    pub async fn set_faults(&self, service: &str, faults: Value) {
        let (status, body) = self
            .send(
                reqwest::Method::PUT,
                &format!("/api/services/{service}/faults"),
                Some(faults),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Ledger entries of a service for one order id.
    pub async fn ledger_for(&self, service: &str, order_id: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/api/services/{service}/ledger?limit=1000"))
            .await;
        assert_eq!(status, 200, "{body}");
        body["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e.to_string().contains(&format!("\"{order_id}\"")))
            .cloned()
            .collect()
    }

    pub async fn stock_of(&self, item: &str) -> (i64, i64) {
        let (_, body) = self.get("/api/services/inventory/stock").await;
        let item = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["item_id"] == item)
            .expect("item")
            .clone();
        (
            item["stock"].as_i64().unwrap_or(-1),
            item["reserved"].as_i64().unwrap_or(-1),
        )
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

pub fn order_body(request_id: &str) -> Value {
    json!({ "request_id": request_id, "item_id": "sku-widget", "quantity": 2, "address": "1 Main St, Springfield" })
}
