//! Request extractors: who is calling, and query strings whose rejections
//! answer in the API's error shape.

use axum::extract::FromRequestParts;
use axum::extract::rejection::QueryRejection;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde_json::json;

use super::ApiError;
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

/// An optional JSON body: empty means `None`.
pub fn optional_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            )
        } else {
            ApiError::invalid(format!("the body does not fit: {e}"))
        }
    })
}
