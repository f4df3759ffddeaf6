//! The orders service end to end: a real server on an ephemeral port, the
//! workflow calling the simulated services over real HTTP.
mod common;

use common::{TestServer, order_body};
use reqwest::Method;
use serde_json::{Value, json};

fn kinds(entries: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = entries
        .iter()
        .filter(|e| e["status"] == 200)
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn an_order_completes_with_one_reservation_charge_and_shipment() {
    let s = TestServer::start(&[]).await;
    let before = s.stock_of("sku-widget").await;
    let (status, body) = s.order("alice", order_body("ord-1")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["workflow_id"], "ord-1");
    assert_eq!(body["links"]["workflow"], "/api/workflows/ord-1");
    let done = s.closed("ord-1").await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, stock) = s.get("/api/services/inventory/stock").await;
    let unit_price = stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item_id"] == "sku-widget")
        .unwrap()["unit_price_cents"]
        .as_i64()
        .unwrap();
    assert_eq!(
        done["result"]["amount_cents"],
        json!(2 * unit_price),
        "{done}"
    );

    let inventory = s.ledger_for("inventory", "ord-1").await;
    let payment = s.ledger_for("payment", "ord-1").await;
    let fulfilment = s.ledger_for("fulfilment", "ord-1").await;
    assert_eq!(kinds(&inventory), ["reserve"]);
    assert_eq!(kinds(&payment), ["charge"]);
    assert_eq!(kinds(&fulfilment), ["ship"]);
    // Each effect carries the activity's idempotency key: workflow/run/seq.
    assert_eq!(inventory[0]["idempotency_key"], "ord-1/1/1");
    assert_eq!(payment[0]["idempotency_key"], "ord-1/1/2");
    assert_eq!(fulfilment[0]["idempotency_key"], "ord-1/1/3");
    let after = s.stock_of("sku-widget").await;
    assert_eq!(
        after.1,
        before.1 + 2,
        "two units stay reserved for the shipped order"
    );

    // The customer sees their own order, nobody else does.
    let own = s
        .http
        .get(s.url("/api/orders/ord-1"))
        .bearer_auth(s.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let other = s
        .http
        .get(s.url("/api/orders/ord-1"))
        .bearer_auth(s.token("mallory"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    s.stop().await;
}

#[tokio::test]
async fn a_declined_card_unreserves_and_the_order_fails() {
    let s = TestServer::start(&[]).await;
    let before = s.stock_of("sku-widget").await;
    let (status, body) = s
        .send(
            Method::PUT,
            "/api/services/payment/declines/bob",
            Some(json!({ "decline": true })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.order("bob", order_body("ord-declined")).await.0, 202);
    let done = s.closed("ord-declined").await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["error"]["kind"], "card_declined", "{done}");
    assert_eq!(
        kinds(&s.ledger_for("inventory", "ord-declined").await),
        ["reserve", "unreserve"]
    );
    assert!(
        kinds(&s.ledger_for("payment", "ord-declined").await).is_empty(),
        "no charge"
    );
    assert!(s.ledger_for("fulfilment", "ord-declined").await.is_empty());
    assert_eq!(s.stock_of("sku-widget").await, before, "stock balances");
    s.stop().await;
}

#[tokio::test]
async fn a_shipment_failing_for_good_refunds_then_unreserves() {
    let s = TestServer::start(&[]).await;
    let before = s.stock_of("sku-widget").await;
    let mut body = order_body("ord-noship");
    body["address"] = json!("Undeliverable Lane 13");
    assert_eq!(s.order("carol", body).await.0, 202);
    let done = s.closed("ord-noship").await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(
        kinds(&s.ledger_for("payment", "ord-noship").await),
        ["charge", "refund"]
    );
    assert_eq!(
        kinds(&s.ledger_for("inventory", "ord-noship").await),
        ["reserve", "unreserve"]
    );
    assert_eq!(s.stock_of("sku-widget").await, before);
    // Refund happened before unreserve (newest first).
    let history = s.state().client.history("ord-noship", None).await.unwrap();
    let scheduled: Vec<String> = history
        .iter()
        .filter_map(|e| match &e.kind {
            engine::EventKind::ActivityScheduled { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        scheduled,
        [
            "reserve_inventory",
            "charge_payment",
            "ship_package",
            "refund_payment",
            "unreserve_inventory"
        ]
    );
    s.stop().await;
}

#[tokio::test]
async fn with_half_of_all_calls_failing_two_hundred_orders_complete_with_one_charge_each() {
    let s = TestServer::start(&[]).await;
    for service in ["inventory", "payment", "fulfilment"] {
        s.set_faults(service, json!({ "error_rate": 0.5 })).await;
    }
    let ids: Vec<String> = (0..200).map(|i| format!("flaky-{i}")).collect();
    let placed = futures::future::join_all(ids.iter().map(|id| {
        let mut body = order_body(id);
        body["quantity"] = json!(1);
        s.order("dave", body)
    }))
    .await;
    assert!(placed.iter().all(|(status, _)| *status == 202));
    for id in &ids {
        let done = s.closed(id).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
    let (_, charges) = s.get("/api/services/payment/ledger?limit=1000").await;
    let charges: Vec<&Value> = charges["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "charge" && e["status"] == 200)
        .collect();
    assert_eq!(charges.len(), 200, "exactly one effective charge per order");
    let mut keys: Vec<&str> = charges
        .iter()
        .map(|e| e["idempotency_key"].as_str().unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 200);
    // The faults really happened: activities were retried.
    let (_, metrics) = (
        200,
        s.http
            .get(s.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(
        metrics.contains("steadfast_activity_failures_total"),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn cancel_during_the_hold_charges_nothing_and_restores_stock() {
    let s = TestServer::start(&["--hold-seconds", "3600"]).await;
    let before = s.stock_of("sku-widget").await;
    assert_eq!(s.order("erin", order_body("ord-hold")).await.0, 202);
    // Wait until the hold timer is pending.
    for _ in 0..200 {
        let (_, d) = s.get("/api/workflows/ord-hold").await;
        if d["pending_timers"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let (status, body) = s
        .send(
            Method::POST,
            "/api/workflows/ord-hold/cancel",
            Some(json!({ "reason": "changed my mind" })),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let done = s.closed("ord-hold").await;
    assert_eq!(done["status"], "cancelled", "{done}");
    assert!(
        s.ledger_for("payment", "ord-hold").await.is_empty(),
        "nothing charged"
    );
    assert_eq!(
        kinds(&s.ledger_for("inventory", "ord-hold").await),
        ["reserve", "unreserve"]
    );
    assert_eq!(s.stock_of("sku-widget").await, before);
    // Acting on a closed workflow is a conflict that says why.
    let (status, body) = s
        .send(Method::POST, "/api/workflows/ord-hold/cancel", None)
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "wrong_state");
    s.stop().await;
}

#[tokio::test]
async fn a_repeated_request_id_is_a_conflict_and_still_one_workflow() {
    let s = TestServer::start(&[]).await;
    assert_eq!(s.order("frank", order_body("ord-dup")).await.0, 202);
    let (status, body) = s.order("frank", order_body("ord-dup")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "already_submitted");
    assert_eq!(
        body["error"]["details"]["links"]["workflow"],
        "/api/workflows/ord-dup"
    );
    let mut other = order_body("ord-dup");
    other["quantity"] = json!(5);
    let (status, body) = s.order("frank", other).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("other data")
    );
    s.closed("ord-dup").await;
    let (_, list) = s.get("/api/workflows?id_prefix=ord-dup").await;
    assert_eq!(list["workflows"].as_array().unwrap().len(), 1);
    assert_eq!(kinds(&s.ledger_for("payment", "ord-dup").await), ["charge"]);
    s.stop().await;
}

#[tokio::test]
async fn bad_requests_get_their_status_and_change_nothing() {
    let s = TestServer::start(&[]).await;
    let token = s.token("gina");
    let post = |body: String, auth: Option<String>| {
        let mut req = s
            .http
            .post(s.url("/api/orders"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let good = order_body("ord-bad").to_string();
    let bearer = Some(format!("Bearer {token}"));

    let (status, body) = post("{not json".into(), bearer.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_json")),
        "{body}"
    );

    let invalid = json!({ "request_id": "has spaces", "item_id": "sku-widget", "quantity": 0, "address": " " });
    let (status, body) = post(invalid.to_string(), bearer.clone()).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["request_id", "quantity", "address"]);
    let huge = json!({ "request_id": "x", "item_id": "sku-widget", "quantity": 1_000_000_000, "address": "a" });
    assert_eq!(post(huge.to_string(), bearer.clone()).await.0, 422);
    let long_id = json!({ "request_id": "x".repeat(129), "item_id": "sku-widget", "quantity": 1, "address": "a" });
    assert_eq!(post(long_id.to_string(), bearer.clone()).await.0, 422);
    let wrong_type =
        json!({ "request_id": "x", "item_id": "sku-widget", "quantity": "two", "address": "a" });
    assert_eq!(post(wrong_type.to_string(), bearer.clone()).await.0, 422);

    let (status, body) = post(good.clone(), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(
        post(good.clone(), Some("Bearer forged.token.here".into()))
            .await
            .0,
        401
    );
    let other_secret = server::auth::Auth::new("another-secret", "x")
        .issue("gina")
        .unwrap();
    assert_eq!(
        post(good.clone(), Some(format!("Bearer {other_secret}")))
            .await
            .0,
        401
    );

    let oversized = json!({ "request_id": "big", "item_id": "sku-widget", "quantity": 1, "address": "a".repeat(200_000) });
    let (status, body) = post(oversized.to_string(), bearer.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );

    // Operator endpoints refuse customers and strangers.
    let res = s
        .http
        .get(s.url("/api/workflows"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = s.http.get(s.url("/api/workflows")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(s.get("/api/workflows/nope").await.0, 404);
    assert_eq!(s.get("/api/workflows?status=sideways").await.0, 422);
    assert_eq!(s.get("/api/nope").await.0, 404);

    // Nothing was persisted by any of it.
    let (_, list) = s.get("/api/workflows").await;
    assert_eq!(list["workflows"], json!([]));
    assert_eq!(list["counts"]["running"], 0);
    assert!(s.ledger_for("inventory", "ord-bad").await.is_empty());
    s.stop().await;
}
