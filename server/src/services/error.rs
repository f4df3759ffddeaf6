//! The services' error type and the JSON shape of every error answer.
//!
//! Callers (the orders activities) classify answers by status alone:
//! 400 and 422 are permanent (retrying the same request cannot help), 503
//! and other 5xx are transient (retry with backoff). The body always reads
//! `{"error": {"code", "message", "details"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ServiceName;

/// Everything that can go wrong in the simulated services.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database URL names no backend the services support.
    #[error("unsupported database url scheme {0:?}: expected sqlite: or postgres:")]
    UnsupportedDatabaseUrl(String),
    /// The database failed (connection, constraint, serialisation...).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the services' migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The directory of the SQLite file could not be created.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A value could not be turned into JSON or back.
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
    /// The request was answered with an error status: a malformed request
    /// (400), an unknown service (404), a business error (422) or an injected
    /// fault (503).
    #[error("{}: {}", .0.code, .0.message)]
    Rejected(Rejection),
}

impl From<Rejection> for Error {
    fn from(rejection: Rejection) -> Self {
        Error::Rejected(rejection)
    }
}

/// An error answer: status, machine-readable code, human message, details.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Value,
}

impl Rejection {
    pub fn new(
        status: StatusCode,
        code: impl Into<String>,
        message: impl Into<String>,
        details: Value,
    ) -> Self {
        Rejection {
            status,
            code: code.into(),
            message: message.into(),
            details,
        }
    }

    /// 400: the request cannot be understood (missing header, bad JSON).
    pub fn bad_request(code: &str, message: impl Into<String>, details: Value) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message, details)
    }

    /// 422: a business error or an out-of-range value. Not retryable.
    pub fn unprocessable(code: &str, message: impl Into<String>, details: Value) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message, details)
    }

    /// 422 for a field whose value is out of range.
    pub fn invalid_field(field: &str, message: impl Into<String>, value: Value) -> Self {
        let message = message.into();
        Self::unprocessable(
            "invalid_request",
            format!("{field}: {message}"),
            json!({ "field": field, "reason": message, "value": value }),
        )
    }

    /// 404 for a `{service}` path segment that names no service.
    pub fn unknown_service(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_service",
            format!("no simulated service is called {name:?}"),
            json!({ "service": name, "known": ServiceName::ALL.map(ServiceName::as_str) }),
        )
    }

    /// 503: a fault injected by the operator. Transient: callers retry.
    pub fn injected_fault(service: ServiceName, fault: &str, details: Value) -> Self {
        let mut details = details;
        if let Value::Object(map) = &mut details {
            map.insert("service".into(), json!(service.as_str()));
            map.insert("fault".into(), json!(fault));
        }
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "injected_fault",
            format!("{service} is failing on purpose ({fault})"),
            details,
        )
    }

    /// The JSON body of this answer.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// `code` is stable and machine-readable (`insufficient_stock`,
/// `unknown_item`, `card_declined`, `injected_fault`, ...); `details` is an
/// object whose fields depend on the code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: what went wrong.
    pub code: String,
    /// For people: what went wrong and what to do about it.
    pub message: String,
    /// Fields that depend on `code` (an object, often empty).
    #[serde(default)]
    pub details: Value,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Rejected(rejection) => {
                (rejection.status, axum::Json(rejection.body())).into_response()
            }
            other => {
                tracing::error!(error = %other, "simulated service failed");
                let body = Rejection::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    other.to_string(),
                    json!({}),
                )
                .body();
                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
            }
        }
    }
}

/// 422 unless `value` has some non-blank text.
pub(crate) fn require_text(field: &str, value: &str) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        Err(Rejection::invalid_field(
            field,
            "must not be blank",
            json!(value),
        ))
    } else {
        Ok(())
    }
}

/// 422 unless `1 <= value <= max`.
pub(crate) fn require_count(field: &str, value: i64, max: i64) -> Result<(), Rejection> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(Rejection::invalid_field(
            field,
            format!("must be between 1 and {max}"),
            json!(value),
        ))
    }
}

/// `Some` text with something in it, else `None`.
pub(crate) fn non_blank(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}
