//! The dashboard over HTTP, as a browser's requests reach it: the
//! read-only switch and the workflows page's type filter.
mod common;

use common::{OPERATOR, TestServer};
use serde_json::Value;

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Logs in with the operator token; returns the session cookie (`name=value`).
async fn login(s: &TestServer) -> String {
    let res = client()
        .post(s.url("/ui/login"))
        .form(&[("token", OPERATOR)])
        .send()
        .await
        .expect("request");
    let cookie = res
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("steadfast_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", res.headers()))
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    cookie.split(';').next().expect("name=value").to_string()
}

/// What `/ui/session` says about the session of `cookie`.
async fn session(s: &TestServer, cookie: &str) -> Value {
    let res = client()
        .post(s.url("/ui/session"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

/// Posts a dashboard action (`/ui/<endpoint>`) with `cookie`; returns the status and body.
async fn act(s: &TestServer, cookie: &str, endpoint: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = client()
        .post(s.url(&format!("/ui/{endpoint}")))
        .header(reqwest::header::COOKIE, cookie)
        .form(form)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn read_only_refuses_actions_through_the_api_and_the_dashboard() {
    let s = TestServer::start(&["--read-only"]).await;
    let (status, body) = s
        .send(reqwest::Method::POST, "/api/workflows/any/cancel", None)
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "read_only", "{body}");

    let cookie = login(&s).await;
    let info = session(&s, &cookie).await;
    assert_eq!(info["read_only"], true, "{info}");
    let csrf = info["csrf"].as_str().expect("csrf").to_string();
    let (status, body) = act(
        &s,
        &cookie,
        "cancel",
        &[("csrf", &csrf), ("id", "any"), ("reason", "")],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("read-only"), "{body}");
    s.stop().await;
}

#[tokio::test]
async fn the_type_filter_offers_the_registered_workflow_types() {
    let s = TestServer::start(&[]).await;
    assert_eq!(s.state().client.workflow_types(), ["process_order"]);
    let html = client()
        .get(s.url("/workflows?type=process_order"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("html");
    assert!(html.contains(r#"<select name="type">"#), "{html}");
    assert!(html.contains(r#"<option value="">any</option>"#), "{html}");
    assert!(
        html.contains(r#"<option value="process_order" selected>process_order</option>"#),
        "{html}"
    );
    s.stop().await;
}
