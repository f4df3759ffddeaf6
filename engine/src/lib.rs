//! Steadfast's durable execution engine.
//!
//! Workflows are ordinary async Rust functions whose every step is persisted.
//! The engine runs them by *replay*: the function re-runs against its
//! history, and each [`WorkflowContext`] call either returns the outcome the
//! history already holds or records a new command. Activities (anything that
//! may fail) are retried with backoff; timers are rows, not threads;
//! cancellation and operator retries are recorded, never rewritten.
//!
//! The parts, one concept per module:
//! - [`engine`]: builder and handle; [`client`]: start, describe, act;
//! - [`context`]: what workflow code may do; [`activity`]: activity side;
//! - [`history`]: events; [`workflow`]: records, statuses, filters;
//! - [`retry`]: retry policy; [`clock`]: time;
//! - [`store`]: the persistence trait and its backends.
//!
//! See `ARCHITECTURE.md` at the repository root for the invariants.

pub mod activity;
pub mod client;
pub mod clock;
pub mod context;
pub mod engine;
pub mod error;
pub mod history;
mod instance;
mod instance_cache;
mod registry;
pub mod retry;
pub mod store;
mod worker;
pub mod workflow;
mod writer;

pub use activity::{ActivityContext, ActivityError, ActivityOptions};
pub use client::{Client, Execution, Start};
pub use clock::Timestamp;
pub use context::{Step, StepError, WorkflowContext, WorkflowError};
pub use engine::{Engine, EngineBuilder};
pub use error::{Error, Result};
pub use history::{Event, EventKind, Failure};
pub use retry::RetryPolicy;
pub use worker::WorkerConfig;
pub use workflow::{
    ActivityState, Counts, Cursor, Description, ListFilter, ListPage, MinuteCounts,
    PendingActivity, PendingTimer, RetryMode, RunSummary, WorkflowRecord, WorkflowStatus,
};
