//! The dashboard over HTTP: the Leptos app (`app`) rendered on the server,
//! its server functions, and the files the browser loads (`/pkg/...`: the
//! hydration script, the wasm module, the stylesheet).
//!
//! `scripts/build.sh` puts those files under the site root
//! (`target/site/pkg/steadfast{.js,_bg.wasm,.css}`); the names here agree with
//! the `[[workspace.metadata.leptos]]` block of the root `Cargo.toml` (a test
//! below checks it).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use app::{App, shell};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{
    LeptosRoutes, file_and_error_handler_with_context, generate_route_list, site_pkg_dir_service,
    site_pkg_dir_service_route_path,
};

/// Base name of the generated files: `steadfast.js`, `steadfast_bg.wasm`, `steadfast.css`.
pub const OUTPUT_NAME: &str = "steadfast";
/// Folder under the site root that holds the generated files, served at `/pkg/`.
pub const SITE_PKG_DIR: &str = "pkg";
/// Site root of a build from the workspace root.
pub const DEFAULT_SITE_ROOT: &str = "target/site";

/// Leptos' settings for serving the dashboard from `site_root` at `site_addr`.
pub fn leptos_options(site_root: &Path, site_addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir(SITE_PKG_DIR)
        .site_addr(site_addr)
        .build()
}

/// Where the built site is: `$LEPTOS_SITE_ROOT` when set; else `target/site`
/// under the working directory when it exists (running from the workspace);
/// else `site/` next to the executable's folder (`target/<profile>/steadfast`
/// finds `target/site` from any working directory).
pub fn default_site_root() -> PathBuf {
    if let Some(root) = std::env::var_os("LEPTOS_SITE_ROOT") {
        return PathBuf::from(root);
    }
    let in_workspace = PathBuf::from(DEFAULT_SITE_ROOT);
    if in_workspace.is_dir() {
        return in_workspace;
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("site")))
        .filter(|beside_exe| beside_exe.is_dir())
        .unwrap_or(in_workspace)
}

/// The dashboard's routes: every page of `app` (server-rendered, then
/// hydrated), its server functions, `/pkg/...` from the site root, and a
/// fallback that serves other files of the site root or renders the app's
/// "not found" page with status 404.
///
/// `additional_context` runs before each page render and server function
/// call: it is where shared state (an engine handle, a database pool) is
/// `provide_context`-ed for the app.
pub fn dashboard_router<C>(options: LeptosOptions, additional_context: C) -> Router
where
    C: Fn() + Clone + Send + Sync + 'static,
{
    let routes = generate_route_list(App);
    let pkg_route = site_pkg_dir_service_route_path(&options);
    let pkg_files = site_pkg_dir_service(&options);
    let app_shell = {
        let options = options.clone();
        move || shell(options.clone())
    };

    Router::new()
        .leptos_routes_with_context(&options, routes, additional_context.clone(), app_shell)
        .route_service(&pkg_route, pkg_files)
        .fallback(file_and_error_handler_with_context(
            additional_context,
            shell,
        ))
        .with_state(options)
}

/// The dashboard's port into this crate (see `app::backend`): orders go
/// through [`crate::orders::place::place`], the services' knobs and ledgers
/// through [`crate::services::Services`].
pub struct DashboardBackend(pub crate::state::AppState);

impl DashboardBackend {
    /// What `serve` provides to every page render and server function.
    pub fn provide(state: &crate::state::AppState) {
        use std::sync::Arc;
        leptos::prelude::provide_context(state.client.clone());
        let backend: Arc<dyn app::backend::Backend> = Arc::new(DashboardBackend(state.clone()));
        leptos::prelude::provide_context(backend);
    }
}

impl DashboardBackend {
    fn sessions(&self) -> Result<&crate::sessions::Sessions, String> {
        self.0
            .sessions
            .as_ref()
            .ok_or_else(|| "this process keeps no dashboard sessions".to_string())
    }
}

#[app::backend::async_trait]
impl app::backend::Backend for DashboardBackend {
    fn read_only(&self) -> bool {
        self.0.read_only
    }

    fn verify_operator(&self, token: &str) -> bool {
        self.0.auth.operator(Some(token)).is_ok()
    }

    fn workflow_types(&self) -> Vec<String> {
        self.0.client.workflow_types()
    }

    async fn place_order(
        &self,
        order: app::model::NewOrder,
    ) -> Result<String, app::model::PlaceError> {
        use crate::orders::place::{Error, place};
        use app::model::PlaceError;
        if order.user.is_empty() || order.user.len() > 128 {
            return Err(PlaceError::Invalid(vec![(
                "user".into(),
                "the customer must be 1 to 128 bytes".into(),
            )]));
        }
        let request = crate::orders::OrderRequest {
            request_id: order.request_id,
            item_id: order.item_id,
            quantity: order.quantity,
            address: order.address,
        };
        place(&self.0.client, &order.user, request, self.0.hold_seconds)
            .await
            .map_err(|e| match e {
                Error::Invalid(fields) => {
                    PlaceError::Invalid(fields.into_iter().map(|f| (f.field, f.message)).collect())
                }
                Error::AlreadySubmitted(id) => PlaceError::AlreadySubmitted(id),
                Error::KeyReused(id) => PlaceError::KeyReused(id),
                Error::Engine(e) => PlaceError::Other(e.to_string()),
            })
    }

    async fn services(&self) -> Result<Vec<app::model::ServiceView>, String> {
        use crate::services::ServiceName;
        use app::model::{Faults, LedgerLine, ServiceView, StockLine};
        let Some(services) = &self.0.services else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for name in ServiceName::ALL {
            let faults = services.faults(name);
            let ledger = services.ledger(name, 20).await.map_err(|e| e.to_string())?;
            let stock = if name == ServiceName::Inventory {
                services
                    .stock()
                    .await
                    .map_err(|e| e.to_string())?
                    .items
                    .into_iter()
                    .map(|i| StockLine {
                        item_id: i.item_id,
                        name: i.name,
                        stock: i.stock,
                        reserved: i.reserved,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            out.push(ServiceView {
                name: name.as_str().to_string(),
                faults: Faults {
                    error_rate: faults.error_rate,
                    latency_ms: faults.latency_ms,
                    outage: faults.outage,
                },
                ledger: ledger
                    .entries
                    .into_iter()
                    .map(|e| LedgerLine {
                        seq: e.seq,
                        kind: e.kind,
                        key: e.idempotency_key,
                        status: e.status,
                        payload: e.payload.to_string(),
                        at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    })
                    .collect(),
                stock,
            });
        }
        Ok(out)
    }

    async fn set_faults(&self, service: &str, faults: app::model::Faults) -> Result<(), String> {
        let Some(services) = &self.0.services else {
            return Err("this server runs no simulated services".into());
        };
        let name: crate::services::ServiceName = service
            .parse()
            .map_err(|_| format!("unknown service `{service}`"))?;
        let update = crate::services::faults::FaultUpdate {
            error_rate: Some(faults.error_rate),
            latency_ms: Some(faults.latency_ms as f64),
            outage: Some(faults.outage),
        };
        services
            .update_faults(name, &update)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn session_create(
        &self,
        id: &str,
        csrf: &str,
        idle: std::time::Duration,
    ) -> Result<(), String> {
        let sessions = self.sessions()?;
        sessions
            .create(id, csrf, idle)
            .await
            .map_err(|e| e.to_string())
    }

    async fn session_touch(
        &self,
        id: &str,
        idle: std::time::Duration,
    ) -> Result<Option<String>, String> {
        let sessions = self.sessions()?;
        sessions.touch(id, idle).await.map_err(|e| e.to_string())
    }

    async fn session_set_flash(&self, id: &str, flash: &app::model::Flash) -> Result<(), String> {
        let sessions = self.sessions()?;
        sessions
            .set_flash(id, flash)
            .await
            .map_err(|e| e.to_string())
    }

    async fn session_take_flash(&self, id: &str) -> Result<Option<app::model::Flash>, String> {
        let sessions = self.sessions()?;
        sessions.take_flash(id).await.map_err(|e| e.to_string())
    }

    async fn session_end(&self, id: &str) -> Result<(), String> {
        let sessions = self.sessions()?;
        sessions.end(id).await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{
        body::{Body, to_bytes},
        http::{Request, StatusCode},
    };
    use tower::ServiceExt;

    fn site_with_css() -> (tempfile::TempDir, Router) {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join(SITE_PKG_DIR);
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join(format!("{OUTPUT_NAME}.css")), "body{}").unwrap();
        let options = leptos_options(site.path(), "127.0.0.1:0".parse().unwrap());
        (site, dashboard_router(options, || {}))
    }

    async fn get(router: &Router, uri: &str) -> (StatusCode, String) {
        let response = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[test]
    fn options_agree_with_workspace_metadata() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
        let conf = leptos::config::get_configuration(Some(manifest)).unwrap();
        let from_file = conf.leptos_options;
        assert_eq!(&*from_file.output_name, OUTPUT_NAME);
        assert_eq!(&*from_file.site_pkg_dir, SITE_PKG_DIR);
        assert_eq!(&*from_file.site_root, DEFAULT_SITE_ROOT);
        assert_eq!(
            app::STYLESHEET_HREF,
            format!("/{SITE_PKG_DIR}/{OUTPUT_NAME}.css")
        );
    }

    #[tokio::test]
    async fn overview_is_server_rendered_with_hydration_scripts() {
        let (_site, router) = site_with_css();
        let (status, html) = get(&router, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<h1>Overview</h1>"), "{html}");
        assert!(html.contains(r#"id="hydrated""#), "{html}");
        assert!(html.contains(r#"data-hydrated="false""#), "{html}");
        assert!(html.contains("/pkg/steadfast.js"), "{html}");
        assert!(html.contains("/pkg/steadfast_bg.wasm"), "{html}");
        assert!(html.contains(app::STYLESHEET_HREF), "{html}");
        for (label, href) in app::components::layout::NAV {
            assert!(
                html.contains(&format!(r#"href="{href}""#)),
                "{label}: {html}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_page_is_404_with_the_layout() {
        let (_site, router) = site_with_css();
        let (status, html) = get(&router, "/no-such-page").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("Not found"), "{html}");
        assert!(html.contains(r#"id="hydrated""#), "{html}");
    }

    #[tokio::test]
    async fn pkg_files_are_served_from_the_site_root() {
        let (_site, router) = site_with_css();
        let (status, css) = get(&router, "/pkg/steadfast.css").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(css, "body{}");
        let (status, _) = get(&router, "/pkg/missing.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
