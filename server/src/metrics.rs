//! Prometheus metrics. The engine counts through the `metrics` facade
//! (workflows started and closed by type, activity attempts and failures by
//! name, task durations); this module installs the recorder and, at each
//! scrape, sets the gauges read from the store.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide recorder's handle, installed on first use (servers
/// started in one process, as in tests, share it).
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// Gauges read from the store at scrape time.
pub async fn refresh_gauges(client: &engine::Client) {
    use engine::{ListFilter, WorkflowStatus};
    if let Ok(counts) = client.counts(&ListFilter::default()).await {
        for status in WorkflowStatus::ALL {
            metrics::gauge!("steadfast_workflows", "status" => status.as_str())
                .set(counts.get(status) as f64);
        }
    }
    let gauges = [
        (
            "steadfast_workflows_backing_off",
            ListFilter {
                backing_off: true,
                ..ListFilter::default()
            },
        ),
        (
            "steadfast_workflows_waiting_on_timer",
            ListFilter {
                waiting_on_timer: true,
                ..ListFilter::default()
            },
        ),
    ];
    for (name, filter) in gauges {
        if let Ok(counts) = client.counts(&filter).await {
            metrics::gauge!(name).set(counts.running as f64);
        }
    }
}
