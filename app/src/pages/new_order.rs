//! `/orders/new`: places an order through the same start-order path as
//! `POST /api/orders` (a reused request id gets the same 409 answer).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::PlaceOrder;
use crate::components::live::{CsrfField, LoginHint, error_text, use_session};
use crate::model::workflow_href;

#[component]
pub fn NewOrderPage() -> impl IntoView {
    let session = use_session();
    let place = ServerAction::<PlaceOrder>::new();
    let value = place.value();
    view! {
        <Title text="New order" />
        <h1>"New order"</h1>
        <p role="status" aria-live="polite" class="outcome">
            {move || match value.get() {
                Some(Ok(id)) => view! { <span class="ok">"Order placed: " <a href=workflow_href(&id)>{id.clone()}</a></span> }.into_any(),
                Some(Err(e)) => view! { <span class="err">{format!("Refused: {}", error_text(&e))}</span> }.into_any(),
                None => ().into_any(),
            }}
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let info = session.await.unwrap_or_default();
                if !info.can_act() {
                    return view! { <LoginHint info=info /> }.into_any();
                }
                let suggested = format!("order-{}", crate::model::now_ms());
                view! {
                    <ActionForm action=place>
                        <div class="card stack">
                            <CsrfField csrf=info.csrf.clone() />
                            <label for="o-user">"Customer"</label>
                            <input id="o-user" name="user" value="dashboard" required />
                            <label for="o-req">"Request id (idempotency key)"</label>
                            <input id="o-req" name="request_id" value=suggested required />
                            <label for="o-item">"Item"</label>
                            <input id="o-item" name="item_id" value="sku-widget" required />
                            <label for="o-qty">"Quantity"</label>
                            <input id="o-qty" name="quantity" type="number" min="1" max="1000" value="1" required />
                            <label for="o-addr">"Address"</label>
                            <textarea id="o-addr" name="address" rows="2" required>"1 Main St, Springfield"</textarea>
                            <button type="submit">"Place order"</button>
                        </div>
                    </ActionForm>
                }.into_any()
            })}
        </Suspense>
    }
}
