//! The engine: a registry of workflows and activities, a store, and the
//! workers that run them. [`Engine`] is a cheap-to-clone handle.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::activity::{ActivityContext, ActivityError, ActivityOptions};
use crate::client::Client;
use crate::clock::{Clock, SystemClock};
use crate::context::WorkflowContext;
use crate::history::Failure;
use crate::registry::Registry;
use crate::store::Store;
use crate::worker::{Shared, WorkerConfig, activity_loop, handoff_loop, timer_loop, workflow_loop};
use crate::writer::{Closings, Leasing, Writer};

/// Configures and starts an [`Engine`].
///
/// ```no_run
/// # async fn demo() -> Result<(), engine::Error> {
/// use engine::{ActivityContext, ActivityError, Engine, WorkflowContext, WorkflowError};
/// use engine::store::sqlite::SqliteStore;
///
/// async fn double(_ctx: ActivityContext, n: u64) -> Result<u64, ActivityError> {
///     Ok(n * 2)
/// }
/// async fn twice(ctx: WorkflowContext, n: u64) -> Result<u64, WorkflowError> {
///     let once: u64 = ctx.activity("double", &n).await?;
///     Ok(ctx.activity("double", &once).await?)
/// }
///
/// let store = SqliteStore::open("sqlite://data/steadfast.db").await?;
/// let engine = Engine::builder(store)
///     .workflow("twice", twice)
///     .activity("double", double)
///     .start();
/// engine.client().start("twice", "calc-1", &21u64).await?;
/// engine.shutdown().await;
/// # Ok(()) }
/// ```
pub struct EngineBuilder {
    store: Arc<dyn Store>,
    registry: Registry,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
}

impl EngineBuilder {
    /// Registers workflow `name`: an async function of a context and a
    /// (deserialisable) input.
    pub fn workflow<I, O, F, Fut>(mut self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(WorkflowContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, Failure>> + Send + 'static,
    {
        self.registry.add_workflow(name, f);
        self
    }

    /// Registers activity `name` with default options (Temporal's retry
    /// policy, a 60 s start-to-close timeout).
    pub fn activity<I, O, F, Fut>(self, name: &str, f: F) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(ActivityContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ActivityError>> + Send + 'static,
    {
        self.activity_with(name, ActivityOptions::default(), f)
    }

    /// Registers activity `name` with the options calls use unless they
    /// pass their own.
    pub fn activity_with<I, O, F, Fut>(mut self, name: &str, options: ActivityOptions, f: F) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(ActivityContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ActivityError>> + Send + 'static,
    {
        self.registry.add_activity(name, options, f);
        self
    }

    /// Uses `clock` instead of the wall clock (tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets how the workers run.
    pub fn config(mut self, config: WorkerConfig) -> Self {
        self.config = config;
        self
    }

    /// Starts the writer and, if enabled, the workers. Needs a Tokio runtime.
    pub fn start(self) -> Engine {
        let (work, _) = watch::channel(0u64);
        let closings = Arc::new(Closings::default());
        let (handoffs, handed) = tokio::sync::mpsc::unbounded_channel();
        let leasing = self.config.enabled.then(|| Leasing {
            owner: self.config.identity.clone(),
            duration: self.config.lease,
            clock: self.clock.clone(),
            handoffs,
        });
        let writer = Writer::spawn(self.store.clone(), leasing, closings.clone(), work.clone());
        let shared = Arc::new(Shared::new(
            self.store,
            Arc::new(self.registry),
            self.clock,
            writer,
            self.config,
            work,
            closings,
        ));
        let mut loops = Vec::new();
        if shared.config.enabled {
            tokio::spawn(handoff_loop(shared.clone(), handed));
            loops.push(tokio::spawn(workflow_loop(shared.clone())));
            loops.push(tokio::spawn(activity_loop(shared.clone())));
            loops.push(tokio::spawn(timer_loop(shared.clone())));
        }
        Engine {
            shared,
            loops: Arc::new(std::sync::Mutex::new(loops)),
        }
    }
}

/// A running engine. Cheap to clone; [`Engine::shutdown`] stops it.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    loops: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Engine {
    /// Starts configuring an engine on `store`.
    pub fn builder(store: impl Store) -> EngineBuilder {
        Self::builder_shared(Arc::new(store))
    }

    /// Like [`Engine::builder`] for a store already shared.
    pub fn builder_shared(store: Arc<dyn Store>) -> EngineBuilder {
        EngineBuilder {
            store,
            registry: Registry::default(),
            clock: Arc::new(SystemClock),
            config: WorkerConfig::default(),
        }
    }

    /// A client for starting and inspecting workflows.
    pub fn client(&self) -> Client {
        Client {
            shared: self.shared.clone(),
        }
    }

    /// The store this engine runs on.
    pub fn store(&self) -> Arc<dyn Store> {
        self.shared.store.clone()
    }

    /// Stops claiming work, lets in-flight workflow tasks and activity
    /// attempts finish, and returns. Work not finished stays leased until
    /// its lease runs out, then another worker takes it.
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        let loops: Vec<_> =
            std::mem::take(&mut *self.loops.lock().unwrap_or_else(|e| e.into_inner()));
        for handle in loops {
            let _ = handle.await;
        }
    }
}
