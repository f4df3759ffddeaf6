//! Live pages: a clock for countdowns, a refresh signal for refetching, the
//! session (for the CSRF field and whether to show actions), and the
//! outcome line of an action.

use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos::server_fn::ServerFn;

use crate::model::{SessionInfo, now_ms};

/// The session resource that [`crate::App`] provides.
pub type SessionResource = Resource<Result<SessionInfo, ServerFnError>>;

pub fn use_session() -> SessionResource {
    expect_context::<SessionResource>()
}

/// `(now, refresh)`: `now` is the time in ms, updated every second in the
/// browser; `refresh` counts up every `every_secs` seconds — except while
/// the operator is typing in a field. (A refresh updates the page in place:
/// an open confirmation stays open.) On the server both are
/// fixed (the page is rendered once).
pub fn use_live(every_secs: u64) -> (ReadSignal<i64>, ReadSignal<u64>) {
    let (now, set_now) = signal(now_ms());
    let (refresh, set_refresh) = signal(0u64);
    Effect::new(move |_| {
        let seconds = std::cell::Cell::new(0u64);
        let handle = set_interval_with_handle(
            move || {
                set_now.set(now_ms());
                seconds.set(seconds.get() + 1);
                if seconds.get().is_multiple_of(every_secs.max(1)) && !busy() {
                    set_refresh.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
    (now, refresh)
}

#[cfg(feature = "hydrate")]
fn busy() -> bool {
    document()
        .query_selector(
            "main details[open], main input:focus, main textarea:focus, main select:focus",
        )
        .ok()
        .flatten()
        .is_some()
}

#[cfg(not(feature = "hydrate"))]
fn busy() -> bool {
    false
}

/// Closes the open confirmations once an action has gone through.
fn close_confirmations() {
    #[cfg(feature = "hydrate")]
    for _ in 0..100 {
        match document().query_selector("main details[open]") {
            Ok(Some(element)) => {
                let _ = element.remove_attribute("open");
            }
            _ => break,
        }
    }
}

/// The hidden CSRF field every action form carries.
#[component]
pub fn CsrfField(csrf: String) -> impl IntoView {
    view! { <input type="hidden" name="csrf" value=csrf /> }
}

/// The outcome of the latest submission of `action`, announced politely.
#[component]
pub fn Outcome<S>(action: ServerAction<S>) -> impl IntoView
where
    S: ServerFn<Output = String, Error = ServerFnError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let value = action.value();
    let pending = action.pending();
    Effect::new(move |_| {
        if matches!(value.get(), Some(Ok(_))) {
            close_confirmations();
        }
    });
    view! {
        <p class="outcome" role="status" aria-live="polite">
            {move || {
                if pending.get() {
                    return view! { <span class="muted">"Working…"</span> }.into_any();
                }
                match value.get() {
                    Some(Ok(message)) => view! { <span class="ok">{message}</span> }.into_any(),
                    Some(Err(e)) => {
                        view! { <span class="err">{format!("Refused: {}", error_text(&e))}</span> }
                            .into_any()
                    }
                    None => ().into_any(),
                }
            }}
        </p>
    }
}

/// A server function error without its "error running server function" prefix.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// "You need to log in" for readers who are not logged in.
#[component]
pub fn LoginHint(info: SessionInfo) -> impl IntoView {
    if info.read_only {
        view! { <p class="muted">"Read-only dashboard: actions are disabled."</p> }.into_any()
    } else if !info.logged_in {
        view! {
            <p class="muted">
                <a href="/login">"Log in"</a>
                " as the operator to act on workflows."
            </p>
        }
        .into_any()
    } else {
        ().into_any()
    }
}
