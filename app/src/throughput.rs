//! The overview chart's numbers: workflows started, completed and failed per
//! minute over the last hour.
//!
//! [`last_hour`] is the source (for now a scan of the workflows started in
//! the last hour through `Client::list`) and [`bucket`] the pure per-minute
//! counting. When the store offers a per-minute aggregate, [`last_hour`] is
//! the one function to change.

use engine::{Timestamp, WorkflowRecord, WorkflowStatus};

/// Minutes the chart covers.
pub const MINUTES: usize = 60;

/// Counts of one minute: (started, completed, failed).
pub type Minute = (u32, u32, u32);

/// Most workflows the scan reads (pages of 1,000): bounds the overview's
/// cost when the last hour was busy; beyond it the chart undercounts.
const SCAN_PAGES: usize = 5;
const SCAN_PAGE: u32 = 1_000;

/// `minutes` buckets from `since` on, oldest first: a start counts in the
/// minute of its creation, a completion or failure in the minute it closed.
/// Times outside the window are not counted.
pub fn bucket<'a>(
    since: Timestamp,
    minutes: usize,
    workflows: impl IntoIterator<Item = &'a WorkflowRecord>,
) -> Vec<Minute> {
    let mut per_minute = vec![(0, 0, 0); minutes];
    // Floor division, so that a moment just before `since` is minute -1
    // (outside), not minute 0.
    let slot = |t: &Timestamp| -> Option<usize> {
        let minute = (*t - since).num_milliseconds().div_euclid(60_000);
        usize::try_from(minute).ok().filter(|m| *m < minutes)
    };
    for w in workflows {
        if let Some(m) = slot(&w.created_at) {
            per_minute[m].0 += 1;
        }
        if let Some(closed) = &w.closed_at
            && let Some(m) = slot(closed)
        {
            match w.status {
                WorkflowStatus::Completed => per_minute[m].1 += 1,
                WorkflowStatus::Failed => per_minute[m].2 += 1,
                _ => {}
            }
        }
    }
    per_minute
}

/// The [`MINUTES`] minutes before `now`, oldest first, counted from the
/// workflows started in that window (at most `SCAN_PAGES` × `SCAN_PAGE`).
pub async fn last_hour(
    client: &engine::Client,
    now: Timestamp,
) -> Result<Vec<Minute>, engine::Error> {
    let since = now - chrono::Duration::minutes(MINUTES as i64);
    let filter = engine::ListFilter {
        started_after: Some(since),
        ..Default::default()
    };
    let mut workflows = Vec::new();
    let mut cursor = None;
    for _ in 0..SCAN_PAGES {
        let page = client.list(&filter, cursor.as_ref(), SCAN_PAGE).await?;
        workflows.extend(page.workflows);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(bucket(since, MINUTES, &workflows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn at(minute: i64, second: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
            + Duration::minutes(minute)
            + Duration::seconds(second)
    }

    fn workflow(created: Timestamp, closed: Option<(Timestamp, WorkflowStatus)>) -> WorkflowRecord {
        WorkflowRecord {
            id: format!("w-{created}"),
            run: 1,
            workflow_type: "process_order".into(),
            status: closed.map_or(WorkflowStatus::Running, |(_, s)| s),
            input: serde_json::Value::Null,
            result: None,
            error: None,
            cancel_requested: false,
            current_step: None,
            version: 1,
            created_at: created,
            updated_at: created,
            closed_at: closed.map(|(t, _)| t),
        }
    }

    #[test]
    fn starts_and_closings_land_in_their_minutes() {
        let since = at(0, 0);
        let workflows = [
            workflow(at(0, 0), None),
            workflow(at(0, 59), Some((at(2, 30), WorkflowStatus::Completed))),
            workflow(at(1, 0), Some((at(2, 59), WorkflowStatus::Failed))),
            // Cancelled and terminated count as starts only.
            workflow(at(3, 10), Some((at(3, 20), WorkflowStatus::Cancelled))),
            workflow(at(3, 15), Some((at(4, 0), WorkflowStatus::Terminated))),
        ];
        let per_minute = bucket(since, 5, &workflows);
        assert_eq!(
            per_minute,
            vec![(2, 0, 0), (1, 0, 0), (0, 1, 1), (2, 0, 0), (0, 0, 0)]
        );
    }

    #[test]
    fn times_outside_the_window_are_not_counted() {
        let since = at(0, 0);
        let workflows = [
            // Half a minute before the window: minute -1, not minute 0.
            workflow(at(0, -30), Some((at(0, -1), WorkflowStatus::Completed))),
            // Started inside, closed after the window's end.
            workflow(at(1, 0), Some((at(3, 0), WorkflowStatus::Failed))),
        ];
        assert_eq!(
            bucket(since, 3, &workflows),
            vec![(0, 0, 0), (1, 0, 0), (0, 0, 0)]
        );
    }

    #[test]
    fn no_workflows_give_empty_minutes() {
        assert_eq!(bucket(at(0, 0), MINUTES, []).len(), MINUTES);
        assert!(
            bucket(at(0, 0), MINUTES, [])
                .iter()
                .all(|m| *m == (0, 0, 0))
        );
    }
}
