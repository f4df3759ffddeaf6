//! What the server functions send to the browser: plain, serializable views
//! of the engine's records (the `engine` crate itself only exists on the
//! server). Times travel as milliseconds since the epoch plus a readable
//! UTC string made on the server.

use serde::{Deserialize, Serialize};

/// The statuses a workflow can have, in display order.
pub const STATUSES: &[&str] = &["running", "completed", "failed", "cancelled", "terminated"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CountsView {
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub terminated: u64,
}

impl CountsView {
    pub fn get(&self, status: &str) -> u64 {
        match status {
            "running" => self.running,
            "completed" => self.completed,
            "failed" => self.failed,
            "cancelled" => self.cancelled,
            "terminated" => self.terminated,
            _ => 0,
        }
    }
    pub fn total(&self) -> u64 {
        self.running + self.completed + self.failed + self.cancelled + self.terminated
    }
}

/// One row of the workflows list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRow {
    pub id: String,
    pub run: u32,
    pub workflow_type: String,
    pub status: String,
    pub created_ms: i64,
    pub created: String,
    pub closed_ms: Option<i64>,
    pub current_step: Option<String>,
    pub cancel_requested: bool,
    pub error: Option<String>,
}

/// The workflows page's filters (from the URL's query).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkflowQuery {
    pub status: Option<String>,
    pub workflow_type: Option<String>,
    pub id_prefix: Option<String>,
    pub backing_off: bool,
    pub waiting_on_timer: bool,
    pub cursor: Option<String>,
    /// Rows per page (default 25, at most 200).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowPage {
    pub rows: Vec<WorkflowRow>,
    pub next_cursor: Option<String>,
    pub counts: CountsView,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub run: u32,
    pub status: String,
    pub error: Option<String>,
    pub created: String,
    pub retry_mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityView {
    pub workflow_id: String,
    pub run: u32,
    pub seq: u32,
    pub name: String,
    pub attempt: u32,
    pub maximum_attempts: u32,
    pub state: String,
    pub last_error: Option<String>,
    pub next_attempt_ms: i64,
    pub next_attempt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerView {
    pub workflow_id: String,
    pub run: u32,
    pub seq: u32,
    pub fire_at_ms: i64,
    pub fire_at: String,
}

/// One event of a run, flattened for the compact list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub id: u64,
    pub time_ms: i64,
    pub time: String,
    pub kind: String,
    pub seq: Option<u32>,
    pub summary: String,
    pub failure: bool,
}

/// A bar of the timeline: an activity (with its attempts) or a timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    pub seq: u32,
    /// `activity` or `timer`.
    pub kind: String,
    pub label: String,
    pub start_ms: i64,
    /// `None` while still pending.
    pub end_ms: Option<i64>,
    /// `completed`, `failed`, `pending`, `backing-off`, `fired`, `cancelled`, `reused`.
    pub outcome: String,
    pub attempts: Vec<AttemptMark>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptMark {
    pub attempt: u32,
    pub time_ms: i64,
    pub error: Option<String>,
    pub next_attempt: Option<String>,
}

/// A point on the timeline: a signal, a cancel request, the run's end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub time_ms: i64,
    pub label: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDetail {
    pub row: WorkflowRow,
    /// The run shown (may be an earlier one than `row.run`).
    pub shown_run: u32,
    pub input: String,
    pub result: Option<String>,
    pub error: Option<String>,
    pub runs: Vec<RunView>,
    pub pending_activities: Vec<ActivityView>,
    pub pending_timers: Vec<TimerView>,
    pub events: Vec<EventView>,
    pub lanes: Vec<Lane>,
    pub markers: Vec<Marker>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub raw_history: String,
    pub now_ms: i64,
}

/// Backing-off activities and pending timers across workflows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingView {
    pub activities: Vec<ActivityView>,
    pub timers: Vec<TimerView>,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    pub error_rate: f64,
    pub latency_ms: u64,
    pub outage: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerLine {
    pub seq: i64,
    pub kind: String,
    pub key: String,
    pub status: u16,
    pub payload: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockLine {
    pub item_id: String,
    pub name: String,
    pub stock: i64,
    pub reserved: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceView {
    pub name: String,
    pub faults: Faults,
    pub ledger: Vec<LedgerLine>,
    /// Only the inventory has stock.
    pub stock: Vec<StockLine>,
}

/// A new order from the dashboard's form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    pub user: String,
    pub request_id: String,
    pub item_id: String,
    pub quantity: i64,
    pub address: String,
}

/// Why an order was not placed (the API's 400/409 answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlaceError {
    Invalid(Vec<(String, String)>),
    AlreadySubmitted(String),
    KeyReused(String),
    Other(String),
}

impl std::fmt::Display for PlaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlaceError::Invalid(fields) => {
                write!(f, "invalid order:")?;
                for (field, message) in fields {
                    write!(f, " {field}: {message};")?;
                }
                Ok(())
            }
            PlaceError::AlreadySubmitted(id) => write!(
                f,
                "409 Conflict: request `{id}` was already submitted (same order; nothing new was started)"
            ),
            PlaceError::KeyReused(id) => write!(
                f,
                "409 Conflict: request id `{id}` was already used for a different order"
            ),
            PlaceError::Other(message) => write!(f, "{message}"),
        }
    }
}

/// Overview: counts, per-minute activity over the last hour, what's stuck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewView {
    pub counts: CountsView,
    /// 60 buckets, oldest first: (started, completed, failed).
    pub per_minute: Vec<(u32, u32, u32)>,
    pub backing_off: usize,
    pub timers: usize,
    pub latest_failures: Vec<WorkflowRow>,
    pub now_ms: i64,
}

/// Who is looking: whether actions are shown, and the CSRF token forms carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub logged_in: bool,
    pub csrf: String,
    pub read_only: bool,
    /// The outcome of the last action posted without JavaScript (shown once).
    pub flash: Option<Flash>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flash {
    pub ok: bool,
    pub message: String,
}

impl SessionInfo {
    pub fn can_act(&self) -> bool {
        self.logged_in && !self.read_only
    }
}

/// Milliseconds since the epoch, now (server clock or the browser's).
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// "1h 2m", "3m 4s", "5s", "0.4s".
pub fn human_duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1_000 {
        return format!("{:.1}s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h {}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
    }
}

/// "in 12s" / "due now" for a moment in the future.
pub fn countdown(target_ms: i64, now_ms: i64) -> String {
    let left = target_ms - now_ms;
    if left <= 0 {
        "due now".to_string()
    } else {
        format!("in {}", human_duration(left))
    }
}

/// Percent-encodes a path segment (ids may hold any printable character).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Link to a workflow's page.
pub fn workflow_href(id: &str) -> String {
    format!("/workflows/{}", encode_segment(id))
}

/// Undoes [`encode_segment`] (and any other percent-encoding).
pub fn decode_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && s.is_char_boundary(i + 1)
            && s.is_char_boundary(i + 3)
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip() {
        for id in ["order-1", "a/b c%d", "<img src=x>", "ü"] {
            assert_eq!(decode_segment(&encode_segment(id)), id);
        }
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(400), "0.4s");
        assert_eq!(human_duration(5_000), "5s");
        assert_eq!(human_duration(65_000), "1m 5s");
        assert_eq!(countdown(0, 10), "due now");
        assert_eq!(countdown(12_000, 0), "in 12s");
    }
}
