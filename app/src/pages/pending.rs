//! `/retries` (every backing-off activity, with retry-now) and `/timers`
//! (every pending timer, with its countdown and fire-now): one table shape,
//! [`PendingTable`], with each page's own columns.

use leptos::prelude::*;
use leptos::server_fn::{Http, ServerFn, client::Client, codec::PostUrl, request::ClientReq};
use leptos::web_sys::FormData;
use leptos_meta::Title;
use serde::de::DeserializeOwned;

use crate::api::*;
use crate::components::confirm::OperationConfirm;
use crate::components::live::{LoginHint, Outcome, error_text, use_live, use_session};
use crate::model::*;

#[component]
pub fn Retries() -> impl IntoView {
    view! {
        <PendingTable
            title="Pending retries"
            action={ServerAction::<RetryActivityNow>::new()}
            rows=retry_rows
            columns={&["Activity", "Attempt", "Last error", "Next retry"]}
            empty="No activity is backing off."
            summary="Retry now…"
            confirm="Confirm retry now"
        />
    }
}

#[component]
pub fn Timers() -> impl IntoView {
    view! {
        <PendingTable
            title="Timers"
            action={ServerAction::<FireTimerNow>::new()}
            rows=timer_rows
            columns={&["Timer", "Fires at", "Countdown"]}
            empty="No timer is pending."
            summary="Fire now…"
            confirm="Confirm fire now"
        />
    }
}

/// One pending operation as a table row: its workflow, its own cells
/// (class, text), and when it is due (the last column counts down to it).
pub struct PendingRow {
    workflow_id: String,
    seq: u32,
    cells: Vec<(&'static str, String)>,
    due_ms: i64,
}

fn retry_rows(p: PendingView) -> Vec<PendingRow> {
    p.activities
        .into_iter()
        .map(|a| PendingRow {
            cells: vec![
                ("", format!("{} (#{})", a.name, a.seq)),
                (
                    "attempt",
                    format!("{} of {}", a.attempt, a.maximum_attempts),
                ),
                ("err", a.last_error.unwrap_or_default()),
            ],
            due_ms: a.next_attempt_ms,
            workflow_id: a.workflow_id,
            seq: a.seq,
        })
        .collect()
}

fn timer_rows(p: PendingView) -> Vec<PendingRow> {
    p.timers
        .into_iter()
        .map(|t| PendingRow {
            cells: vec![("", format!("#{} (run {})", t.seq, t.run)), ("", t.fire_at)],
            due_ms: t.fire_at_ms,
            workflow_id: t.workflow_id,
            seq: t.seq,
        })
        .collect()
}

/// A live table of pending operations across all workflows, each with the
/// confirmation of `action` for operators. `columns` names the row's cells
/// and then the countdown column.
// The bounds are `ActionForm`'s (see `OperationConfirm`).
#[component]
fn PendingTable<S, P>(
    title: &'static str,
    action: ServerAction<S>,
    rows: fn(PendingView) -> Vec<PendingRow>,
    columns: &'static [&'static str],
    empty: &'static str,
    summary: &'static str,
    confirm: &'static str,
) -> impl IntoView
where
    S: DeserializeOwned
        + ServerFn<Protocol = Http<PostUrl, P>, Output = String, Error = ServerFnError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Client: Client<ServerFnError>,
    <<S::Client as Client<ServerFnError>>::Request as ClientReq<ServerFnError>>::FormData:
        From<FormData>,
{
    let (now, refresh) = use_live(3);
    let session = use_session();
    let data = Resource::new(
        move || (refresh.get(), action.version().get()),
        |_| list_pending(),
    );
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <Outcome action=action />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let info = session.await.unwrap_or_default();
                let rows = match data.await {
                    Err(e) => return view! { <p class="err" role="alert">{error_text(&e)}</p> }.into_any(),
                    Ok(p) => rows(p),
                };
                if rows.is_empty() {
                    return view! { <LoginHint info=info /><p class="muted">{empty}</p> }.into_any();
                }
                view! {
                    <LoginHint info=info.clone() />
                    <div class="table-wrap">
                    <table>
                        <thead><tr>
                            <th scope="col">"Workflow"</th>
                            {columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}
                            <th scope="col">"Action"</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| {
                                let due = row.due_ms;
                                let csrf = info.csrf.clone();
                                view! {
                                    <tr>
                                        <td><a href=workflow_href(&row.workflow_id)>{row.workflow_id.clone()}</a></td>
                                        {row.cells.into_iter().map(|(class, text)| view! { <td class=class>{text}</td> }).collect_view()}
                                        <td><span class="countdown">{move || countdown(due, now.get())}</span></td>
                                        <td>
                                            {info.can_act().then(move || view! {
                                                <OperationConfirm action=action csrf=csrf workflow_id=row.workflow_id seq=row.seq summary=summary confirm=confirm />
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any()
            })}
        </Transition>
    }
}
