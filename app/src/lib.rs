//! Steadfast's operations dashboard: a Leptos app rendered on the server
//! (feature `ssr`, used by the `server` crate) and hydrated in the browser
//! (feature `hydrate`, used by the `frontend` crate).
//!
//! Adding a page: write `pages::<name>` with a component, then add one
//! `<Route>` in [`App`] (with `ssr=SsrMode::Async`, so the page's data is in
//! the HTML even without JavaScript) and, if it belongs in the nav, one link
//! in [`components::layout`].

pub mod api;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod throughput;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use components::layout::Layout;
use pages::{
    login::Login,
    new_order::NewOrderPage,
    not_found::NotFound,
    overview::Overview,
    pending::{Retries, Timers},
    services::ServicesPage,
    workflow::WorkflowPage,
    workflows::Workflows,
};

/// Where the stylesheet is served from: `scripts/build.sh` copies
/// `style/main.css` to `<site-root>/<site-pkg-dir>/<output-name>.css`.
pub const STYLESHEET_HREF: &str = "/pkg/steadfast.css";

/// A small inline icon, so browsers do not ask for `/favicon.ico`.
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' \
    viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%232f5fd0'/%3E\
    %3Cpath d='M4 8.5l2.5 2.5L12 5.5' stroke='white' stroke-width='2' fill='none'/%3E%3C/svg%3E";

/// The HTML document around [`App`], rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href=FAVICON />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The dashboard: the layout around the router's current page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let session: components::live::SessionResource = Resource::new(|| (), |_| auth::get_session());
    provide_context(session);

    view! {
        <Stylesheet id="steadfast-css" href=STYLESHEET_HREF />
        <Title formatter=|page: String| {
            if page.is_empty() { "Steadfast".to_string() } else { format!("{page} · Steadfast") }
        } />
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Overview ssr=SsrMode::Async />
                    <Route path=path!("/workflows") view=Workflows ssr=SsrMode::Async />
                    <Route path=path!("/workflows/:id") view=WorkflowPage ssr=SsrMode::Async />
                    <Route path=path!("/retries") view=Retries ssr=SsrMode::Async />
                    <Route path=path!("/timers") view=Timers ssr=SsrMode::Async />
                    <Route path=path!("/services") view=ServicesPage ssr=SsrMode::Async />
                    <Route path=path!("/orders/new") view=NewOrderPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=Login ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}
