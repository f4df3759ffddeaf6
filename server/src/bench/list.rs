//! How long listing takes with many workflows stored: the first page of
//! workflows filtered by status (`engine::Client::list` with
//! `ListFilter { status: Some(Failed) }`, the target being under 50 ms with
//! 1,000,000 stored), the same with the counts that `GET /api/workflows`
//! adds, the unfiltered first page, and the counts alone.

use std::time::{Duration, Instant};

use engine::{ListFilter, WorkflowStatus};
use serde::Serialize;

use super::stats::Percentiles;

/// One query's timings.
#[derive(Debug, Clone, Serialize)]
pub struct ListQuery {
    pub name: String,
    /// Workflows on the page (0 for counts).
    pub returned: usize,
    /// The first call (cold statement cache and pages).
    pub first_ms: f64,
    /// The calls after it.
    pub latency: Percentiles,
}

/// What the list measurement found.
#[derive(Debug, Clone, Serialize)]
pub struct ListFigures {
    pub stored_workflows: u64,
    pub stored_failed: u64,
    pub limit: u32,
    pub queries: Vec<ListQuery>,
}

async fn time<F, Fut>(samples: usize, mut call: F) -> anyhow::Result<(usize, f64, Percentiles)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let t = Instant::now();
    let returned = call().await?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut times: Vec<Duration> = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        call().await?;
        times.push(t.elapsed());
    }
    Ok((returned, first_ms, Percentiles::of(&times)))
}

/// Times each list query `samples` times (after a first, separate call).
pub async fn measure(
    client: &engine::Client,
    limit: u32,
    samples: usize,
) -> anyhow::Result<ListFigures> {
    let failed = ListFilter {
        status: Some(WorkflowStatus::Failed),
        ..ListFilter::default()
    };
    let all = ListFilter::default();
    let mut queries = Vec::new();
    let mut record = |name: &str, (returned, first_ms, latency): (usize, f64, Percentiles)| {
        queries.push(ListQuery {
            name: name.to_string(),
            returned,
            first_ms,
            latency,
        })
    };
    record(
        "list status=failed (first page)",
        time(samples, || async {
            Ok(client.list(&failed, None, limit).await?.workflows.len())
        })
        .await?,
    );
    record(
        "list status=failed + counts (GET /api/workflows?status=failed)",
        time(samples, || async {
            let page = client.list(&failed, None, limit).await?;
            client.counts(&failed).await?;
            Ok(page.workflows.len())
        })
        .await?,
    );
    record(
        "list unfiltered (first page)",
        time(samples, || async {
            Ok(client.list(&all, None, limit).await?.workflows.len())
        })
        .await?,
    );
    record(
        "counts unfiltered",
        time(samples, || async {
            client.counts(&all).await?;
            Ok(0)
        })
        .await?,
    );
    let counts = client.counts(&all).await?;
    Ok(ListFigures {
        stored_workflows: counts.total(),
        stored_failed: counts.failed,
        limit,
        queries,
    })
}
