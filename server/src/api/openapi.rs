//! The OpenAPI 3.1 document of this server's HTTP surface, generated from
//! the code: each handler's `#[utoipa::path]` (method, path, parameters,
//! body, every status it answers) and the `ToSchema` derives of the types
//! it reads and writes. Served at `GET /api/openapi.json`.
//!
//! The document covers [`super::routes`] (the JSON API) and
//! [`crate::services::routes`] (the simulated services under `/services/`,
//! mounted when this process hosts them); `server/tests/openapi.rs` checks
//! that it describes exactly those routes.

use std::sync::LazyLock;

use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

use super::ApiJson;
use crate::services::ErrorBody;

/// Security scheme of customers: a JWT (HS256) whose `sub` is the user.
pub const CUSTOMER: &str = "customer";
/// Security scheme of operators: the operator token.
pub const OPERATOR: &str = "operator";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Steadfast",
        description = "Durable workflows (the orders service) and their operations. \
            Customers place and read their orders with a bearer JWT (`steadfast token`); \
            operators list, inspect and act on workflows and the simulated services with \
            the operator token. Every error answers `{\"error\": {\"code\", \"message\", \
            \"details\"}}` (`ErrorBody`)."
    ),
    paths(
        super::orders::create,
        super::orders::show,
        super::workflows::list,
        super::workflows::describe,
        super::workflows::history,
        super::workflows::cancel,
        super::workflows::terminate,
        super::workflows::retry,
        super::workflows::signal,
        super::workflows::retry_activity_now,
        super::workflows::fire_timer_now,
        super::workflows::pending_activities,
        super::workflows::pending_timers,
        super::services::all_faults,
        super::services::faults,
        super::services::set_faults,
        super::services::ledger,
        super::services::stock,
        super::services::set_decline,
        serve,
        super::ops::healthz,
        super::ops::readyz,
        super::ops::metrics,
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "orders", description = "Orders of the authenticated customer."),
        (name = "workflows", description = "Workflows for operators: list, inspect, act."),
        (name = "services", description = "The simulated services, for operators."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
        (name = "simulated services", description = "The simulated inventory, payment and \
            fulfilment services that the orders workflow calls, under `/services/`; present \
            when this process hosts them (not with `--no-demo-services`)."),
    )
)]
struct ApiDoc;

/// Adds the two bearer schemes the operations refer to.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            CUSTOMER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A customer token: an HS256 JWT whose `sub` names the user \
                         (`steadfast token --user NAME`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            OPERATOR,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator token (`--operator-token`, or generated into the data \
                         folder and printed at start-up).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document: the API and the simulated services.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::services::ServicesDoc::openapi());
    doc
}

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(document);

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object))
)]
pub async fn serve() -> impl IntoResponse {
    ApiJson(&*DOCUMENT)
}

// The error answers that many operations share. These types only describe
// responses for the document; the handlers answer with `ApiError`.

/// A customer operation's authentication failure.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum CustomerAuth {
    /// No bearer token, or not a valid customer token (`unauthorized`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
}

/// An operator read's authentication failure.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum OperatorAuth {
    /// No bearer token (`unauthorized`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// A bearer token that is not the operator token (`forbidden`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// An operator action's authentication failure.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ActorAuth {
    /// No bearer token (`unauthorized`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// A bearer token that is not the operator token (`forbidden`), or this
    /// server runs read-only (`read_only`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// Failures of the server rather than of the request.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ServerErrors {
    /// The database failed (`internal`); see the server log.
    #[response(status = 500)]
    Internal(ErrorBody),
    /// The server is shutting down (`shutting_down`); try again elsewhere.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// Rejections of a JSON request body.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum JsonBodyErrors {
    /// The body is not JSON (`malformed_json`), or a path parameter does not
    /// fit (`invalid_path`).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The body is larger than 64 KiB (`payload_too_large`).
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body was not sent as `Content-Type: application/json`
    /// (`unsupported_media_type`).
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
}

/// Rejections of an optional JSON body (no content type required).
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum OptionalBodyErrors {
    /// The body is not JSON (`malformed_json`), or a path parameter does not
    /// fit (`invalid_path`).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The body is larger than 64 KiB (`payload_too_large`).
    #[response(status = 413)]
    TooLarge(ErrorBody),
}
