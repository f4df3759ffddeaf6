//! `/workflows/:id`: one workflow — status, input, outcome, runs, the
//! history as a timeline (plus a compact list and the raw JSON), what is
//! pending, and the actions that fit its state.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::*;
use crate::components::confirm::OperationConfirm;
use crate::components::live::{CsrfField, LoginHint, Outcome, error_text, use_live, use_session};
use crate::model::*;
use crate::pages::workflows::StatusBadge;

#[component]
pub fn WorkflowPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || decode_segment(&params.read().get("id").unwrap_or_default());
    let run = move || query.read().get("run").and_then(|r| r.parse::<u32>().ok());
    let failures_only = move || query.read().get("failures").is_some();
    let (now, refresh) = use_live(2);
    let session = use_session();

    let cancel = ServerAction::<CancelWorkflow>::new();
    let terminate = ServerAction::<TerminateWorkflow>::new();
    let retry = ServerAction::<RetryWorkflow>::new();
    let retry_now = ServerAction::<RetryActivityNow>::new();
    let fire = ServerAction::<FireTimerNow>::new();
    let signal_ = ServerAction::<SignalWorkflow>::new();
    let acted = move || {
        cancel.version().get()
            + terminate.version().get()
            + retry.version().get()
            + retry_now.version().get()
            + fire.version().get()
            + signal_.version().get()
    };
    let detail = Resource::new(
        move || (id(), run(), refresh.get(), acted()),
        |(id, run, _, _)| get_workflow(id, run),
    );

    view! {
        <Title text=move || id() />
        <p class="crumbs"><a href="/workflows">"Workflows"</a> " / "</p>
        <h1 class="wf-id">{id}</h1>
        <div class="outcomes">
            <Outcome action=cancel />
            <Outcome action=terminate />
            <Outcome action=retry />
            <Outcome action=retry_now />
            <Outcome action=fire />
            <Outcome action=signal_ />
        </div>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let info = session.await.unwrap_or_default();
                match detail.await {
                    Err(e) => view! { <p class="err" role="alert">{error_text(&e)}</p> }.into_any(),
                    Ok(d) => {
                        let href = workflow_href(&d.row.id);
                        let is_current = d.shown_run == d.row.run;
                        let running = d.row.status == "running" && is_current;
                        let retryable = is_current
                            && matches!(d.row.status.as_str(), "failed" | "cancelled" | "terminated");
                        let can_act = info.can_act();
                        let csrf = StoredValue::new(info.csrf.clone());
                        let wf_id = StoredValue::new(d.row.id.clone());
                        view! {
                            <section class="summary card" aria-label="Summary">
                                <dl class="kv facts">
                                    <dt>"Status"</dt>
                                    <dd>
                                        <StatusBadge status=if is_current { d.row.status.clone() } else { d.runs.iter().find(|r| r.run == d.shown_run).map(|r| r.status.clone()).unwrap_or_default() } />
                                        {d.row.cancel_requested.then_some(" (cancel requested)")}
                                    </dd>
                                    <dt>"Type"</dt>
                                    <dd>{d.row.workflow_type.clone()}</dd>
                                    <dt>"Run"</dt>
                                    <dd>{format!("{} of {}", d.shown_run, d.row.run)}</dd>
                                    <dt>"Started"</dt>
                                    <dd>{d.row.created.clone()}</dd>
                                    <dt>"Current step"</dt>
                                    <dd class="current-step">{d.row.current_step.clone().unwrap_or_else(|| "—".into())}</dd>
                                </dl>
                                <h2>"Input"</h2>
                                <pre class="json">{d.input.clone()}</pre>
                                {d.result.clone().map(|r| view! { <h2>"Result"</h2><pre class="json">{r}</pre> })}
                                {d.error.clone().map(|e| view! { <h2>"Error"</h2><pre class="json err workflow-error">{e}</pre> })}
                            </section>

                            <section aria-labelledby="runs-h">
                                <h2 id="runs-h">"Runs"</h2>
                                <ol class="runs">
                                    {d.runs.iter().map(|r| {
                                        let link = format!("{href}?run={}", r.run);
                                        let current = r.run == d.shown_run;
                                        view! {
                                            <li>
                                                <a href=link aria-current=current.then_some("page")>{format!("Run {}", r.run)}</a>
                                                " "
                                                <StatusBadge status=r.status.clone() />
                                                {format!(" started {}", r.created)}
                                                {r.retry_mode.clone().map(|m| format!(" (retry: {m})"))}
                                                {r.error.clone().map(|e| view! { <span class="err">{format!(" — {e}")}</span> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ol>
                            </section>

                            <section aria-labelledby="actions-h" class="actions">
                                <h2 id="actions-h">"Actions"</h2>
                                <LoginHint info=info.clone() />
                                {(can_act && running).then(move || view! {
                                    <div class="action-row">
                                        <details>
                                            <summary>"Cancel…"</summary>
                                            <ActionForm action=cancel>
                                                <CsrfField csrf=csrf.get_value() />
                                                <input type="hidden" name="id" value=wf_id.get_value() />
                                                <label>"Reason" <input name="reason" placeholder="why" /></label>
                                                <p class="muted">"The workflow's compensation runs, then it ends cancelled."</p>
                                                <button type="submit" class="danger">"Confirm cancel"</button>
                                            </ActionForm>
                                        </details>
                                        <details>
                                            <summary>"Terminate…"</summary>
                                            <ActionForm action=terminate>
                                                <CsrfField csrf=csrf.get_value() />
                                                <input type="hidden" name="id" value=wf_id.get_value() />
                                                <label>"Reason" <input name="reason" placeholder="why" /></label>
                                                <p class="muted">"Stops at once: no compensation runs."</p>
                                                <button type="submit" class="danger">"Confirm terminate"</button>
                                            </ActionForm>
                                        </details>
                                        <details>
                                            <summary>"Signal…"</summary>
                                            <ActionForm action=signal_>
                                                <CsrfField csrf=csrf.get_value() />
                                                <input type="hidden" name="id" value=wf_id.get_value() />
                                                <label>"Name" <input name="name" required /></label>
                                                <label>"Payload (JSON or text)" <textarea name="payload" rows="3"></textarea></label>
                                                <button type="submit">"Confirm signal"</button>
                                            </ActionForm>
                                        </details>
                                    </div>
                                })}
                                {(can_act && retryable).then(move || view! {
                                    <div class="action-row">
                                        <details>
                                            <summary>"Retry…"</summary>
                                            <ActionForm action=retry>
                                                <CsrfField csrf=csrf.get_value() />
                                                <input type="hidden" name="id" value=wf_id.get_value() />
                                                <fieldset>
                                                    <legend>"Start a new run"</legend>
                                                    <label class="check"><input type="radio" name="mode" value="resume" checked /> "Resume (reuse completed steps)"</label>
                                                    <label class="check"><input type="radio" name="mode" value="from_start" /> "From the start"</label>
                                                </fieldset>
                                                <button type="submit">"Confirm retry"</button>
                                            </ActionForm>
                                        </details>
                                    </div>
                                })}
                                {(!running && !retryable && info.can_act()).then(|| view! { <p class="muted">"No actions fit this run's state."</p> })}
                            </section>

                            <section aria-labelledby="pending-h">
                                <h2 id="pending-h">"Pending"</h2>
                                {(d.pending_activities.is_empty() && d.pending_timers.is_empty()).then(|| view! { <p class="muted">"Nothing pending."</p> })}
                                <ul class="pending">
                                    {d.pending_activities.clone().into_iter().map(|a| {
                                        let next = a.next_attempt_ms;
                                        let backing_off = a.state == "backing_off";
                                        let (a_id, a_seq) = (a.workflow_id.clone(), a.seq);
                                        view! {
                                            <li class="pending-activity">
                                                <strong>{a.name.clone()}</strong>
                                                {format!(" (#{}) — {} — attempt ", a.seq, a.state.replace('_', " "))}
                                                <span class="attempt">{format!("{} of {}", a.attempt, a.maximum_attempts)}</span>
                                                {a.last_error.clone().map(|e| view! { <div class="err">"Last error: " {e}</div> })}
                                                {backing_off.then(|| view! {
                                                    <div>"Next retry " <span class="countdown">{move || countdown(next, now.get())}</span> {format!(" ({})", a.next_attempt)}</div>
                                                })}
                                                {(backing_off && can_act).then(move || view! {
                                                    <OperationConfirm action=retry_now csrf=csrf.get_value() workflow_id=a_id seq=a_seq summary="Retry now…" confirm="Confirm retry now" />
                                                })}
                                            </li>
                                        }
                                    }).collect_view()}
                                    {d.pending_timers.clone().into_iter().map(|t| {
                                        let fire_at = t.fire_at_ms;
                                        let (t_id, t_seq) = (t.workflow_id.clone(), t.seq);
                                        view! {
                                            <li class="pending-timer">
                                                <strong>{format!("Timer #{}", t.seq)}</strong>
                                                {format!(" fires at {} — ", t.fire_at)}
                                                <span class="countdown">{move || countdown(fire_at, now.get())}</span>
                                                {can_act.then(move || view! {
                                                    <OperationConfirm action=fire csrf=csrf.get_value() workflow_id=t_id seq=t_seq summary="Fire now…" confirm="Confirm fire now" />
                                                })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            </section>

                            <Timeline detail=d.clone() />

                            <section aria-labelledby="events-h">
                                <h2 id="events-h">"Events"</h2>
                                <p>
                                    {if failures_only() {
                                        view! { <a href=format!("{href}?run={}", d.shown_run)>"Show all events"</a> }.into_any()
                                    } else {
                                        view! { <a href=format!("{href}?run={}&failures=1", d.shown_run)>"Failures only"</a> }.into_any()
                                    }}
                                </p>
                                <ol class="events">
                                    {d.events.iter().filter(|e| !failures_only() || e.failure).map(|e| view! {
                                        <li class:failure=e.failure>
                                            <span class="muted">{format!("#{} {} ", e.id, e.time)}</span>
                                            <strong>{e.kind.clone()}</strong>
                                            {e.seq.map(|s| format!(" (#{s})"))}
                                            " "
                                            <span class="event-summary">{e.summary.clone()}</span>
                                        </li>
                                    }).collect_view()}
                                </ol>
                                <details>
                                    <summary>"Raw history (JSON)"</summary>
                                    <pre class="json raw">{d.raw_history.clone()}</pre>
                                </details>
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Activities and timers as bars over the run's time span; attempts as
/// ticks (failed ones red); signals, cancel requests and the end as markers.
#[component]
fn Timeline(detail: WorkflowDetail) -> impl IntoView {
    let start = detail.start_ms;
    let span = (detail.end_ms - start).max(1) as f64;
    let pos = move |t: i64| ((t - start) as f64 / span * 100.0).clamp(0.0, 100.0);
    view! {
        <section aria-labelledby="timeline-h" class="timeline-section">
            <h2 id="timeline-h">"Timeline"</h2>
            <p class="muted">{format!("{} across the run", human_duration(detail.end_ms - start))}</p>
            <ol class="timeline">
                {detail.lanes.iter().map(|l| {
                    let left = pos(l.start_ms);
                    let right = pos(l.end_ms.unwrap_or(detail.end_ms));
                    let width = (right - left).max(0.8);
                    let failed_attempts = l.attempts.iter().filter(|a| a.error.is_some()).count();
                    let attempts = l.attempts.len();
                    let text = match l.kind.as_str() {
                        "activity" => format!("{attempts} attempt(s), {failed_attempts} failed — {}", l.outcome.replace('-', " ")),
                        _ => l.outcome.clone(),
                    };
                    view! {
                        <li class=format!("lane lane-{} outcome-{}", l.kind, l.outcome)>
                            <div class="lane-label">
                                <strong>{l.label.clone()}</strong>
                                <span class="muted">{format!(" #{} ", l.seq)}</span>
                                <span class="lane-text">{text}</span>
                            </div>
                            <div class="track" aria-hidden="true">
                                <div class="bar" style=format!("left:{left:.2}%;width:{width:.2}%")></div>
                                {l.attempts.iter().map(|a| {
                                    let title = match &a.error {
                                        Some(e) => format!("attempt {} failed: {e}", a.attempt),
                                        None => format!("attempt {} succeeded", a.attempt),
                                    };
                                    view! {
                                        <span class=if a.error.is_some() { "tick fail" } else { "tick ok" }
                                            style=format!("left:{:.2}%", pos(a.time_ms)) title=title></span>
                                    }
                                }).collect_view()}
                            </div>
                            {(!l.attempts.is_empty() && l.attempts.iter().any(|a| a.error.is_some())).then(|| view! {
                                <ul class="attempts">
                                    {l.attempts.iter().filter(|a| a.error.is_some()).map(|a| view! {
                                        <li class="err">
                                            {format!("Attempt {}: ", a.attempt)}
                                            {a.error.clone().unwrap_or_default()}
                                            {a.next_attempt.clone().map(|n| format!(" — retry at {n}"))}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            })}
                        </li>
                    }
                }).collect_view()}
                {detail.markers.iter().map(|m| view! {
                    <li class="lane lane-marker">
                        <div class="lane-label">
                            <strong>{m.label.clone()}</strong>
                            " "
                            <span class="marker-detail">{m.detail.clone()}</span>
                        </div>
                        <div class="track" aria-hidden="true">
                            <span class="marker" style=format!("left:{:.2}%", pos(m.time_ms))></span>
                        </div>
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}
