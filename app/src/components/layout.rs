//! The frame around every page: header with the navigation, the page itself,
//! and the hydration marker that browser tests wait for.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
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
            <SessionBox />
            <HydrationMarker />
        </header>
        <main class="content">
            <FlashLine />
            {children()}
        </main>
    }
}

/// The outcome of the last action posted without JavaScript, shown once.
#[component]
fn FlashLine() -> impl IntoView {
    let session = crate::components::live::use_session();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                session
                    .await
                    .ok()
                    .and_then(|info| info.flash)
                    .map(|flash| {
                        let class = if flash.ok { "outcome ok flash" } else { "outcome err flash" };
                        view! {
                            <p class=class role="status">
                                {if flash.ok { "" } else { "Refused: " }}
                                {flash.message}
                            </p>
                        }
                    })
            })}
        </Suspense>
    }
}

/// "Log in" or "Log out" (a form: logging out is a mutation too).
#[component]
fn SessionBox() -> impl IntoView {
    let session = crate::components::live::use_session();
    view! {
        <div class="session">
            <Suspense>
                {move || Suspend::new(async move {
                    let info = session.await.unwrap_or_default();
                    if info.logged_in {
                        view! {
                            <form method="post" action=crate::auth::Logout::url() class="inline">
                                <input type="hidden" name="csrf" value=info.csrf />
                                <button type="submit" class="link">"Log out"</button>
                            </form>
                        }
                            .into_any()
                    } else {
                        view! { <a href="/login">"Log in"</a> }.into_any()
                    }
                })}
            </Suspense>
        </div>
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
