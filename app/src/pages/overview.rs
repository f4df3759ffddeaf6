//! `/`: counts per status, the last hour per minute (inline SVG), what is
//! backing off or waiting, and the latest failures.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::get_overview;
use crate::components::live::{error_text, use_live};
use crate::model::*;
use crate::pages::workflows::WorkflowTable;

#[component]
pub fn Overview() -> impl IntoView {
    let (now, refresh) = use_live(5);
    let data = Resource::new(move || refresh.get(), |_| get_overview());
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p class="lede">
            "Durable workflows: every step persisted, failures retried, timers that survive restarts."
        </p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="err" role="alert">{error_text(&e)}</p> }.into_any(),
                    Ok(o) => {
                        let counts = o.counts.clone();
                        view! {
                            <ul class="counts big" aria-label="Workflows per status">
                                {STATUSES.iter().map(|s| view! {
                                    <li class=format!("status-{s}")>
                                        <a href=format!("/workflows?status={s}")>
                                            <span class="n">{counts.get(s)}</span>" "{*s}
                                        </a>
                                    </li>
                                }).collect_view()}
                            </ul>
                            <ul class="counts" aria-label="Waiting">
                                <li><a href="/retries"><span class="n">{o.backing_off}</span>" activities backing off"</a></li>
                                <li><a href="/timers"><span class="n">{o.timers}</span>" timers pending"</a></li>
                            </ul>
                            <section aria-labelledby="chart-h" class="card">
                                <h2 id="chart-h">"Last hour, per minute"</h2>
                                <Chart per_minute=o.per_minute.clone() />
                            </section>
                            <section aria-labelledby="fail-h">
                                <h2 id="fail-h">"Latest failures"</h2>
                                <WorkflowTable rows=o.latest_failures.clone() now=now />
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Three polylines (started, completed, failed) over 60 minutes.
#[component]
fn Chart(per_minute: Vec<(u32, u32, u32)>) -> impl IntoView {
    const W: f64 = 600.0;
    const H: f64 = 120.0;
    let max = per_minute
        .iter()
        .map(|(a, b, c)| *a.max(b).max(c))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = per_minute.len().max(2) as f64 - 1.0;
    let line = |pick: fn(&(u32, u32, u32)) -> u32| {
        per_minute
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 / n * W,
                    H - pick(p) as f64 / max * (H - 8.0) - 4.0
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let totals = per_minute
        .iter()
        .fold((0, 0, 0), |t, p| (t.0 + p.0, t.1 + p.1, t.2 + p.2));
    let summary = format!(
        "In the last hour: {} started, {} completed, {} failed (busiest minute: {}).",
        totals.0, totals.1, totals.2, max as u32
    );
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label=summary.clone() preserveAspectRatio="none">
            <line x1="0" y1=H - 4.0 x2=W y2=H - 4.0 class="axis" />
            <polyline points=line(|p| p.0) class="series started" />
            <polyline points=line(|p| p.1) class="series completed" />
            <polyline points=line(|p| p.2) class="series failed" />
        </svg>
        <p class="legend">
            <span class="key started">"started"</span>
            <span class="key completed">"completed"</span>
            <span class="key failed">"failed"</span>
            <span class="muted">" — 60 minutes ago → now; max " {max as u32} "/min"</span>
        </p>
        <p class="muted">{summary}</p>
    }
}
