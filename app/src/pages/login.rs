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
    #[cfg(feature = "ssr")]
    {
        if let Some(token) = query.read_untracked().get("token")
            && let Some(backend) = use_context::<std::sync::Arc<dyn crate::backend::Backend>>()
        {
            let to = if backend.verify_operator(token.trim()) {
                crate::auth::start_session();
                "/"
            } else {
                "/login?failed=1"
            };
            // Always a real redirect (also for curl), so the token leaves
            // the address bar and the history at once.
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum::http::StatusCode::SEE_OTHER);
                response.insert_header(
                    axum::http::header::LOCATION,
                    axum::http::HeaderValue::from_static(to),
                );
            }
        }
    }
    view! {
        <Title text="Log in" />
        <h1>"Log in"</h1>
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
