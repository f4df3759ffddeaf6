//! Time as the engine sees it. Workers, backoff and timers read the time only
//! through a [`Clock`], so tests can move time forward by thirty days in a
//! microsecond with a [`ManualClock`].

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use tokio::sync::Notify;

/// A point in time, in UTC, as stored (millisecond precision).
pub type Timestamp = DateTime<Utc>;

/// A source of the current time and of waiting for a moment to come.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
    /// Resolves once [`Clock::now`] has reached `deadline`.
    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate(Utc::now())
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        let wait = (deadline - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that only moves when told to; for tests of backoff and timers.
///
/// ```
/// use engine::clock::{Clock, ManualClock};
/// let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
/// clock.advance(chrono::Duration::days(30));
/// assert_eq!(clock.now().to_rfc3339(), "2026-01-31T00:00:00+00:00");
/// ```
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
    moved: Arc<Notify>,
}

impl ManualClock {
    /// A clock standing still at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Arc::new(Mutex::new(truncate(start))),
            moved: Arc::new(Notify::new()),
        }
    }

    /// Moves the time forward and wakes everything waiting on this clock.
    pub fn advance(&self, by: Duration) {
        {
            let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
            *now += by;
        }
        self.moved.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        let clock = self.clone();
        Box::pin(async move {
            loop {
                let moved = clock.moved.notified();
                if clock.now() >= deadline {
                    return;
                }
                moved.await;
            }
        })
    }
}

/// Drops sub-millisecond precision, which the store does not keep, so that a
/// time read back equals the time written.
pub fn truncate(t: Timestamp) -> Timestamp {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Milliseconds since the Unix epoch, the stored form of a [`Timestamp`].
pub fn to_millis(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub fn from_millis(ms: i64) -> Timestamp {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
