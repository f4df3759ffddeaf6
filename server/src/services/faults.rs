//! Fault injection: per service, an error rate, an added latency and an
//! outage switch, held in memory and changed at run time by an operator.
//!
//! Faults apply to the operations that the workflow's activities call
//! (reserve, unreserve, charge, refund, ship), never to the read and
//! control endpoints, so an operator can always look and lift an outage.
//! A fault strikes *before* the operation does anything: an injected 503
//! leaves no effect and no ledger row.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ServiceName;
use super::error::Rejection;

/// The largest latency an operator may inject: one minute.
pub const MAX_LATENCY_MS: u64 = 60_000;

/// The faults of one service.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FaultConfig {
    /// Probability (0.0 to 1.0) that a call answers 503 before doing anything.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub error_rate: f64,
    /// Delay added to every call, in milliseconds (0 to [`MAX_LATENCY_MS`]).
    #[schema(maximum = 60_000)]
    pub latency_ms: u64,
    /// When true, every call answers 503.
    pub outage: bool,
}

/// A change to a service's faults: fields left out keep their value.
///
/// Numbers are taken wide (any JSON number) so that an out-of-range value
/// is answered 422 with details rather than as malformed JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultUpdate {
    /// Probability (0.0 to 1.0) that a call answers 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub error_rate: Option<f64>,
    /// Delay added to every call: a whole number of milliseconds, 0 to 60000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>, maximum = 60_000)]
    pub latency_ms: Option<f64>,
    /// When true, every call answers 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<bool>,
}

impl FaultUpdate {
    /// `current` with this update applied, or a 422 naming every field out
    /// of range.
    pub fn apply_to(&self, current: FaultConfig) -> Result<FaultConfig, Rejection> {
        let mut next = current;
        let mut problems = serde_json::Map::new();
        if let Some(rate) = self.error_rate {
            if rate.is_finite() && (0.0..=1.0).contains(&rate) {
                next.error_rate = rate;
            } else {
                problems.insert(
                    "error_rate".into(),
                    json!({ "value": rate, "reason": "must be between 0.0 and 1.0" }),
                );
            }
        }
        if let Some(latency) = self.latency_ms {
            let max = MAX_LATENCY_MS as f64;
            if latency.is_finite() && latency.fract() == 0.0 && (0.0..=max).contains(&latency) {
                // In range and whole, so the conversion is exact.
                next.latency_ms = latency as u64;
            } else {
                problems.insert(
                    "latency_ms".into(),
                    json!({
                        "value": latency,
                        "reason": format!("must be a whole number between 0 and {MAX_LATENCY_MS}"),
                    }),
                );
            }
        }
        if let Some(outage) = self.outage {
            next.outage = outage;
        }
        if problems.is_empty() {
            Ok(next)
        } else {
            let fields: Vec<&str> = problems.keys().map(String::as_str).collect();
            let message = format!("invalid fault settings: {}", fields.join(", "));
            Err(Rejection::unprocessable(
                "invalid_faults",
                message,
                json!({ "fields": Value::Object(problems) }),
            ))
        }
    }
}

/// The faults of all three services.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllFaults {
    pub inventory: FaultConfig,
    pub payment: FaultConfig,
    pub fulfilment: FaultConfig,
}

/// The live fault settings, shared by every clone of the `Services` handle.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultBoard {
    inner: Arc<RwLock<AllFaults>>,
}

impl FaultBoard {
    pub(crate) fn all(&self) -> AllFaults {
        // A panic while holding the lock cannot leave a Copy value half
        // written, so a poisoned lock still holds a valid setting.
        *self
            .inner
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn get(&self, service: ServiceName) -> FaultConfig {
        let all = self.all();
        match service {
            ServiceName::Inventory => all.inventory,
            ServiceName::Payment => all.payment,
            ServiceName::Fulfilment => all.fulfilment,
        }
    }

    pub(crate) fn update(
        &self,
        service: ServiceName,
        update: &FaultUpdate,
    ) -> Result<FaultConfig, Rejection> {
        let mut all = self
            .inner
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        let slot = match service {
            ServiceName::Inventory => &mut all.inventory,
            ServiceName::Payment => &mut all.payment,
            ServiceName::Fulfilment => &mut all.fulfilment,
        };
        let next = update.apply_to(*slot)?;
        *slot = next;
        Ok(next)
    }

    /// Applies `service`'s faults to one call: answers 503 during an
    /// outage, otherwise waits the latency, then fails at the error rate.
    pub(crate) async fn strike(&self, service: ServiceName) -> Result<(), Rejection> {
        let faults = self.get(service);
        if faults.outage {
            return Err(Rejection::injected_fault(service, "outage", json!({})));
        }
        if faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
        }
        if faults.error_rate > 0.0 && rand::random::<f64>() < faults.error_rate {
            return Err(Rejection::injected_fault(
                service,
                "error_rate",
                json!({ "error_rate": faults.error_rate }),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_update_keeps_other_fields() {
        let current = FaultConfig {
            error_rate: 0.5,
            latency_ms: 10,
            outage: false,
        };
        let next = FaultUpdate {
            outage: Some(true),
            ..FaultUpdate::default()
        }
        .apply_to(current)
        .expect("valid update");
        assert_eq!(
            next,
            FaultConfig {
                outage: true,
                ..current
            }
        );
    }

    #[test]
    fn out_of_range_values_are_all_reported() {
        let update = FaultUpdate {
            error_rate: Some(1.5),
            latency_ms: Some(-1.0),
            outage: Some(true),
        };
        let rejection = update
            .apply_to(FaultConfig::default())
            .expect_err("out of range");
        assert_eq!(rejection.code, "invalid_faults");
        assert!(rejection.details["fields"]["error_rate"].is_object());
        assert!(rejection.details["fields"]["latency_ms"].is_object());
    }

    #[test]
    fn fractional_latency_is_refused() {
        let update = FaultUpdate {
            latency_ms: Some(1.5),
            ..FaultUpdate::default()
        };
        assert!(update.apply_to(FaultConfig::default()).is_err());
    }
}
