//! The API's error: every failure answers with the right status and
//! `{"error": {"code", "message", "details"}}`, so handlers just use `?`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::services::error::{ErrorBody, ErrorDetail};

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                details: self.details,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<crate::auth::Error> for ApiError {
    fn from(e: crate::auth::Error) -> Self {
        use crate::auth::Error::*;
        match e {
            Missing | Invalid(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string())
            }
            NotOperator => Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string()),
        }
    }
}

impl From<engine::Error> for ApiError {
    fn from(e: engine::Error) -> Self {
        use engine::Error::*;
        match &e {
            NotFound(id) => Self::not_found(e.to_string()).with_details(json!({ "id": id })),
            WrongState { id, status, .. } => Self::conflict("wrong_state", e.to_string())
                .with_details(json!({ "id": id, "status": status })),
            NoSuchOperation { id, what, seq } => Self::conflict("no_such_operation", e.to_string())
                .with_details(json!({ "id": id, "operation": what, "seq": seq })),
            InvalidArgument(_) | InvalidInput { .. } | UnknownWorkflowType(_) => {
                Self::invalid(e.to_string())
            }
            ShuttingDown => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                e.to_string(),
            ),
            _ => {
                tracing::error!(error = %e, "engine error answering a request");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an internal error occurred; see the server log",
                )
            }
        }
    }
}

impl From<crate::services::Error> for ApiError {
    fn from(e: crate::services::Error) -> Self {
        match e {
            crate::services::Error::Rejected(r) => Self {
                status: r.status,
                code: "rejected",
                message: r.message,
                details: json!({ "code": r.code, "details": r.details }),
            },
            other => {
                tracing::error!(error = %other, "services error answering a request");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an internal error occurred; see the server log",
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match &rejection {
            JsonRejection::JsonDataError(e) => {
                Self::invalid(format!("the body does not fit: {}", e.body_text()))
                    .with_details(json!({ "reason": e.body_text() }))
            }
            JsonRejection::JsonSyntaxError(e) => Self::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {}", e.body_text()),
            ),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(e) => {
                super::extract::unreadable_body(e.status(), &e.body_text())
            }
            other => Self::new(other.status(), "bad_request", other.body_text()),
        }
    }
}

/// A JSON object body whose rejections answer in the API's error shape; as
/// a response, a JSON body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<Value>::from_request(req, state).await?;
        from_object(value).map(ApiJson)
    }
}

/// `value` as `T`, which must come from a JSON object: serde would also
/// read a struct from an array of its fields, which the API's schemas do
/// not allow.
pub fn from_object<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid("the body must be a JSON object")
            .with_details(json!({ "reason": "not a JSON object" })));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::invalid(format!("the body does not fit: {e}"))
            .with_details(json!({ "reason": e.to_string() }))
    })
}

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}
