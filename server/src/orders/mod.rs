//! The orders domain: `process_order` (reserve -> optional hold -> charge ->
//! ship, compensating on failure or cancel) and the activities that call
//! the inventory, payment and fulfilment services over HTTP.
//!
//! It is one user of the engine's public API, registered by [`register`].

pub mod activities;
pub mod model;
pub mod place;
pub mod workflow;

use engine::EngineBuilder;

pub use activities::Downstream;
pub use model::{Order, OrderOutcome, OrderRequest};

/// The workflow type name orders run under.
pub const WORKFLOW_TYPE: &str = "process_order";

/// Registers `process_order` and its activities, calling `downstream`.
pub fn register(builder: EngineBuilder, downstream: Downstream) -> EngineBuilder {
    activities::register(
        builder.workflow(WORKFLOW_TYPE, workflow::process_order),
        downstream,
    )
}
