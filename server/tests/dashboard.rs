//! The dashboard over HTTP, as a browser's requests reach it: the
//! workflows page's type filter.
mod common;

use common::TestServer;

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
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
