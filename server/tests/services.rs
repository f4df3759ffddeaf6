//! The simulated downstream services, tested as their callers see them: the
//! real router served on an ephemeral 127.0.0.1 port, called over HTTP.
//! Every scenario runs against the backend `STEADFAST_TEST_BACKEND` names
//! (see `testkit`): a SQLite file by default, a fresh PostgreSQL database in
//! the PostgreSQL stage of the test command.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::services::{self, Services};

/// The services' database for a test: the PostgreSQL test database, or a
/// SQLite file in the test's folder.
fn services_url(db: &testkit::TestDb) -> String {
    if db.url.starts_with("postgres") {
        db.url.clone()
    } else {
        format!(
            "sqlite:{}",
            db.dir().join("data").join("services.db").display()
        )
    }
}

/// An answer as the caller saw it.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    text: String,
    json: Value,
    replayed: bool,
}

impl Reply {
    fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }
}

/// The services on a real port, and a client.
struct Harness {
    base: String,
    http: reqwest::Client,
    services: Services,
    server: tokio::task::JoinHandle<()>,
    db: testkit::TestDb,
    url: String,
}

impl Harness {
    async fn start() -> Harness {
        let db = testkit::TestDb::new().await;
        let url = services_url(&db);
        let services = Services::open(&url).await.expect("open services");
        assert!(
            services.seed_default_catalogue().await.expect("seed"),
            "first start seeds the catalogue"
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local address");
        let app = services::router(services.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Harness {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            services,
            server,
            db,
            url,
        }
    }

    async fn stop(self) {
        self.server.abort();
        self.services.close().await;
        drop(self.db);
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let replayed = response
            .headers()
            .get(services::REPLAYED_HEADER)
            .is_some_and(|v| v == "true");
        let text = response.text().await.expect("response body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            text,
            json,
            replayed,
        }
    }

    async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(key), Some(body.to_string()))
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        let reply = self.send(Method::GET, path, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.text);
        reply
    }

    async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, None, Some(body.to_string()))
            .await
    }

    async fn reserve(&self, key: &str, order: &str, item: &str, quantity: i64) -> Reply {
        self.post(
            "/services/inventory/reserve",
            key,
            json!({ "order_id": order, "item_id": item, "quantity": quantity }),
        )
        .await
    }

    async fn charge(&self, key: &str, order: &str, user: &str, amount_cents: i64) -> Reply {
        self.post(
            "/services/payment/charge",
            key,
            json!({ "order_id": order, "user": user, "amount_cents": amount_cents }),
        )
        .await
    }

    /// `(stock, reserved, available)` of an item.
    async fn stock_of(&self, item: &str) -> (i64, i64, i64) {
        let stock = self.get("/services/inventory/stock").await.json;
        let items = stock["items"].as_array().expect("items");
        let row = items
            .iter()
            .find(|row| row["item_id"] == item)
            .unwrap_or_else(|| panic!("{item} in the catalogue"));
        let n = |field: &str| row[field].as_i64().expect("a number");
        (n("stock"), n("reserved"), n("available"))
    }

    async fn ledger(&self, service: &str) -> Vec<Value> {
        let ledger = self
            .get(&format!("/services/{service}/ledger?limit=1000"))
            .await
            .json;
        ledger["entries"].as_array().cloned().expect("entries")
    }

    async fn count(&self, path: &str, field: &str) -> usize {
        self.get(path).await.json[field]
            .as_array()
            .map(Vec::len)
            .expect("a list")
    }
}

macro_rules! assert_status {
    ($reply:expr, $status:expr) => {{
        let reply = &$reply;
        assert_eq!(reply.status, $status, "unexpected answer: {}", reply.text);
    }};
    ($reply:expr, $status:expr, $code:expr) => {{
        let reply = &$reply;
        assert_eq!(reply.status, $status, "unexpected answer: {}", reply.text);
        assert_eq!(reply.code(), $code, "unexpected answer: {}", reply.text);
    }};
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

// --- scenarios ----------------------------------------------------------------

async fn reserve_and_unreserve_balance_stock() {
    let h = Harness::start().await;
    assert_eq!(h.stock_of("sku-widget").await, (1000, 0, 1000));
    let stock = h.get("/services/inventory/stock").await.json;
    assert_eq!(stock["items"].as_array().map(Vec::len), Some(12));

    let widget = h.reserve("k1", "o1", "sku-widget", 3).await;
    assert_status!(widget, StatusCode::OK);
    assert_eq!(widget.json["status"], "held");
    assert_eq!(widget.json["quantity"], 3);
    assert_eq!(widget.json["unit_price_cents"], 499);
    assert_eq!(widget.json["amount_cents"], 3 * 499);
    let widget_id = widget.json["reservation_id"]
        .as_str()
        .expect("reservation id")
        .to_owned();
    assert!(widget_id.starts_with("rsv_"));
    assert_status!(h.reserve("k2", "o1", "sku-gadget", 2).await, StatusCode::OK);
    assert_eq!(h.stock_of("sku-widget").await, (1000, 3, 997));
    assert_eq!(h.stock_of("sku-gadget").await, (500, 2, 498));

    let by_id = h
        .post(
            "/services/inventory/unreserve",
            "k3",
            json!({ "reservation_id": widget_id }),
        )
        .await;
    assert_status!(by_id, StatusCode::OK);
    let released = by_id.json["released"].as_array().expect("released");
    assert_eq!(released.len(), 1);
    assert_eq!(released[0]["reservation_id"], widget_id.as_str());
    assert_eq!(released[0]["status"], "released");
    assert_eq!(h.stock_of("sku-widget").await, (1000, 0, 1000));
    assert_eq!(h.stock_of("sku-gadget").await, (500, 2, 498));

    let by_order = h
        .post(
            "/services/inventory/unreserve",
            "k4",
            json!({ "order_id": "o1" }),
        )
        .await;
    assert_status!(by_order, StatusCode::OK);
    assert_eq!(by_order.json["released"][0]["item_id"], "sku-gadget");
    assert_eq!(h.stock_of("sku-gadget").await, (500, 0, 500));

    // Compensating an order with nothing held is fine and changes nothing.
    let nothing = h
        .post(
            "/services/inventory/unreserve",
            "k5",
            json!({ "order_id": "o1" }),
        )
        .await;
    assert_status!(nothing, StatusCode::OK);
    assert_eq!(nothing.json["released"], json!([]));
    assert_status!(
        h.post(
            "/services/inventory/unreserve",
            "k6",
            json!({ "reservation_id": "rsv_nope" })
        )
        .await,
        UNPROCESSABLE,
        "unknown_reservation"
    );

    let reservations = h
        .get("/services/inventory/reservations?order_id=o1")
        .await
        .json;
    let reservations = reservations["reservations"].as_array().expect("list");
    assert_eq!(reservations.len(), 2);
    assert!(reservations.iter().all(|r| r["status"] == "released"));

    let ledger = h.ledger("inventory").await;
    let kinds: Vec<&str> = ledger.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "unreserve",
            "unreserve",
            "unreserve",
            "unreserve",
            "reserve",
            "reserve"
        ]
    );
    assert_eq!(ledger[0]["idempotency_key"], "k6");
    assert_eq!(ledger[0]["status"], 422);
    assert_eq!(ledger[5]["idempotency_key"], "k1");
    assert_eq!(ledger[5]["payload"]["item_id"], "sku-widget");
    assert_eq!(ledger[5]["response"]["reservation_id"], widget_id.as_str());
    let newest = h.get("/services/inventory/ledger?limit=2").await.json;
    assert_eq!(newest["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(newest["service"], "inventory");

    // A second start on the same database keeps the state and does not
    // seed again.
    let again = Services::open(&h.url).await.expect("reopen");
    assert!(!again.seed_default_catalogue().await.expect("seed again"));
    let stock = again.stock().await.expect("stock");
    assert_eq!(stock.items.len(), 12);
    again.close().await;
    h.stop().await;
}

async fn business_errors_change_nothing() {
    let h = Harness::start().await;
    let short = h.reserve("short", "o1", "sku-widget", 1001).await;
    assert_status!(short, UNPROCESSABLE, "insufficient_stock");
    assert_eq!(short.json["error"]["details"]["available"], 1000);
    assert_eq!(short.json["error"]["details"]["requested"], 1001);
    assert!(short.json["error"]["message"].is_string());
    assert_eq!(h.stock_of("sku-widget").await, (1000, 0, 1000));

    assert_status!(
        h.reserve("unknown", "o1", "sku-nope", 1).await,
        UNPROCESSABLE,
        "unknown_item"
    );
    assert_status!(
        h.reserve("sold-out", "o1", "sku-sold-out", 1).await,
        UNPROCESSABLE,
        "insufficient_stock"
    );
    // Out-of-range values are refused before the key is used.
    let zero = h.reserve("zero", "o1", "sku-widget", 0).await;
    assert_status!(zero, UNPROCESSABLE, "invalid_request");
    assert_eq!(zero.json["error"]["details"]["field"], "quantity");
    assert_eq!(
        h.count("/services/inventory/reservations", "reservations")
            .await,
        0
    );
    let ledger = h.ledger("inventory").await;
    assert_eq!(ledger.len(), 3);
    assert!(ledger.iter().all(|e| e["status"] == 422));

    // A business error is the key's answer for good, even after a restock.
    let restocked = h
        .put(
            "/services/inventory/stock/sku-widget",
            json!({ "stock": 5000 }),
        )
        .await;
    assert_status!(restocked, StatusCode::OK);
    assert_eq!(restocked.json["available"], 5000);
    let replay = h.reserve("short", "o1", "sku-widget", 1001).await;
    assert_status!(replay, UNPROCESSABLE, "insufficient_stock");
    assert_eq!(replay.text, short.text);
    assert!(replay.replayed);
    assert_status!(
        h.reserve("short-2", "o1", "sku-widget", 1001).await,
        StatusCode::OK
    );
    assert_eq!(h.stock_of("sku-widget").await, (5000, 1001, 3999));
    assert_status!(
        h.put(
            "/services/inventory/stock/sku-widget",
            json!({ "stock": 10 })
        )
        .await,
        UNPROCESSABLE,
        "stock_below_reserved"
    );
    assert_status!(
        h.put("/services/inventory/stock/sku-nope", json!({ "stock": 10 }))
            .await,
        UNPROCESSABLE,
        "unknown_item"
    );
    h.stop().await;
}

async fn replays_return_the_first_answer() {
    let h = Harness::start().await;
    let first = h.reserve("same", "o2", "sku-widget", 5).await;
    assert_status!(first, StatusCode::OK);
    assert!(!first.replayed);
    let second = h.reserve("same", "o2", "sku-widget", 5).await;
    assert_status!(second, StatusCode::OK);
    assert!(second.replayed);
    assert_eq!(second.text, first.text);
    assert_eq!(h.stock_of("sku-widget").await, (1000, 5, 995));
    let ledger = h.ledger("inventory").await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["idempotency_key"], "same");
    assert_eq!(
        ledger[0]["payload"],
        json!({ "order_id": "o2", "item_id": "sku-widget", "quantity": 5 })
    );
    assert_eq!(ledger[0]["status"], 200);
    assert_eq!(ledger[0]["response"], first.json);

    // The same key for another request is refused and changes nothing.
    let reused = h.reserve("same", "o2", "sku-widget", 6).await;
    assert_status!(reused, UNPROCESSABLE, "idempotency_key_reused");
    assert_eq!(h.stock_of("sku-widget").await, (1000, 5, 995));
    assert_eq!(h.ledger("inventory").await.len(), 1);

    // Every mutating operation replays.
    let charge = h.charge("pay", "o2", "alice", 2495).await;
    assert_status!(charge, StatusCode::OK);
    assert_eq!(charge.json["status"], "captured");
    assert!(
        charge.json["charge_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("ch_"))
    );
    assert_eq!(h.charge("pay", "o2", "alice", 2495).await.text, charge.text);
    assert_eq!(
        h.count("/services/payment/charges?order_id=o2", "charges")
            .await,
        1
    );

    let refund = h
        .post(
            "/services/payment/refund",
            "refund",
            json!({ "order_id": "o2" }),
        )
        .await;
    assert_status!(refund, StatusCode::OK);
    assert_eq!(refund.json["amount_cents"], 2495);
    assert_eq!(refund.json["refunded"][0]["status"], "refunded");
    let again = h
        .post(
            "/services/payment/refund",
            "refund",
            json!({ "order_id": "o2" }),
        )
        .await;
    assert_eq!(again.text, refund.text);
    assert!(again.replayed);
    let nothing_left = h
        .post(
            "/services/payment/refund",
            "refund-2",
            json!({ "order_id": "o2" }),
        )
        .await;
    assert_status!(nothing_left, StatusCode::OK);
    assert_eq!(nothing_left.json["amount_cents"], 0);
    assert_eq!(h.ledger("payment").await.len(), 3);

    let unreserve = h
        .post(
            "/services/inventory/unreserve",
            "undo",
            json!({ "order_id": "o2" }),
        )
        .await;
    assert_status!(unreserve, StatusCode::OK);
    let unreserve_again = h
        .post(
            "/services/inventory/unreserve",
            "undo",
            json!({ "order_id": "o2" }),
        )
        .await;
    assert_eq!(unreserve_again.text, unreserve.text);
    assert_eq!(h.stock_of("sku-widget").await, (1000, 0, 1000));
    h.stop().await;
}

async fn concurrent_calls_with_one_key_make_one_effect() {
    let h = Harness::start().await;
    let base = h.base.clone();

    let post_many = |path: &'static str, body: Value, key: Option<&'static str>| {
        let base = base.clone();
        let http = h.http.clone();
        (0..20)
            .map(move |i| {
                let (base, http, body) = (base.clone(), http.clone(), body.clone());
                tokio::spawn(async move {
                    let key = key.map_or_else(|| format!("distinct-{i}"), str::to_owned);
                    let response = http
                        .post(format!("{base}{path}"))
                        .header("Idempotency-Key", key)
                        .json(&body)
                        .send()
                        .await
                        .expect("request sent");
                    let status = response.status();
                    (status, response.text().await.expect("body"))
                })
            })
            .collect::<Vec<_>>()
    };
    let mut answers = Vec::new();
    for task in post_many(
        "/services/inventory/reserve",
        json!({ "order_id": "o3", "item_id": "sku-widget", "quantity": 7 }),
        Some("one-key"),
    ) {
        answers.push(task.await.expect("task"));
    }
    assert!(
        answers.iter().all(|(status, _)| *status == StatusCode::OK),
        "{answers:?}"
    );
    assert!(answers.iter().all(|(_, text)| *text == answers[0].1));
    assert_eq!(h.stock_of("sku-widget").await, (1000, 7, 993));
    assert_eq!(
        h.count(
            "/services/inventory/reservations?order_id=o3",
            "reservations"
        )
        .await,
        1
    );
    assert_eq!(h.ledger("inventory").await.len(), 1);

    let mut charges = Vec::new();
    for task in post_many(
        "/services/payment/charge",
        json!({ "order_id": "o3", "user": "carol", "amount_cents": 3493 }),
        Some("one-charge"),
    ) {
        charges.push(task.await.expect("task"));
    }
    assert!(
        charges.iter().all(|answer| *answer == charges[0]),
        "{charges:?}"
    );
    assert_eq!(
        h.count("/services/payment/charges?order_id=o3", "charges")
            .await,
        1
    );

    // Twenty buyers, five units: exactly five reservations, no oversell.
    let mut statuses = Vec::new();
    for task in post_many(
        "/services/inventory/reserve",
        json!({ "order_id": "o4", "item_id": "sku-limited-edition", "quantity": 1 }),
        None,
    ) {
        statuses.push(task.await.expect("task").0);
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses.iter().filter(|s| **s == UNPROCESSABLE).count();
    assert_eq!((ok, refused), (5, 15), "{statuses:?}");
    assert_eq!(h.stock_of("sku-limited-edition").await, (5, 5, 0));
    h.stop().await;
}

async fn declined_cards_are_business_errors() {
    let h = Harness::start().await;
    assert_eq!(
        h.get("/services/payment/declines").await.json["users"],
        json!([])
    );
    let set = h
        .put(
            "/services/payment/declines/mallory",
            json!({ "decline": true }),
        )
        .await;
    assert_status!(set, StatusCode::OK);
    assert_eq!(set.json, json!({ "user": "mallory", "decline": true }));
    let declines = h.get("/services/payment/declines").await.json;
    assert_eq!(declines["users"][0]["user"], "mallory");

    let declined = h.charge("m1", "o5", "mallory", 1000).await;
    assert_status!(declined, UNPROCESSABLE, "card_declined");
    assert_eq!(declined.json["error"]["details"]["user"], "mallory");
    assert_eq!(
        h.count("/services/payment/charges?order_id=o5", "charges")
            .await,
        0
    );
    assert_status!(h.charge("b1", "o6", "bob", 1000).await, StatusCode::OK);

    let cleared = h
        .put(
            "/services/payment/declines/mallory",
            json!({ "decline": false }),
        )
        .await;
    assert_status!(cleared, StatusCode::OK);
    assert_eq!(
        h.get("/services/payment/declines").await.json["users"],
        json!([])
    );
    assert_status!(h.charge("m2", "o5", "mallory", 1000).await, StatusCode::OK);
    // The first key keeps its answer.
    let replay = h.charge("m1", "o5", "mallory", 1000).await;
    assert_eq!(replay.text, declined.text);
    assert_status!(
        h.put(
            "/services/payment/declines/mallory",
            json!({ "decline": "yes" })
        )
        .await,
        StatusCode::BAD_REQUEST,
        "malformed_request"
    );
    h.stop().await;
}

async fn error_rate_fails_before_any_effect() {
    let h = Harness::start().await;
    let set = h
        .put("/services/inventory/faults", json!({ "error_rate": 1.0 }))
        .await;
    assert_status!(set, StatusCode::OK);
    assert_eq!(
        set.json,
        json!({ "error_rate": 1.0, "latency_ms": 0, "outage": false })
    );
    for _ in 0..3 {
        let failed = h.reserve("flaky", "o7", "sku-widget", 2).await;
        assert_status!(failed, StatusCode::SERVICE_UNAVAILABLE, "injected_fault");
        assert_eq!(failed.json["error"]["details"]["fault"], "error_rate");
        assert_eq!(failed.json["error"]["details"]["service"], "inventory");
    }
    assert_eq!(h.stock_of("sku-widget").await, (1000, 0, 1000));
    assert!(h.ledger("inventory").await.is_empty());
    // Other services are unaffected.
    assert_status!(h.charge("c1", "o7", "dave", 998).await, StatusCode::OK);

    h.put("/services/inventory/faults", json!({ "error_rate": 0.0 }))
        .await;
    let lifted = h.reserve("flaky", "o7", "sku-widget", 2).await;
    assert_status!(lifted, StatusCode::OK);
    assert!(!lifted.replayed);
    assert_eq!(h.stock_of("sku-widget").await, (1000, 2, 998));

    // At a partial rate, only the calls that got through left an effect.
    h.put("/services/payment/faults", json!({ "error_rate": 0.5 }))
        .await;
    let mut ok = 0;
    let mut failed = 0;
    for i in 0..40 {
        let reply = h.charge(&format!("half-{i}"), "o8", "erin", 100).await;
        match reply.status {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => failed += 1,
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert!(ok > 0 && failed > 0, "{ok} succeeded, {failed} failed");
    assert_eq!(
        h.count("/services/payment/charges?order_id=o8", "charges")
            .await,
        ok
    );
    assert_eq!(h.ledger("payment").await.len(), ok + 1);
    h.stop().await;
}

async fn outage_fails_every_call_until_lifted() {
    let h = Harness::start().await;
    h.put("/services/payment/faults", json!({ "outage": true }))
        .await;
    let down = h.charge("c1", "o9", "frank", 500).await;
    assert_status!(down, StatusCode::SERVICE_UNAVAILABLE, "injected_fault");
    assert_eq!(down.json["error"]["details"]["fault"], "outage");
    assert_status!(
        h.post(
            "/services/payment/refund",
            "r1",
            json!({ "order_id": "o9" })
        )
        .await,
        StatusCode::SERVICE_UNAVAILABLE,
        "injected_fault"
    );
    // Reads and controls still answer.
    let all = h.get("/services/faults").await.json;
    assert_eq!(all["payment"]["outage"], true);
    assert_eq!(all["inventory"]["outage"], false);
    assert_eq!(h.get("/services/payment/faults").await.json["outage"], true);
    assert!(h.ledger("payment").await.is_empty());
    assert_status!(h.reserve("r1", "o9", "sku-cog", 1).await, StatusCode::OK);

    let lifted = h
        .put("/services/payment/faults", json!({ "outage": false }))
        .await;
    assert_eq!(lifted.json["outage"], false);
    assert_status!(h.charge("c1", "o9", "frank", 500).await, StatusCode::OK);
    assert_eq!(h.ledger("payment").await.len(), 1);
    h.stop().await;
}

async fn fault_settings_are_validated() {
    let h = Harness::start().await;
    let path = "/services/inventory/faults";
    let too_high = h.put(path, json!({ "error_rate": 1.5 })).await;
    assert_status!(too_high, UNPROCESSABLE, "invalid_faults");
    assert!(too_high.json["error"]["details"]["fields"]["error_rate"].is_object());
    for body in [
        json!({ "latency_ms": -5 }),
        json!({ "latency_ms": 60_001 }),
        json!({ "latency_ms": 1.5 }),
        json!({ "error_rate": -0.1 }),
    ] {
        assert_status!(h.put(path, body).await, UNPROCESSABLE, "invalid_faults");
    }
    let both = h
        .put(
            path,
            json!({ "error_rate": 2, "latency_ms": -1, "outage": true }),
        )
        .await;
    assert_status!(both, UNPROCESSABLE, "invalid_faults");
    let fields = &both.json["error"]["details"]["fields"];
    assert!(fields["error_rate"].is_object() && fields["latency_ms"].is_object());
    // Nothing was applied, not even the valid part.
    assert_eq!(
        h.get(path).await.json,
        json!({ "error_rate": 0.0, "latency_ms": 0, "outage": false })
    );
    for body in [r#"{"error_rate": "high"}"#, r#"{"bogus": 1}"#, "{not json"] {
        let reply = h.send(Method::PUT, path, None, Some(body.to_owned())).await;
        assert_status!(reply, StatusCode::BAD_REQUEST, "malformed_request");
    }
    let unknown = h.put("/services/shipping/faults", json!({})).await;
    assert_status!(unknown, StatusCode::NOT_FOUND, "unknown_service");
    let unknown = h
        .send(Method::GET, "/services/shipping/ledger", None, None)
        .await;
    assert_status!(unknown, StatusCode::NOT_FOUND, "unknown_service");

    // Latency delays the call, then it succeeds.
    let slow = h.put(path, json!({ "latency_ms": 300 })).await;
    assert_eq!(slow.json["latency_ms"], 300);
    let started = Instant::now();
    assert_status!(h.reserve("slow", "o10", "sku-cog", 1).await, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    h.put(path, json!({ "latency_ms": 0 })).await;
    h.stop().await;
}

async fn malformed_requests_are_refused() {
    let h = Harness::start().await;
    let body = json!({ "order_id": "o11", "item_id": "sku-widget", "quantity": 1 }).to_string();
    for path in [
        "/services/inventory/reserve",
        "/services/inventory/unreserve",
        "/services/payment/charge",
        "/services/payment/refund",
        "/services/fulfilment/ship",
    ] {
        let reply = h.send(Method::POST, path, None, Some(body.clone())).await;
        assert_status!(reply, StatusCode::BAD_REQUEST, "missing_idempotency_key");
    }
    let blank = h
        .send(
            Method::POST,
            "/services/inventory/reserve",
            Some("   "),
            Some(body.clone()),
        )
        .await;
    assert_status!(blank, StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    for bad in [
        "{not json".to_owned(),
        json!({ "order_id": "o11", "item_id": "sku-widget" }).to_string(),
        json!({ "order_id": "o11", "item_id": "sku-widget", "quantity": "1" }).to_string(),
    ] {
        let reply = h
            .send(
                Method::POST,
                "/services/inventory/reserve",
                Some("bad"),
                Some(bad),
            )
            .await;
        assert_status!(reply, StatusCode::BAD_REQUEST, "malformed_request");
    }
    assert_status!(
        h.post("/services/inventory/unreserve", "empty", json!({}))
            .await,
        UNPROCESSABLE,
        "invalid_request"
    );
    assert_status!(
        h.charge("free", "o11", "gina", 0).await,
        UNPROCESSABLE,
        "invalid_request"
    );
    assert_eq!(h.stock_of("sku-widget").await, (1000, 0, 1000));
    assert!(h.ledger("inventory").await.is_empty());
    assert!(h.ledger("payment").await.is_empty());
    // The key was not used up by the refused calls.
    assert_status!(
        h.reserve("bad", "o11", "sku-widget", 1).await,
        StatusCode::OK
    );

    let limit = h
        .send(
            Method::GET,
            "/services/inventory/ledger?limit=abc",
            None,
            None,
        )
        .await;
    assert_status!(limit, StatusCode::BAD_REQUEST, "malformed_request");
    let limit = h
        .send(
            Method::GET,
            "/services/inventory/ledger?limit=0",
            None,
            None,
        )
        .await;
    assert_status!(limit, UNPROCESSABLE, "invalid_request");
    h.stop().await;
}

async fn shipping_returns_a_tracking_id() {
    let h = Harness::start().await;
    let request = json!({
        "order_id": "o12",
        "address": "1 Main Street, Springfield",
        "item_id": "sku-widget",
        "quantity": 2,
    });
    let shipped = h
        .post("/services/fulfilment/ship", "ship-1", request.clone())
        .await;
    assert_status!(shipped, StatusCode::OK);
    let tracking = shipped.json["tracking_id"].as_str().expect("tracking id");
    assert!(tracking.starts_with("TRK-"), "{tracking}");
    assert_eq!(shipped.json["address"], "1 Main Street, Springfield");
    let again = h
        .post("/services/fulfilment/ship", "ship-1", request.clone())
        .await;
    assert_eq!(again.text, shipped.text);
    let shipments = h
        .get("/services/fulfilment/shipments?order_id=o12")
        .await
        .json;
    assert_eq!(shipments["shipments"].as_array().map(Vec::len), Some(1));
    assert_eq!(shipments["shipments"][0]["tracking_id"], tracking);

    let mut nowhere = request;
    nowhere["address"] = json!("  ");
    let refused = h.post("/services/fulfilment/ship", "ship-2", nowhere).await;
    assert_status!(refused, UNPROCESSABLE, "invalid_request");
    assert_eq!(refused.json["error"]["details"]["field"], "address");
    let ledger = h.ledger("fulfilment").await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["kind"], "ship");
    h.stop().await;
}

/// Declares each scenario as a test; `STEADFAST_TEST_BACKEND` picks the
/// database (SQLite by default, PostgreSQL in the test command's
/// PostgreSQL stage).
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod scenario {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name().await;
                }
            )*
        }
    };
}

scenarios!(
    reserve_and_unreserve_balance_stock,
    business_errors_change_nothing,
    replays_return_the_first_answer,
    concurrent_calls_with_one_key_make_one_effect,
    declined_cards_are_business_errors,
    error_rate_fails_before_any_effect,
    outage_fails_every_call_until_lifted,
    fault_settings_are_validated,
    malformed_requests_are_refused,
    shipping_returns_a_tracking_id,
);
