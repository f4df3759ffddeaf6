//! `/retries` (every backing-off activity, with retry-now) and `/timers`
//! (every pending timer, with its countdown and fire-now).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::*;
use crate::components::live::{CsrfField, LoginHint, Outcome, error_text, use_live, use_session};
use crate::model::*;

#[component]
pub fn Retries() -> impl IntoView {
    let (now, refresh) = use_live(3);
    let session = use_session();
    let retry_now = ServerAction::<RetryActivityNow>::new();
    let data = Resource::new(
        move || (refresh.get(), retry_now.version().get()),
        |_| list_pending(),
    );
    view! {
        <Title text="Pending retries" />
        <h1>"Pending retries"</h1>
        <Outcome action=retry_now />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let info = session.await.unwrap_or_default();
                match data.await {
                    Err(e) => view! { <p class="err" role="alert">{error_text(&e)}</p> }.into_any(),
                    Ok(p) if p.activities.is_empty() => view! { <LoginHint info=info /><p class="muted">"No activity is backing off."</p> }.into_any(),
                    Ok(p) => view! {
                        <LoginHint info=info.clone() />
                        <div class="table-wrap">
                        <table>
                            <thead><tr>
                                <th scope="col">"Workflow"</th><th scope="col">"Activity"</th><th scope="col">"Attempt"</th>
                                <th scope="col">"Last error"</th><th scope="col">"Next retry"</th><th scope="col">"Action"</th>
                            </tr></thead>
                            <tbody>
                                {p.activities.into_iter().map(|a| {
                                    let next = a.next_attempt_ms;
                                    let csrf = info.csrf.clone();
                                    view! {
                                        <tr>
                                            <td><a href=workflow_href(&a.workflow_id)>{a.workflow_id.clone()}</a></td>
                                            <td>{format!("{} (#{})", a.name, a.seq)}</td>
                                            <td class="attempt">{format!("{} of {}", a.attempt, a.maximum_attempts)}</td>
                                            <td class="err">{a.last_error.clone().unwrap_or_default()}</td>
                                            <td><span class="countdown">{move || countdown(next, now.get())}</span></td>
                                            <td>
                                                {info.can_act().then(move || view! {
                                                    <details>
                                                        <summary>"Retry now…"</summary>
                                                        <ActionForm action=retry_now>
                                                            <CsrfField csrf=csrf />
                                                            <input type="hidden" name="id" value=a.workflow_id.clone() />
                                                            <input type="hidden" name="seq" value=a.seq.to_string() />
                                                            <button type="submit">"Confirm retry now"</button>
                                                        </ActionForm>
                                                    </details>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn Timers() -> impl IntoView {
    let (now, refresh) = use_live(3);
    let session = use_session();
    let fire = ServerAction::<FireTimerNow>::new();
    let data = Resource::new(
        move || (refresh.get(), fire.version().get()),
        |_| list_pending(),
    );
    view! {
        <Title text="Timers" />
        <h1>"Timers"</h1>
        <Outcome action=fire />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let info = session.await.unwrap_or_default();
                match data.await {
                    Err(e) => view! { <p class="err" role="alert">{error_text(&e)}</p> }.into_any(),
                    Ok(p) if p.timers.is_empty() => view! { <p class="muted">"No timer is pending."</p> }.into_any(),
                    Ok(p) => view! {
                        <div class="table-wrap">
                        <table>
                            <thead><tr>
                                <th scope="col">"Workflow"</th><th scope="col">"Timer"</th><th scope="col">"Fires at"</th>
                                <th scope="col">"Countdown"</th><th scope="col">"Action"</th>
                            </tr></thead>
                            <tbody>
                                {p.timers.into_iter().map(|t| {
                                    let at = t.fire_at_ms;
                                    let csrf = info.csrf.clone();
                                    view! {
                                        <tr>
                                            <td><a href=workflow_href(&t.workflow_id)>{t.workflow_id.clone()}</a></td>
                                            <td>{format!("#{} (run {})", t.seq, t.run)}</td>
                                            <td>{t.fire_at.clone()}</td>
                                            <td><span class="countdown">{move || countdown(at, now.get())}</span></td>
                                            <td>
                                                {info.can_act().then(move || view! {
                                                    <details>
                                                        <summary>"Fire now…"</summary>
                                                        <ActionForm action=fire>
                                                            <CsrfField csrf=csrf />
                                                            <input type="hidden" name="id" value=t.workflow_id.clone() />
                                                            <input type="hidden" name="seq" value=t.seq.to_string() />
                                                            <button type="submit">"Confirm fire now"</button>
                                                        </ActionForm>
                                                    </details>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
