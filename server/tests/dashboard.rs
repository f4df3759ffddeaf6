//! The dashboard over HTTP, as a browser's requests reach it: operator
//! sessions kept in the database (they survive a restart, logout ends them,
//! an unknown session is refused), the read-only switch, and the workflows
//! page's type filter.
mod common;

use common::{OPERATOR, TestServer};
use serde_json::Value;
use server::serve::Server;

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

/// Stops the server and starts it again on the same databases.
async fn restart(s: &mut TestServer) {
    if let Some(server) = s.server.take() {
        server.shutdown().await;
    }
    let server = Server::start(&common::args(&s.db, &[]))
        .await
        .expect("server restarts");
    s.base = format!("http://{}", server.addr);
    s.server = Some(server);
}

#[tokio::test]
async fn a_session_survives_a_restart_and_logout_ends_it() {
    let mut s = TestServer::start(&[]).await;
    let cookie = login(&s).await;
    let before = session(&s, &cookie).await;
    assert_eq!(before["logged_in"], true, "{before}");
    let csrf = before["csrf"].as_str().expect("csrf").to_string();
    assert!(csrf.len() >= 32, "{csrf}");

    restart(&mut s).await;
    let after = session(&s, &cookie).await;
    assert_eq!(after["logged_in"], true, "{after}");
    assert_eq!(
        after["csrf"],
        csrf.as_str(),
        "the same session, with its token"
    );

    // Logout with the session's token ends it: the old cookie is worthless.
    let (status, body) = act(&s, &cookie, "logout", &[("csrf", &csrf)]).await;
    assert!(status < 400, "{status} {body}");
    assert_eq!(session(&s, &cookie).await["logged_in"], false);
    let (status, _) = act(
        &s,
        &cookie,
        "cancel",
        &[("csrf", &csrf), ("id", "x"), ("reason", "")],
    )
    .await;
    assert_eq!(status, 401);
    s.stop().await;
}

#[tokio::test]
async fn an_unknown_session_is_refused() {
    let s = TestServer::start(&[]).await;
    let forged = format!("steadfast_session={}", "0".repeat(64));
    let info = session(&s, &forged).await;
    assert_eq!(info["logged_in"], false, "{info}");
    assert_eq!(info["csrf"], "");
    let (status, _) = act(
        &s,
        &forged,
        "terminate",
        &[("csrf", ""), ("id", "x"), ("reason", "")],
    )
    .await;
    assert_eq!(status, 401);
    s.stop().await;
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
