//! Operator sessions.
//!
//! Logging in (the login form, or the start-up URL `/login?token=...`) checks
//! the operator token and creates a session: a random 244-bit id (two v4
//! UUIDs from the OS's CSPRNG) recorded in the database (through
//! [`crate::backend::Backend`]; the server keeps them beside the simulated
//! services) together with a per-session CSRF token. The cookie carries only
//! the id (HttpOnly, SameSite=Strict, Path=/). Why server-side random ids
//! rather than an HMAC of the token: the cookie is then worthless once the
//! session ends (logout really logs out, a leaked cookie does not reveal or
//! stand for the token forever). Why the database rather than this
//! process's memory: a restart does not log operators out, and every process
//! behind one address (PostgreSQL scale-out, `--role api`) knows every
//! session. A session unused for [`IDLE`] expires.
//!
//! Every mutation takes the CSRF token as a form field and checks it against
//! the session's ([`require_operator`]); SameSite=Strict is the second line.

use leptos::prelude::*;

use crate::model::SessionInfo;

pub const COOKIE: &str = "steadfast_session";

/// How long a session lasts without use (also the cookie's Max-Age).
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

#[cfg(feature = "ssr")]
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(feature = "ssr")]
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// The request's live session: its id and CSRF token (`None` without a
/// cookie, or for an unknown, ended or expired session). Using it moves its
/// expiry forward.
#[cfg(feature = "ssr")]
async fn current_session() -> Result<Option<(String, String)>, ServerFnError> {
    let Ok(headers) = leptos_axum::extract::<axum::http::HeaderMap>().await else {
        return Ok(None);
    };
    let Some(id) = session_id(&headers) else {
        return Ok(None);
    };
    let csrf = crate::backend::backend()?
        .session_touch(&id, IDLE)
        .await
        .map_err(ServerFnError::new)?;
    Ok(csrf.map(|csrf| (id, csrf)))
}

/// Sets the session cookie: `id` for `max_age` seconds (0 removes it).
#[cfg(feature = "ssr")]
fn set_cookie(id: &str, max_age: u64) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
        if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
            response.append_header(axum::http::header::SET_COOKIE, value);
        }
    }
}

/// Starts a session for a verified operator: records it, sets the cookie.
#[cfg(feature = "ssr")]
pub async fn start_session() -> Result<(), ServerFnError> {
    let (id, csrf) = (random_token(), random_token());
    crate::backend::backend()?
        .session_create(&id, &csrf, IDLE)
        .await
        .map_err(ServerFnError::new)?;
    set_cookie(&id, IDLE.as_secs());
    Ok(())
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
    let Some((_, expected)) = current_session().await? else {
        if form_post() {
            // A plain form post from a browser: off to the login page.
            leptos_axum::redirect("/login");
        } else if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::UNAUTHORIZED);
        }
        return Err(ServerFnError::new("log in as the operator first"));
    };
    if !constant_time_eq(csrf.as_bytes(), expected.as_bytes()) {
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
        if let Some((id, _)) = current_session().await? {
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
            crate::backend::backend()?
                .session_set_flash(&id, &flash)
                .await
                .map_err(ServerFnError::new)?;
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
    Ok(match current_session().await? {
        Some((id, csrf)) => SessionInfo {
            logged_in: true,
            csrf,
            read_only: backend.read_only(),
            flash: backend
                .session_take_flash(&id)
                .await
                .map_err(ServerFnError::new)?,
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
    start_session().await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Ends the session.
#[server(prefix = "/ui", endpoint = "logout")]
pub async fn logout(csrf: String) -> Result<(), ServerFnError> {
    if let Some((id, expected)) = current_session().await?
        && constant_time_eq(csrf.as_bytes(), expected.as_bytes())
    {
        crate::backend::backend()?
            .session_end(&id)
            .await
            .map_err(ServerFnError::new)?;
    }
    set_cookie("", 0);
    leptos_axum::redirect("/login");
    Ok(())
}
