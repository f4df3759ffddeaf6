//! Operator sessions.
//!
//! Logging in (the login form, or the start-up URL `/login?token=...`) checks
//! the operator token and creates a session: a random 244-bit id (two v4
//! UUIDs from the OS's CSPRNG) kept in this process's memory together with a
//! per-session CSRF token. The cookie carries only the id (HttpOnly,
//! SameSite=Strict, Path=/). Why server-side random ids rather than an HMAC
//! of the token: the cookie is then worthless once the session ends (logout
//! really logs out, a leaked cookie does not reveal or stand for the token
//! forever), and restarting the server ends every session. The cost —
//! operators log in again after a restart, and sessions are per process —
//! is fine for an operations dashboard.
//!
//! Every mutation takes the CSRF token as a form field and checks it against
//! the session's ([`require_operator`]); SameSite=Strict is the second line.

use leptos::prelude::*;

use crate::model::SessionInfo;

pub const COOKIE: &str = "steadfast_session";

#[cfg(feature = "ssr")]
mod store {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::{Duration, Instant};

    /// How long a session lasts without use.
    pub const IDLE: Duration = Duration::from_secs(12 * 3600);

    pub struct Session {
        pub csrf: String,
        pub last_seen: Instant,
        pub flash: Option<crate::model::Flash>,
    }

    pub static SESSIONS: LazyLock<Mutex<HashMap<String, Session>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));

    pub fn random_token() -> String {
        format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    }

    pub fn create() -> (String, String) {
        let id = random_token();
        let csrf = random_token();
        let mut sessions = SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| s.last_seen.elapsed() < IDLE);
        sessions.insert(
            id.clone(),
            Session {
                csrf: csrf.clone(),
                last_seen: Instant::now(),
                flash: None,
            },
        );
        (id, csrf)
    }

    /// The session's CSRF token, if `id` is a live session.
    pub fn csrf_of(id: &str) -> Option<String> {
        let mut sessions = SESSIONS.lock().unwrap_or_else(|e| e.into_inner());
        let session = sessions.get_mut(id)?;
        if session.last_seen.elapsed() >= IDLE {
            sessions.remove(id);
            return None;
        }
        session.last_seen = Instant::now();
        Some(session.csrf.clone())
    }

    pub fn set_flash(id: &str, flash: crate::model::Flash) {
        if let Some(session) = SESSIONS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            session.flash = Some(flash);
        }
    }

    pub fn take_flash(id: &str) -> Option<crate::model::Flash> {
        SESSIONS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)?
            .flash
            .take()
    }

    pub fn remove(id: &str) {
        SESSIONS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The session id from the request's cookies.
#[cfg(feature = "ssr")]
fn session_id(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

#[cfg(feature = "ssr")]
async fn current_session() -> Option<(String, String)> {
    let headers: axum::http::HeaderMap = leptos_axum::extract().await.ok()?;
    let id = session_id(&headers)?;
    let csrf = store::csrf_of(&id)?;
    Some((id, csrf))
}

/// Starts a session for a verified operator: sets the cookie.
#[cfg(feature = "ssr")]
pub fn start_session() {
    let (id, _csrf) = store::create();
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
        if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
            response.append_header(axum::http::header::SET_COOKIE, value);
        }
    }
}

/// Refuses unless the dashboard is writable, the request carries a live
/// session, and `csrf` is that session's token.
#[cfg(feature = "ssr")]
pub async fn require_operator(csrf: &str) -> Result<(), ServerFnError> {
    let backend = crate::backend::backend()?;
    if backend.read_only() {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::FORBIDDEN);
        }
        return Err(ServerFnError::new(
            "the dashboard is read-only (--read-only): actions are disabled",
        ));
    }
    let Some((_, expected)) = current_session().await else {
        if form_post() {
            // A plain form post from a browser: off to the login page.
            leptos_axum::redirect("/login");
        } else if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::UNAUTHORIZED);
        }
        return Err(ServerFnError::new("log in as the operator first"));
    };
    if !store::constant_time_eq(csrf.as_bytes(), expected.as_bytes()) {
        // Always 403, even for a browser's form post: a forged request gets
        // no friendly redirect.
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::FORBIDDEN);
        }
        return Err(ServerFnError::new(
            "the form's CSRF token does not match this session; reload the page",
        ));
    }
    Ok(())
}

/// Whether this server function call is a browser's plain form post (no
/// JavaScript): its `Accept` asks for HTML, and Leptos answers it with a
/// redirect back to the page.
#[cfg(feature = "ssr")]
pub fn form_post() -> bool {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// The outcome of an action. For a plain form post it is kept in the
/// session and shown once on the page the browser is sent back to (the
/// status stays a redirect); otherwise a refusal carries `status`.
#[cfg(feature = "ssr")]
pub async fn outcome(
    result: Result<String, (axum::http::StatusCode, String)>,
) -> Result<String, ServerFnError> {
    if form_post() {
        if let Some((id, _)) = current_session().await {
            let flash = match &result {
                Ok(message) => crate::model::Flash {
                    ok: true,
                    message: message.clone(),
                },
                Err((_, message)) => crate::model::Flash {
                    ok: false,
                    message: message.clone(),
                },
            };
            store::set_flash(&id, flash);
        }
    } else if let Err((status, _)) = &result
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(*status);
    }
    result.map_err(|(_, message)| ServerFnError::new(message))
}

/// Whether the viewer is logged in, and the CSRF token for their forms.
#[server(prefix = "/ui", endpoint = "session")]
pub async fn get_session() -> Result<SessionInfo, ServerFnError> {
    let backend = crate::backend::backend()?;
    Ok(match current_session().await {
        Some((id, csrf)) => SessionInfo {
            logged_in: true,
            csrf,
            read_only: backend.read_only(),
            flash: store::take_flash(&id),
        },
        None => SessionInfo {
            logged_in: false,
            csrf: String::new(),
            read_only: backend.read_only(),
            flash: None,
        },
    })
}

/// The login form: checks the operator token, starts a session, goes home.
#[server(prefix = "/ui", endpoint = "login")]
pub async fn login(token: String) -> Result<(), ServerFnError> {
    let backend = crate::backend::backend()?;
    if !backend.verify_operator(token.trim()) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::UNAUTHORIZED);
        }
        leptos_axum::redirect("/login?failed=1");
        return Err(ServerFnError::new("that is not the operator token"));
    }
    start_session();
    leptos_axum::redirect("/");
    Ok(())
}

/// Ends the session.
#[server(prefix = "/ui", endpoint = "logout")]
pub async fn logout(csrf: String) -> Result<(), ServerFnError> {
    if let Some((id, expected)) = current_session().await
        && store::constant_time_eq(csrf.as_bytes(), expected.as_bytes())
    {
        store::remove(&id);
    }
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
            response.append_header(axum::http::header::SET_COOKIE, value);
        }
    }
    leptos_axum::redirect("/login");
    Ok(())
}
