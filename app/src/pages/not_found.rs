//! The router's fallback for paths without a page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let path = use_location().pathname;

    view! {
        <Title text="Not found" />
        <h1>"Not found"</h1>
        <p class="muted">"There is no page at " <code>{move || path.get()}</code> "."</p>
    }
}
