//! `/`: the landing page of the dashboard.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Overview() -> impl IntoView {
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p class="lede">
            "Durable workflows: every step persisted, failures retried, timers that survive restarts."
        </p>
    }
}
