//! Engine mode: the real `process_order` workflow on the engine, with its
//! five activities registered under their real names and options but
//! answering at once, in process. What is measured is the engine and its
//! store: the workflow's replay and commands, the activity hand-offs, the
//! group commits.
//!
//! With `--steps K` each workflow is instead `bench_steps`: K sequential
//! steps of one instant activity, to show what a step costs as a
//! workflow's history grows.

use std::time::Duration;

use engine::{
    ActivityContext, ActivityError, ActivityOptions, Engine, EngineBuilder, Execution,
    WorkerConfig, WorkflowContext, WorkflowError,
};

use crate::orders::activities::{
    CHARGE, REFUND, RESERVE, SHIP, UNRESERVE, compensation_options, forward_options,
};
use crate::orders::model::OrderRequest;
use crate::orders::{WORKFLOW_TYPE, place, workflow};
use crate::services::fulfilment::{ShipRequest, Shipment};
use crate::services::inventory::{
    Reservation, ReservationStatus, ReserveRequest, Unreservation, UnreserveRequest,
};
use crate::services::payment::{Charge, ChargeRequest, ChargeStatus, Refund, RefundRequest};

use super::database::BenchStore;

/// The user whose orders are placed.
pub const USER: &str = "bench-user";
/// A user whose card is declined: their orders fail after the reserve and
/// give the stock back (used for the failed workflows of `--fill`).
pub const DECLINED_USER: &str = "bench-declined";
/// The item ordered, and its price.
pub const ITEM: &str = "sku-widget";
const UNIT_PRICE_CENTS: i64 = 499;
/// What the failure scenario's first charge attempts answer.
pub const SCENARIO_ERROR_KIND: &str = "Unavailable";

/// The workflow of `--steps`, and its one activity.
pub const STEPS_WORKFLOW: &str = "bench_steps";
const STEP: &str = "bench_step";

/// What each client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `process_order`, placed as the API places it.
    Orders,
    /// `bench_steps` of this many steps.
    Steps(u64),
}

/// How the in-process activities behave.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scenario {
    /// Every charge fails (retryably) on attempt 1 and succeeds on attempt 2.
    pub fail_first_charge: bool,
}

/// The charge's options: `serve`'s, whose retry policy waits 100 ms before
/// the second attempt (stated here so that the scenario does not depend on
/// a default changing elsewhere).
pub fn charge_options() -> ActivityOptions {
    let mut options = forward_options();
    options.retry.initial_interval = Duration::from_millis(100);
    options
}

/// `bench_steps`: `steps` activity calls one after the other, each
/// waiting for the one before; the result counts them.
async fn steps(ctx: WorkflowContext, steps: u64) -> Result<u64, WorkflowError> {
    let mut done = 0u64;
    for _ in 0..steps {
        done = ctx.activity(STEP, &done).await?;
    }
    Ok(done)
}

/// Registers `process_order` with its five instant activities, and
/// `bench_steps` with its one.
pub fn register(builder: EngineBuilder, scenario: Scenario) -> EngineBuilder {
    builder
        .workflow(STEPS_WORKFLOW, steps)
        .activity(STEP, |_, done: u64| async move {
            Ok::<_, ActivityError>(done + 1)
        })
        .workflow(WORKFLOW_TYPE, workflow::process_order)
        .activity_with(
            RESERVE,
            forward_options(),
            |_, req: ReserveRequest| async move { Ok::<_, ActivityError>(reservation(&req)) },
        )
        .activity_with(
            CHARGE,
            charge_options(),
            move |ctx: ActivityContext, req: ChargeRequest| async move {
                if req.user == DECLINED_USER {
                    return Err(ActivityError::non_retryable(
                        "card_declined",
                        format!("the card of {} was declined", req.user),
                    ));
                }
                if scenario.fail_first_charge && ctx.attempt() == 1 {
                    return Err(ActivityError::of_kind(
                        SCENARIO_ERROR_KIND,
                        "simulated: the payment service answered 503 on the first attempt",
                    ));
                }
                Ok(charge(&req))
            },
        )
        .activity_with(SHIP, forward_options(), |_, req: ShipRequest| async move {
            Ok::<_, ActivityError>(Shipment {
                tracking_id: format!("trk-{}", req.order_id),
                order_id: req.order_id,
                item_id: req.item_id,
                quantity: req.quantity,
                address: req.address,
                shipped_at: chrono::Utc::now(),
            })
        })
        .activity_with(
            UNRESERVE,
            compensation_options(),
            |_, req: UnreserveRequest| async move {
                let order_id = req.order_id.unwrap_or_default();
                let mut released = reservation(&ReserveRequest {
                    order_id,
                    item_id: ITEM.into(),
                    quantity: 1,
                });
                released.status = ReservationStatus::Released;
                released.released_at = Some(chrono::Utc::now());
                Ok::<_, ActivityError>(Unreservation {
                    released: vec![released],
                })
            },
        )
        .activity_with(
            REFUND,
            compensation_options(),
            |_, _req: RefundRequest| async move {
                Ok::<_, ActivityError>(Refund {
                    refunded: vec![],
                    amount_cents: 0,
                })
            },
        )
}

fn reservation(req: &ReserveRequest) -> Reservation {
    Reservation {
        reservation_id: format!("res-{}", req.order_id),
        order_id: req.order_id.clone(),
        item_id: req.item_id.clone(),
        quantity: req.quantity,
        unit_price_cents: UNIT_PRICE_CENTS,
        amount_cents: req.quantity * UNIT_PRICE_CENTS,
        status: ReservationStatus::Held,
        created_at: chrono::Utc::now(),
        released_at: None,
    }
}

fn charge(req: &ChargeRequest) -> Charge {
    Charge {
        charge_id: format!("ch-{}", req.order_id),
        order_id: req.order_id.clone(),
        user: req.user.clone(),
        amount_cents: req.amount_cents,
        status: ChargeStatus::Captured,
        created_at: chrono::Utc::now(),
        refunded_at: None,
    }
}

/// The order the benchmark places under `id` for `user`.
pub fn order_request(id: &str) -> OrderRequest {
    OrderRequest {
        request_id: id.to_string(),
        item_id: ITEM.into(),
        quantity: 1,
        address: "1 Benchmark Street, Springfield".into(),
    }
}

/// A running engine with the instant activities.
pub struct EngineTarget {
    engine: Engine,
    client: engine::Client,
    workload: Workload,
}

impl EngineTarget {
    /// Starts an engine on `store` with `serve`'s worker settings.
    pub fn start(
        store: &BenchStore,
        workload: Workload,
        scenario: Scenario,
        config: WorkerConfig,
    ) -> Self {
        let engine = register(Engine::builder_shared(store.shared()), scenario)
            .config(config)
            .start();
        let client = engine.client();
        Self {
            engine,
            client,
            workload,
        }
    }

    /// Runs one workflow of the workload under `id` and waits until it
    /// ends.
    pub async fn run(&self, id: &str, timeout: Duration) -> anyhow::Result<engine::WorkflowRecord> {
        match self.workload {
            Workload::Orders => self.run_order(id, USER, timeout).await,
            Workload::Steps(k) => self.run_steps(id, k, timeout).await,
        }
    }

    /// Runs `bench_steps` of `k` steps under `id`; an error unless it
    /// completed with every step counted.
    async fn run_steps(
        &self,
        id: &str,
        k: u64,
        timeout: Duration,
    ) -> anyhow::Result<engine::WorkflowRecord> {
        let record = match self.client.execute(STEPS_WORKFLOW, id, &k, timeout).await? {
            Execution::Closed(record) => *record,
            Execution::AlreadyStarted(_) => anyhow::bail!("`{id}` was already started"),
        };
        if record.status == engine::WorkflowStatus::Completed
            && record.result != Some(serde_json::json!(k))
        {
            anyhow::bail!("`{id}` completed with {:?}, not {k} steps", record.result);
        }
        Ok(record)
    }

    /// Places an order under `id` as `user` (validated and started as the
    /// API does) and waits until its workflow ends, as an embedding
    /// application would ([`engine::Client::execute`]).
    pub async fn run_order(
        &self,
        id: &str,
        user: &str,
        timeout: Duration,
    ) -> anyhow::Result<engine::WorkflowRecord> {
        Ok(place::place_and_wait(&self.client, user, order_request(id), timeout).await?)
    }

    pub fn client(&self) -> &engine::Client {
        &self.client
    }

    pub async fn shutdown(&self) {
        self.engine.shutdown().await;
    }
}
