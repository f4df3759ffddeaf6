//! The order activities: HTTP calls to the inventory, payment and
//! fulfilment services. Each call carries the activity's idempotency key as
//! `Idempotency-Key`, so a retried attempt changes nothing downstream.
//!
//! Answers are classified by status: 2xx is success; 400, 404 and 422 are
//! business errors (non-retryable, kind = the service's error code); 5xx,
//! 429, timeouts and connection errors are transient (retryable).

use std::time::Duration;

use engine::{ActivityContext, ActivityError, ActivityOptions, EngineBuilder, RetryPolicy};
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::services::fulfilment::{ShipRequest, Shipment};
use crate::services::inventory::{Reservation, ReserveRequest, Unreservation, UnreserveRequest};
use crate::services::payment::{Charge, ChargeRequest, Refund, RefundRequest};

/// Activity names, as recorded in histories.
pub const RESERVE: &str = "reserve_inventory";
pub const UNRESERVE: &str = "unreserve_inventory";
pub const CHARGE: &str = "charge_payment";
pub const REFUND: &str = "refund_payment";
pub const SHIP: &str = "ship_package";

/// Where the three services live, and the HTTP client that calls them.
#[derive(Clone, Debug)]
pub struct Downstream {
    http: reqwest::Client,
    inventory: String,
    payment: String,
    fulfilment: String,
}

impl Downstream {
    /// Services under `base` (`{base}/inventory`, `{base}/payment`,
    /// `{base}/fulfilment`): the simulated ones are at `http://host/services`.
    pub fn under(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self::new(
            &format!("{base}/inventory"),
            &format!("{base}/payment"),
            &format!("{base}/fulfilment"),
        )
    }

    /// Services at three separate base URLs.
    pub fn new(inventory: &str, payment: &str, fulfilment: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        Self {
            http,
            inventory: inventory.trim_end_matches('/').to_string(),
            payment: payment.trim_end_matches('/').to_string(),
            fulfilment: fulfilment.trim_end_matches('/').to_string(),
        }
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        ctx: &ActivityContext,
        url: String,
        body: &B,
        timeout: Duration,
    ) -> Result<T, ActivityError> {
        let answer = self
            .http
            .post(&url)
            .header("Idempotency-Key", ctx.idempotency_key())
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| ActivityError::of_kind("Unavailable", format!("POST {url}: {e}")))?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|e| ActivityError::of_kind("Unavailable", format!("POST {url}: {e}")))?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                ActivityError::non_retryable(
                    "BadResponse",
                    format!("POST {url} answered {status} with unreadable JSON: {e}"),
                )
            });
        }
        let (code, message) = error_of(&text).unwrap_or_else(|| {
            (
                status.as_str().to_string(),
                text.chars().take(200).collect(),
            )
        });
        if is_permanent(status) {
            Err(ActivityError::non_retryable(code, message))
        } else {
            Err(ActivityError::of_kind(
                code,
                format!("{message} (HTTP {})", status.as_u16()),
            ))
        }
    }
}

fn is_permanent(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY
    )
}

/// `{"error": {"code", "message"}}` from an error answer.
fn error_of(body: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let e = v.get("error")?;
    Some((
        e.get("code")?.as_str()?.to_string(),
        e.get("message")?.as_str()?.to_string(),
    ))
}

/// Forward steps: quick retries growing to one every 2 s, no limit on
/// attempts (a transient outage must not lose the order, and the order
/// should go through soon after the outage ends).
pub fn forward_options() -> ActivityOptions {
    ActivityOptions {
        start_to_close_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            initial_interval: Duration::from_millis(100),
            maximum_interval: Some(Duration::from_secs(2)),
            ..RetryPolicy::default()
        },
        ..ActivityOptions::default()
    }
}

/// Compensations: patient (they must eventually undo), but bounded so that a
/// compensation that cannot succeed reaches an operator.
pub fn compensation_options() -> ActivityOptions {
    ActivityOptions {
        start_to_close_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            initial_interval: Duration::from_millis(500),
            maximum_interval: Some(Duration::from_secs(30)),
            maximum_attempts: 20,
            ..RetryPolicy::default()
        },
        ..ActivityOptions::default()
    }
}

/// Registers the five activities.
pub fn register(builder: EngineBuilder, downstream: Downstream) -> EngineBuilder {
    let timeout = forward_options().start_to_close_timeout;
    let d = downstream;
    let (d1, d2, d3, d4, d5) = (d.clone(), d.clone(), d.clone(), d.clone(), d);
    builder
        .activity_with(
            RESERVE,
            forward_options(),
            move |ctx, req: ReserveRequest| {
                let d = d1.clone();
                async move {
                    let url = format!("{}/reserve", d.inventory);
                    d.post::<_, Reservation>(&ctx, url, &req, timeout).await
                }
            },
        )
        .activity_with(CHARGE, forward_options(), move |ctx, req: ChargeRequest| {
            let d = d2.clone();
            async move {
                let url = format!("{}/charge", d.payment);
                d.post::<_, Charge>(&ctx, url, &req, timeout).await
            }
        })
        .activity_with(SHIP, forward_options(), move |ctx, req: ShipRequest| {
            let d = d3.clone();
            async move {
                let url = format!("{}/ship", d.fulfilment);
                d.post::<_, Shipment>(&ctx, url, &req, timeout).await
            }
        })
        .activity_with(
            UNRESERVE,
            compensation_options(),
            move |ctx, req: UnreserveRequest| {
                let d = d4.clone();
                async move {
                    let url = format!("{}/unreserve", d.inventory);
                    d.post::<_, Unreservation>(&ctx, url, &req, timeout).await
                }
            },
        )
        .activity_with(
            REFUND,
            compensation_options(),
            move |ctx, req: RefundRequest| {
                let d = d5.clone();
                async move {
                    let url = format!("{}/refund", d.payment);
                    d.post::<_, Refund>(&ctx, url, &req, timeout).await
                }
            },
        )
}
