//! `/workflows`: the list, with filters in the URL (a plain GET form, so it
//! works without JavaScript), keyset paging and live refresh.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{list_workflow_types, list_workflows};
use crate::components::live::{error_text, use_live};
use crate::model::*;

#[component]
pub fn Workflows() -> impl IntoView {
    let query = use_query_map();
    let filters = move || {
        let q = query.read();
        let text = |k: &str| q.get(k).filter(|v| !v.is_empty());
        WorkflowQuery {
            status: text("status"),
            workflow_type: text("type"),
            id_prefix: text("id"),
            backing_off: text("retrying").is_some(),
            waiting_on_timer: text("timer").is_some(),
            cursor: text("cursor"),
            limit: text("limit").and_then(|l| l.parse().ok()),
        }
    };
    let (now, refresh) = use_live(3);
    // The registered types change only with a new server: fetched once.
    let types = Resource::new(|| (), |_| list_workflow_types());
    let page = Resource::new(
        move || (filters(), refresh.get()),
        |(f, _)| list_workflows(f),
    );

    view! {
        <Title text="Workflows" />
        <h1>"Workflows"</h1>
        <form method="get" action="/workflows" class="filters" aria-label="Filter workflows">
            <label>
                "Status"
                <select name="status">
                    <option value="" selected=move || filters().status.is_none()>"any"</option>
                    {STATUSES
                        .iter()
                        .map(|s| {
                            let s = *s;
                            view! {
                                <option value=s selected=move || filters().status.as_deref() == Some(s)>
                                    {s}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let mut types = types.await.unwrap_or_default();
                    // A type in the URL that is not registered (an old link)
                    // stays visible as the selected choice.
                    if let Some(chosen) = filters().workflow_type
                        && !types.contains(&chosen)
                    {
                        types.push(chosen);
                    }
                    view! {
                        <label>
                            "Type"
                            <select name="type">
                                <option value="" selected=move || filters().workflow_type.is_none()>"any"</option>
                                {types
                                    .into_iter()
                                    .map(|t| {
                                        let (value, selected) = (t.clone(), t.clone());
                                        view! {
                                            <option value=value selected=move || filters().workflow_type.as_deref() == Some(selected.as_str())>
                                                {t}
                                            </option>
                                        }
                                    })
                                    .collect_view()}
                            </select>
                        </label>
                    }
                })}
            </Suspense>
            <label>
                "Id starts with"
                <input name="id" type="search" value=move || filters().id_prefix.unwrap_or_default() />
            </label>
            <label class="check">
                <input type="checkbox" name="retrying" value="1" checked=move || filters().backing_off />
                "Retrying"
            </label>
            <label class="check">
                <input type="checkbox" name="timer" value="1" checked=move || filters().waiting_on_timer />
                "Waiting on a timer"
            </label>
            <button type="submit">"Filter"</button>
            <a href="/workflows">"Clear"</a>
        </form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <p class="err" role="alert">{error_text(&e)}</p> }.into_any(),
                    Ok(p) => {
                        let f = filters();
                        let next = p.next_cursor.clone().map(|c| {
                            let mut parts = vec![format!("cursor={}", encode_segment(&c))];
                            if let Some(s) = &f.status { parts.push(format!("status={}", encode_segment(s))); }
                            if let Some(t) = &f.workflow_type { parts.push(format!("type={}", encode_segment(t))); }
                            if let Some(i) = &f.id_prefix { parts.push(format!("id={}", encode_segment(i))); }
                            if f.backing_off { parts.push("retrying=1".into()); }
                            if f.waiting_on_timer { parts.push("timer=1".into()); }
                            if let Some(l) = f.limit { parts.push(format!("limit={l}")); }
                            format!("/workflows?{}", parts.join("&"))
                        });
                        let counts = p.counts.clone();
                        view! {
                            <ul class="counts" aria-label="Counts">
                                {STATUSES
                                    .iter()
                                    .map(|s| {
                                        view! {
                                            <li class=format!("status-{s}")>
                                                <a href=format!("/workflows?status={s}")>
                                                    <span class="n">{counts.get(s)}</span>
                                                    " "
                                                    {*s}
                                                </a>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                                <li>
                                    <span class="n">{counts.total()}</span>
                                    " total"
                                </li>
                            </ul>
                            <WorkflowTable rows=p.rows now=now />
                            <nav class="pager" aria-label="Pages">
                                {f.cursor.is_some().then(|| view! { <a href="/workflows">"First page"</a> })}
                                {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
                            </nav>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// A table of workflows (also used by the overview's latest failures).
#[component]
pub fn WorkflowTable(rows: Vec<WorkflowRow>, now: ReadSignal<i64>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No workflows match."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="workflows">
                <thead>
                    <tr>
                        <th scope="col">"Id"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Duration"</th>
                        <th scope="col">"Current step"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|w| {
                            let created = w.created_ms;
                            let closed = w.closed_ms;
                            view! {
                                <tr>
                                    <td>
                                        <a href=workflow_href(&w.id)>{w.id.clone()}</a>
                                        {(w.run > 1).then(|| view! { <span class="muted">{format!(" run {}", w.run)}</span> })}
                                    </td>
                                    <td>{w.workflow_type.clone()}</td>
                                    <td>
                                        <StatusBadge status=w.status.clone() />
                                        {w.cancel_requested.then(|| view! { <span class="muted">" (cancel requested)"</span> })}
                                    </td>
                                    <td><time>{w.created.clone()}</time></td>
                                    <td>{move || human_duration(closed.unwrap_or_else(|| now.get()) - created)}</td>
                                    <td>{w.current_step.clone().unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn StatusBadge(status: String) -> impl IntoView {
    view! { <span class=format!("status status-{status}")>{status.clone()}</span> }
}
