//! What request handlers share: a cheap-to-clone handle to the engine
//! client, the credentials, the simulated services and the settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::Auth;
use crate::services::Services;
use crate::sessions::Sessions;

/// Shared by every handler (and the dashboard's server functions).
#[derive(Clone)]
pub struct AppState {
    pub client: engine::Client,
    pub auth: Auth,
    /// The simulated services, when this process hosts them.
    pub services: Option<Services>,
    /// The dashboard's operator sessions, when this process serves it.
    pub sessions: Option<Sessions>,
    /// The hold (cancellable window before charging) given to new orders.
    pub hold_seconds: u64,
    /// Hides and refuses every mutation.
    pub read_only: bool,
    pub metrics: Option<PrometheusHandle>,
    ready: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(client: engine::Client, auth: Auth, services: Option<Services>) -> Self {
        Self {
            client,
            auth,
            services,
            sessions: None,
            hold_seconds: 0,
            read_only: false,
            metrics: None,
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Whether the process accepts traffic (false while shutting down).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Marks the process as draining: `/readyz` answers 503 from now on.
    pub fn set_draining(&self) {
        self.ready.store(false, Ordering::Relaxed);
    }
}
