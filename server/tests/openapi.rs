//! `GET /api/openapi.json` from a real server: an OpenAPI 3.1 document that
//! describes exactly the routes the router mounts (read from the route
//! tables `server::api::routes` and `server::services::routes`), whose
//! references resolve, whose path parameters match the path templates,
//! whose errors are `ErrorBody`, and whose security matches who may call.
mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::TestServer;
use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(s: &TestServer) -> Value {
    let res = s
        .http
        .get(s.url("/api/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "the document needs no credentials");
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    res.json().await.expect("the document is JSON")
}

/// `(METHOD, path)` of every route the server mounts.
fn mounted() -> BTreeSet<(String, String)> {
    let api = server::api::routes()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path.to_string()));
    let services = server::services::routes()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path.to_string()));
    api.chain(services).collect()
}

/// `(METHOD, path) -> operation` of every operation the document describes.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.to_uppercase(), path.clone()), op.clone());
            }
        }
    }
    ops
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The value a JSON pointer such as `#/components/schemas/ErrorBody` names.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn template_params(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_describes_every_route() {
    let s = TestServer::start(&[]).await;
    let doc = document(&s).await;

    let version = doc["openapi"].as_str().expect("an `openapi` field");
    assert!(version.starts_with("3.1"), "OpenAPI {version}, not 3.1");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Complete: exactly the mounted routes, no more, no fewer.
    let ops = operations(&doc);
    let documented: BTreeSet<_> = ops.keys().cloned().collect();
    let mounted = mounted();
    let missing: Vec<_> = mounted.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        missing.is_empty(),
        "mounted but not in the document (add `#[utoipa::path]` and list the handler in \
         the `OpenApi` derive): {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in the document but not mounted: {extra:?}"
    );
    assert!(mounted.contains(&("GET".into(), "/api/openapi.json".into())));

    // Every reference resolves.
    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    assert!(!all_refs.is_empty());
    for reference in all_refs {
        assert!(
            resolve(&doc, reference).is_some(),
            "unresolved reference {reference}"
        );
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for name in ["customer", "operator"] {
        assert_eq!(schemes[name]["type"], "http", "{name}");
        assert_eq!(schemes[name]["scheme"], "bearer", "{name}");
    }

    let mut operation_ids = BTreeSet::new();
    for ((method, path), op) in &ops {
        let at = format!("{method} {path}");
        let id = op["operationId"].as_str().expect("an operationId");
        assert!(
            operation_ids.insert(id.to_string()),
            "{at}: operationId {id} twice"
        );
        assert!(
            op["summary"].is_string(),
            "{at}: no summary (a doc comment)"
        );

        // Path parameters: exactly the template's, all required.
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .inspect(|p| assert_eq!(p["required"], true, "{at}: {p}"))
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(declared, template_params(path), "{at}: path parameters");

        // Responses: a success, and every error is an ErrorBody.
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{at}: no 2xx response"
        );
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{at}: {status} is not an ErrorBody"
                );
            }
        }

        // Security: customers for orders, operators for the rest of the
        // API, none for health, metrics, this document and the services.
        let expected = if path.starts_with("/api/orders") {
            Some("customer")
        } else if path.starts_with("/api/") && path != "/api/openapi.json" {
            Some("operator")
        } else {
            None
        };
        let security = &op["security"];
        match expected {
            Some(scheme) => {
                assert_eq!(security, &serde_json::json!([{ scheme: [] }]), "{at}");
                assert!(responses.contains_key("401"), "{at}: no 401");
            }
            None => assert!(
                security.is_null() || security == &serde_json::json!([]),
                "{at}: needs no credentials, but says {security}"
            ),
        }
    }
    s.stop().await;
}

/// Every documented operation is answered by its handler (not by a 404 or
/// 405 fallback), with a status the document lists for it, even for a
/// request without credentials or body.
#[tokio::test]
async fn every_documented_operation_answers_with_a_documented_status() {
    let s = TestServer::start(&[]).await;
    let doc = document(&s).await;
    for ((method, path), op) in operations(&doc) {
        let url = path
            .replace("{service}", "inventory")
            .replace("{seq}", "1")
            .replace("{id}", "no-such-workflow")
            .replace("{name}", "poke")
            .replace("{user}", "nobody")
            .replace("{item_id}", "sku-widget");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = s
            .http
            .request(method.clone(), s.url(&url))
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16().to_string();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = res.text().await.unwrap_or_default();
        let at = format!("{method} {url}");
        assert!(
            op["responses"].get(&status).is_some(),
            "{at}: answered {status}, which the document does not list: {body}"
        );
        let documented_type = op["responses"][&status]["content"]
            .as_object()
            .and_then(|c| c.keys().next().cloned())
            .unwrap_or_default();
        assert!(
            content_type.starts_with(&documented_type),
            "{at}: answered {content_type}, documented {documented_type}"
        );
        assert!(!body.contains("no route for"), "{at}: not routed: {body}");
    }
    s.stop().await;
}
