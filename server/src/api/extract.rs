//! Request extractors: who is calling, and path parameters, query strings
//! and bodies whose rejections answer in the API's error shape.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::ApiError;
use super::error::from_object;
use crate::state::AppState;

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A customer, by the `sub` of their token.
pub struct Customer(pub String);

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Customer(state.auth.customer(bearer(parts))?))
    }
}

/// An operator, by the operator token.
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state.auth.operator(bearer(parts))?;
        Ok(Operator)
    }
}

/// An operator allowed to change things (not in read-only mode).
pub struct Actor;

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Operator::from_request_parts(parts, state).await?;
        if state.read_only {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "read_only",
                "this Steadfast runs read-only: actions are disabled",
            ));
        }
        Ok(Actor)
    }
}

/// A query string whose rejections answer 422 with the reason.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::invalid(format!("bad query string: {}", rejection.body_text()))
            .with_details(json!({ "reason": rejection.body_text() }))
    }
}

/// Path parameters whose rejections (a segment that is not a number where
/// one is expected, or not UTF-8 once decoded) answer 400.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        let status = rejection.status();
        if status.is_server_error() {
            // A handler that does not fit its route: a bug, not the caller's.
            tracing::error!(error = %rejection.body_text(), "path parameters do not fit the handler");
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an internal error occurred; see the server log",
            );
        }
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            format!("bad path parameter: {}", rejection.body_text()),
        )
        .with_details(json!({ "reason": rejection.body_text() }))
    }
}

/// The raw body, whose rejection (too large, or cut off) answers in the
/// API's error shape.
#[derive(Debug, Clone, Default)]
pub struct ApiBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Ok(ApiBody(Bytes::from_request(req, state).await?))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        unreadable_body(rejection.status(), &rejection.body_text())
    }
}

/// 413 for a body over [`super::MAX_BODY_BYTES`], else 400.
pub fn unreadable_body(status: StatusCode, reason: &str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the body is larger than the limit of {} bytes",
                super::MAX_BODY_BYTES
            ),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body could not be read: {reason}"),
        )
    }
}

/// The most items one page answers.
pub const MAX_LIMIT: u32 = 1000;

/// A `limit` query parameter: `default` when left out, else 1 to
/// [`MAX_LIMIT`] (422 otherwise).
pub fn limit(value: Option<u32>, default: u32) -> Result<u32, ApiError> {
    let limit = value.unwrap_or(default);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(
            ApiError::invalid(format!("limit must be between 1 and {MAX_LIMIT}"))
                .with_details(json!({ "field": "limit" })),
        )
    }
}

/// An optional JSON body of any kind: empty or `null` means `None`.
pub fn optional_json(body: &[u8]) -> Result<Option<Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Null) => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

/// An optional JSON object body: empty or `null` means `None`.
pub fn optional_object<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, ApiError> {
    optional_json(body)?.map(from_object).transpose()
}
