//! The frame around every page: header with the navigation, the page itself,
//! and the hydration marker that browser tests wait for.

use leptos::prelude::*;
use leptos_router::components::A;

/// The sections of the dashboard, in nav order: (label, path).
pub const NAV: &[(&str, &str)] = &[
    ("Overview", "/"),
    ("Workflows", "/workflows"),
    ("Pending retries", "/retries"),
    ("Timers", "/timers"),
    ("Services", "/services"),
    ("New order", "/orders/new"),
];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "Steadfast"
            </a>
            <nav class="nav" aria-label="Main">
                {NAV
                    .iter()
                    .map(|&(label, href)| {
                        // `exact` keeps "Overview" (/) from matching every page.
                        view! {
                            <A href=href exact=href == "/">
                                {label}
                            </A>
                        }
                    })
                    .collect_view()}
            </nav>
            <HydrationMarker />
        </header>
        <main class="content">{children()}</main>
    }
}

/// `<span id="hydrated" data-hydrated="false">`, flipped to `"true"` by an
/// effect, which runs only once the page is hydrated in the browser. Browser
/// tests wait for `#hydrated[data-hydrated=true]` before they click.
#[component]
pub fn HydrationMarker() -> impl IntoView {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));

    view! {
        <span
            id="hydrated"
            class="hydration-marker"
            data-hydrated=move || hydrated.get().to_string()
            title=move || if hydrated.get() { "Live" } else { "Static (not hydrated yet)" }
        ></span>
    }
}
