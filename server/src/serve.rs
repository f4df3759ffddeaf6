//! `steadfast serve`: opens the databases, starts the engine with the orders
//! workflow, mounts API, services and dashboard, and shuts down cleanly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use engine::store::Store;
use engine::{Engine, WorkerConfig};

use crate::auth::Auth;
use crate::cli::{LogFormat, Role, ServeArgs};
use crate::orders::{self, Downstream};
use crate::services::Services;
use crate::sessions::Sessions;
use crate::state::AppState;
use crate::{api, web};

/// A running server; [`Server::shutdown`] stops it.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    engine: Engine,
    stop: tokio::sync::watch::Sender<bool>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Opens the engine's store named by `url`.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Arc::new(engine::store::postgres::PostgresStore::open(url).await?)
    } else {
        Arc::new(engine::store::sqlite::SqliteStore::open(url).await?)
    };
    Ok(store)
}

/// Sets up logging once per process (`RUST_LOG`, default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

impl Server {
    /// Starts everything and begins serving.
    pub async fn start(args: &ServeArgs) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&args.data_dir)
            .with_context(|| format!("creating the data folder {}", args.data_dir.display()))?;
        let store = open_store(&args.database_url()).await?;
        let services = if args.no_demo_services {
            None
        } else {
            let services = Services::open(&args.services_database_url())
                .await
                .context("opening the simulated services' database")?;
            services.seed_default_catalogue().await?;
            Some(services)
        };
        let auth = Auth::load(
            &args.data_dir,
            args.jwt_secret.as_deref(),
            args.operator_token.as_deref(),
        )?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let services_url = args
            .services_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}/services"));

        let config = WorkerConfig {
            enabled: args.role != Role::Api,
            workflow_concurrency: args.workflow_concurrency.max(1),
            activity_concurrency: args.activity_concurrency.max(1),
            lease: Duration::from_secs(args.lease_seconds.max(1)),
            ..WorkerConfig::default()
        };
        let engine = orders::register(
            Engine::builder_shared(store),
            Downstream::under(&services_url),
        )
        .config(config)
        .start();

        let mut state = AppState::new(engine.client(), auth, services.clone());
        if args.role != Role::Worker {
            // Sessions share the services' database (and pool, when this
            // process hosts them), so that they outlive a restart and every
            // process behind one address recognises them.
            state.sessions = Some(match &services {
                Some(services) => Sessions::beside(services),
                None => Sessions::open(&args.services_database_url())
                    .await
                    .context("opening the database of the dashboard's sessions")?,
            });
        }
        state.hold_seconds = args.hold_seconds;
        state.read_only = args.read_only;
        state.metrics = crate::metrics::install();

        let mut router = api::router(state.clone());
        if let Some(services) = services {
            router = router.merge(crate::services::router(services));
        }
        if args.role != Role::Worker {
            let options = web::leptos_options(&web::default_site_root(), addr);
            let context_state = state.clone();
            router = router.merge(web::dashboard_router(options, move || {
                leptos::prelude::provide_context(context_state.clone());
                web::DashboardBackend::provide(&context_state);
            }));
        }
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let serving = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        });
        Ok(Self {
            addr,
            state,
            engine,
            stop,
            serving,
        })
    }

    /// What a person needs to reach this server.
    pub fn banner(&self) -> String {
        let token = self.state.auth.operator_token();
        format!(
            "steadfast listening on http://{addr}\n  dashboard: http://{addr}/\n  operator login: http://{addr}/login?token={token}\n  operator token (API: Authorization: Bearer ...): {token}",
            addr = self.addr
        )
    }

    /// Stops accepting requests, lets in-flight work finish, stops the engine.
    pub async fn shutdown(self) {
        self.state.set_draining();
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.serving).await;
        self.engine.shutdown().await;
    }
}
