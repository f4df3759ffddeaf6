//! How often and how fast a failed activity is tried again.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Temporal's retry policy, with Temporal's defaults.
///
/// The wait before attempt `n + 1` is
/// `min(initial_interval * backoff_coefficient^(n-1), maximum_interval)`.
///
/// ```
/// use std::time::Duration;
/// use engine::RetryPolicy;
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.delay_after(1), Duration::from_secs(1));
/// assert_eq!(policy.delay_after(2), Duration::from_secs(2));
/// assert_eq!(policy.delay_after(20), Duration::from_secs(100)); // capped at 100 x initial
/// assert!(policy.allows_attempt(1_000_000)); // unlimited by default
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "How often and how fast a failed activity is tried again \
        (Temporal's retry policy and defaults). The wait before attempt n + 1 is \
        min(initial_interval * backoff_coefficient^(n-1), maximum_interval)."
    )
)]
#[serde(default)]
pub struct RetryPolicy {
    /// Wait before the second attempt, in milliseconds.
    #[serde(with = "millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64, default = 1000))]
    pub initial_interval: Duration,
    /// Factor by which each wait grows.
    pub backoff_coefficient: f64,
    /// Cap on any one wait, in milliseconds; `None` means 100 x
    /// `initial_interval`.
    #[serde(with = "opt_millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u64>))]
    pub maximum_interval: Option<Duration>,
    /// Attempts in all, the first included; 0 means unlimited, 1 means no retry.
    pub maximum_attempts: u32,
    /// Error kinds that are never retried.
    pub non_retryable_error_kinds: Vec<String>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            backoff_coefficient: 2.0,
            maximum_interval: None,
            maximum_attempts: 0,
            non_retryable_error_kinds: Vec::new(),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn no_retry() -> Self {
        Self {
            maximum_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let cap = self
            .maximum_interval
            .unwrap_or(self.initial_interval.saturating_mul(100));
        let exponent = attempt.saturating_sub(1).min(1_000) as i32;
        let factor = self.backoff_coefficient.max(1.0).powi(exponent);
        let secs = self.initial_interval.as_secs_f64() * factor;
        if !secs.is_finite() || secs >= cap.as_secs_f64() {
            cap
        } else {
            Duration::from_secs_f64(secs)
        }
    }

    /// Whether attempt number `attempt` (1-based) may run.
    pub fn allows_attempt(&self, attempt: u32) -> bool {
        self.maximum_attempts == 0 || attempt <= self.maximum_attempts
    }

    /// Whether an error of this kind may be retried at all.
    pub fn retries_kind(&self, kind: &str) -> bool {
        !self.non_retryable_error_kinds.iter().any(|k| k == kind)
    }
}

/// Serde for a `Duration` as whole milliseconds.
pub(crate) mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().min(u64::MAX as u128) as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Serde for an `Option<Duration>` as whole milliseconds or null.
pub(crate) mod opt_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis().min(u64::MAX as u128) as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_the_coefficient_and_stops_at_the_cap() {
        let p = RetryPolicy {
            initial_interval: Duration::from_millis(100),
            backoff_coefficient: 3.0,
            maximum_interval: Some(Duration::from_millis(1_000)),
            ..RetryPolicy::default()
        };
        let waits: Vec<_> = (1..=4).map(|a| p.delay_after(a).as_millis()).collect();
        assert_eq!(waits, vec![100, 300, 900, 1_000]);
    }

    #[test]
    fn maximum_attempts_counts_the_first_attempt() {
        let p = RetryPolicy {
            maximum_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(p.allows_attempt(3));
        assert!(!p.allows_attempt(4));
        assert!(!RetryPolicy::no_retry().allows_attempt(2));
    }

    #[test]
    fn non_retryable_kinds_are_named() {
        let p = RetryPolicy {
            non_retryable_error_kinds: vec!["CardDeclined".into()],
            ..RetryPolicy::default()
        };
        assert!(!p.retries_kind("CardDeclined"));
        assert!(p.retries_kind("Timeout"));
    }
}
