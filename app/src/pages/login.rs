//! `/login`: the operator token form. `/login?token=...` (the URL printed at
//! start-up) logs in directly and goes to the overview.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let failed = query.read_untracked().get("failed").is_some();
    // `/login?token=...` is checked while the server renders the page
    // (SsrMode::Async waits for this resource); the browser never hydrates
    // that page, as it is answered with a redirect.
    let by_link = Resource::new(
        move || query.read_untracked().get("token"),
        |token| async move {
            #[cfg(feature = "ssr")]
            if let Some(token) = token {
                link_login(&token).await;
            }
            #[cfg(not(feature = "ssr"))]
            let _ = token;
        },
    );
    view! {
        <Title text="Log in" />
        <h1>"Log in"</h1>
        <Suspense fallback=|| ()>{move || Suspend::new(async move { by_link.await })}</Suspense>
        <p class="lede">
            "Actions need the operator token; it is printed when the server starts, with a ready-made login link."
        </p>
        {failed.then(|| view! { <p class="err" role="alert">"That is not the operator token."</p> })}
        // A plain form post (not an ActionForm): the full page load that
        // follows picks up the new session everywhere.
        <form method="post" action=crate::auth::Login::url() class="card stack">
            <label for="token">"Operator token"</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required />
            <button type="submit">"Log in"</button>
        </form>
    }
}

/// Logs in with the token of the start-up URL and redirects: home on
/// success, back to the form otherwise.
#[cfg(feature = "ssr")]
async fn link_login(token: &str) {
    let verified = crate::backend::backend()
        .map(|backend| backend.verify_operator(token.trim()))
        .unwrap_or(false);
    let to = if verified && crate::auth::start_session().await.is_ok() {
        "/"
    } else {
        "/login?failed=1"
    };
    // Always a real redirect (also for curl), so the token leaves the
    // address bar and the history at once.
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::SEE_OTHER);
        response.insert_header(
            axum::http::header::LOCATION,
            axum::http::HeaderValue::from_static(to),
        );
    }
}
