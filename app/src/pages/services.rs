//! `/services`: each simulated service's fault knobs (changeable live),
//! stock and newest ledger entries.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::*;
use crate::components::live::{CsrfField, LoginHint, Outcome, error_text, use_live, use_session};

#[component]
pub fn ServicesPage() -> impl IntoView {
    let (_now, refresh) = use_live(5);
    let session = use_session();
    let set = ServerAction::<SetFaults>::new();
    let data = Resource::new(
        move || (refresh.get(), set.version().get()),
        |_| list_services(),
    );
    view! {
        <Title text="Services" />
        <h1>"Services"</h1>
        <Outcome action=set />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let info = session.await.unwrap_or_default();
                match data.await {
                    Err(e) => view! { <p class="err" role="alert">{error_text(&e)}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="muted">"This server runs no simulated services (--no-demo-services)."</p> }.into_any(),
                    Ok(list) => view! {
                        <LoginHint info=info.clone() />
                        <div class="services">
                        {list.into_iter().map(|s| {
                            let name = s.name.clone();
                            let f = s.faults.clone();
                            let csrf = info.csrf.clone();
                            let form_name = name.clone();
                            let form_faults = f.clone();
                            view! {
                                <section class="card service" aria-labelledby=format!("svc-{name}")>
                                    <h2 id=format!("svc-{name}")>{name.clone()}</h2>
                                    <p class="faults">
                                        {format!("Error rate {}%, latency {} ms, {}", (f.error_rate * 100.0).round(), f.latency_ms, if f.outage { "OUTAGE" } else { "up" })}
                                    </p>
                                    {info.can_act().then(move || { let name = form_name; let f = form_faults; view! {
                                        <ActionForm action=set>
                                            <CsrfField csrf=csrf />
                                            <input type="hidden" name="service" value=name.clone() />
                                            <div class="knobs">
                                                <label>"Error rate (%)" <input type="number" name="error_rate" min="0" max="100" step="1" value=(f.error_rate * 100.0).round().to_string() /></label>
                                                <label>"Latency (ms)" <input type="number" name="latency_ms" min="0" max="60000" step="1" value=f.latency_ms.to_string() /></label>
                                                <label class="check"><input type="checkbox" name="outage" value="on" checked=f.outage /> "Outage"</label>
                                                <button type="submit">{format!("Apply to {name}")}</button>
                                            </div>
                                        </ActionForm>
                                    }})}
                                    {(!s.stock.is_empty()).then(|| view! {
                                        <h3>"Stock"</h3>
                                        <table class="compact">
                                            <thead><tr><th scope="col">"Item"</th><th scope="col">"On hand"</th><th scope="col">"Reserved"</th></tr></thead>
                                            <tbody>
                                                {s.stock.iter().map(|i| view! {
                                                    <tr><td>{format!("{} ({})", i.name, i.item_id)}</td><td>{i.stock}</td><td>{i.reserved}</td></tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    })}
                                    <h3>"Ledger (newest first)"</h3>
                                    {if s.ledger.is_empty() {
                                        view! { <p class="muted">"No entries yet."</p> }.into_any()
                                    } else {
                                        view! {
                                            <div class="table-wrap">
                                            <table class="compact ledger">
                                                <thead><tr><th scope="col">"#"</th><th scope="col">"Op"</th><th scope="col">"Status"</th><th scope="col">"Request"</th><th scope="col">"At"</th></tr></thead>
                                                <tbody>
                                                    {s.ledger.iter().map(|l| view! {
                                                        <tr class:err=l.status != 200>
                                                            <td>{l.seq}</td><td>{l.kind.clone()}</td><td>{l.status}</td>
                                                            <td><code>{l.payload.clone()}</code></td><td>{l.at.clone()}</td>
                                                        </tr>
                                                    }).collect_view()}
                                                </tbody>
                                            </table>
                                            </div>
                                        }.into_any()
                                    }}
                                </section>
                            }
                        }).collect_view()}
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
