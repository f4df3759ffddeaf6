//! The port through which the dashboard reaches what lives in the `server`
//! crate (which depends on `app`, so `app` cannot call it directly): placing
//! orders through the one start-order path, the simulated services, the
//! operator credential and the read-only switch. `server` implements
//! [`Backend`] and provides an `Arc<dyn Backend>` (and an `engine::Client`)
//! as Leptos context for every page render and server function call.

pub use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

use crate::model::{Faults, Flash, NewOrder, PlaceError, ServiceView};

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `--read-only`: the dashboard hides and refuses every action.
    fn read_only(&self) -> bool;
    /// Whether `token` is the operator token (constant-time comparison).
    fn verify_operator(&self, token: &str) -> bool;
    /// The workflow types this server runs, sorted: the choices of the
    /// workflows page's type filter.
    fn workflow_types(&self) -> Vec<String>;
    /// Places an order for `user` (`server::orders::place::place`).
    async fn place_order(&self, order: NewOrder) -> Result<String, PlaceError>;
    /// Each simulated service: faults, newest ledger entries, stock.
    async fn services(&self) -> Result<Vec<ServiceView>, String>;
    /// Changes one service's fault knobs.
    async fn set_faults(&self, service: &str, faults: Faults) -> Result<(), String>;

    // Operator sessions (what they are: `crate::auth`), kept in the database
    // so that they outlive a restart and all processes behind one address
    // share them.

    /// Records session `id` with its CSRF token; it ends after `idle` unused.
    async fn session_create(&self, id: &str, csrf: &str, idle: Duration) -> Result<(), String>;
    /// The CSRF token of session `id` if it is live (its expiry moves to
    /// `idle` from now); `None` if it is unknown, ended or expired.
    async fn session_touch(&self, id: &str, idle: Duration) -> Result<Option<String>, String>;
    /// Keeps `flash` for the next page session `id` sees.
    async fn session_set_flash(&self, id: &str, flash: &Flash) -> Result<(), String>;
    /// Session `id`'s kept flash, removed as it is read.
    async fn session_take_flash(&self, id: &str) -> Result<Option<Flash>, String>;
    /// Ends session `id`.
    async fn session_end(&self, id: &str) -> Result<(), String>;
}

/// What the server functions need, taken from the Leptos context.
pub fn backend() -> Result<Arc<dyn Backend>, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<Arc<dyn Backend>>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the dashboard backend is not wired"))
}

pub fn client() -> Result<engine::Client, leptos::prelude::ServerFnError> {
    leptos::prelude::use_context::<engine::Client>()
        .ok_or_else(|| leptos::prelude::ServerFnError::new("the engine client is not wired"))
}
