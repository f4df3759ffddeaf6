//! The overview chart's numbers: workflows started, completed and failed per
//! minute over the last hour.
//!
//! [`last_hour`] reads the per-minute counts the engine keeps with every
//! commit (`Client::per_minute`: a row per minute and outcome, whatever the
//! number of workflows) and [`bucket`] lays them out as the chart's minutes.

use engine::{MinuteCounts, Timestamp};

/// Minutes the chart covers.
pub const MINUTES: usize = 60;

/// Counts of one minute: (started, completed, failed).
pub type Minute = (u32, u32, u32);

/// `minutes` buckets from `since` (a minute's start) on, oldest first;
/// minutes outside the window are not counted, minutes without counts are
/// zero.
pub fn bucket<'a>(
    since: Timestamp,
    minutes: usize,
    counts: impl IntoIterator<Item = &'a MinuteCounts>,
) -> Vec<Minute> {
    let mut per_minute = vec![(0, 0, 0); minutes];
    for m in counts {
        // Floor division, so that a minute before `since` is -1 (outside).
        let slot = (m.minute - since).num_milliseconds().div_euclid(60_000);
        if let Some(slot) = usize::try_from(slot).ok().filter(|s| *s < minutes) {
            let add = |sum: &mut u32, n: u64| {
                *sum = sum.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
            };
            let bucket = &mut per_minute[slot];
            add(&mut bucket.0, m.started);
            add(&mut bucket.1, m.completed);
            add(&mut bucket.2, m.failed);
        }
    }
    per_minute
}

/// The [`MINUTES`] minutes up to and including the one holding `now`,
/// oldest first.
pub async fn last_hour(
    client: &engine::Client,
    now: Timestamp,
) -> Result<Vec<Minute>, engine::Error> {
    let since = minute_start(now) - chrono::Duration::minutes(MINUTES as i64 - 1);
    let counts = client.per_minute(since).await?;
    Ok(bucket(since, MINUTES, &counts))
}

/// The start of the minute holding `t`.
fn minute_start(t: Timestamp) -> Timestamp {
    let ms = t.timestamp_millis();
    chrono::DateTime::from_timestamp_millis(ms - ms.rem_euclid(60_000)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn at(minute: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn counts(minute: i64, started: u64, completed: u64, failed: u64) -> MinuteCounts {
        MinuteCounts {
            minute: at(minute),
            started,
            completed,
            failed,
            cancelled: 1,
            terminated: 1,
        }
    }

    #[test]
    fn counts_land_in_their_minutes_and_others_are_zero() {
        let per_minute = bucket(
            at(0),
            5,
            &[counts(0, 2, 0, 0), counts(2, 0, 1, 1), counts(3, 2, 0, 0)],
        );
        // Cancelled and terminated are not charted.
        assert_eq!(
            per_minute,
            vec![(2, 0, 0), (0, 0, 0), (0, 1, 1), (2, 0, 0), (0, 0, 0)]
        );
    }

    #[test]
    fn minutes_outside_the_window_are_not_counted() {
        let per_minute = bucket(
            at(0),
            3,
            &[counts(-1, 5, 5, 5), counts(1, 1, 0, 0), counts(3, 9, 9, 9)],
        );
        assert_eq!(per_minute, vec![(0, 0, 0), (1, 0, 0), (0, 0, 0)]);
    }

    #[test]
    fn no_counts_give_empty_minutes() {
        assert_eq!(bucket(at(0), MINUTES, []).len(), MINUTES);
        assert!(bucket(at(0), MINUTES, []).iter().all(|m| *m == (0, 0, 0)));
    }

    #[test]
    fn the_window_ends_with_the_current_minute() {
        let now = at(10) + Duration::seconds(42);
        assert_eq!(minute_start(now), at(10));
        assert_eq!(minute_start(at(10)), at(10));
    }
}
