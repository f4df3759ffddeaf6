//! The services' HTTP surface, mounted under `/services/...`.
//!
//! Operations (faults apply; `Idempotency-Key` required):
//! `POST /services/inventory/reserve`, `POST /services/inventory/unreserve`,
//! `POST /services/payment/charge`, `POST /services/payment/refund`,
//! `POST /services/fulfilment/ship`.
//!
//! Reads and operator controls (no faults, no key):
//! `GET /services/faults`, `GET|PUT /services/{service}/faults`,
//! `GET /services/{service}/ledger?limit=`, `GET /services/inventory/stock`,
//! `PUT /services/inventory/stock/{item_id}`,
//! `GET /services/inventory/reservations?order_id=&limit=`,
//! `GET /services/payment/charges?order_id=&limit=`,
//! `GET /services/payment/declines`, `PUT /services/payment/declines/{user}`,
//! `GET /services/fulfilment/shipments?order_id=&limit=`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use utoipa::{IntoParams, IntoResponses, OpenApi};

use super::error::{ErrorBody, Rejection, require_count};
use super::faults::FaultUpdate;
use super::fulfilment::{ShipRequest, Shipment, Shipments};
use super::inventory::{
    Reservation, Reservations, ReserveRequest, SetStock, Stock, StockItem, Unreservation,
    UnreserveRequest,
};
use super::ledger::{Answer, Ledger};
use super::payment::{
    Charge, ChargeRequest, Charges, DeclineStatus, Declines, Refund, RefundRequest, SetDecline,
};
use super::{AllFaults, Error, FaultConfig, ServiceName, Services};
use crate::api::Route;

/// The request header that names a mutating call's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The longest idempotency key accepted.
const MAX_KEY_LEN: usize = 255;

/// The most rows one list or ledger request returns.
const MAX_LIMIT: i64 = 1000;

/// Every endpoint of the three services, all under `/services/`.
pub fn routes() -> Vec<Route<Services>> {
    vec![
        Route::get("/services/faults", all_faults),
        Route::get("/services/{service}/faults", faults),
        Route::put("/services/{service}/faults", set_faults),
        Route::get("/services/{service}/ledger", ledger),
        Route::get("/services/inventory/stock", stock),
        Route::put("/services/inventory/stock/{item_id}", set_stock),
        Route::get("/services/inventory/reservations", reservations),
        Route::post("/services/inventory/reserve", reserve),
        Route::post("/services/inventory/unreserve", unreserve),
        Route::post("/services/payment/charge", charge),
        Route::post("/services/payment/refund", refund),
        Route::get("/services/payment/charges", charges),
        Route::get("/services/payment/declines", declines),
        Route::put("/services/payment/declines/{user}", set_decline),
        Route::post("/services/fulfilment/ship", ship),
        Route::get("/services/fulfilment/shipments", shipments),
    ]
}

/// The routes of the three services.
pub fn router(services: Services) -> Router {
    crate::api::mount(routes()).with_state(services)
}

/// The services' part of the OpenAPI document (see `crate::api::openapi`).
#[derive(OpenApi)]
#[openapi(paths(
    all_faults,
    faults,
    set_faults,
    ledger,
    stock,
    set_stock,
    reservations,
    reserve,
    unreserve,
    charge,
    refund,
    charges,
    declines,
    set_decline,
    ship,
    shipments,
))]
pub struct ServicesDoc;

// The answers that many operations share; for the document only.

/// What every mutating call may answer besides its result.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum OperationErrors {
    /// No or an invalid `Idempotency-Key` header (`missing_idempotency_key`,
    /// `invalid_idempotency_key`), or a body that is not the request's JSON
    /// (`malformed_request`).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// The body is too large (`payload_too_large`).
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// A business error or an out-of-range value (`invalid_request`, ...), or
    /// the key was used for another request (`idempotency_key_reused`). Like
    /// a result, it is stored and replayed for the key.
    #[response(
        status = 422,
        headers(("idempotent-replayed" = String,
            description = "`true` when this answer replays a stored one."))
    )]
    Unprocessable(ErrorBody),
    /// The database failed (`internal`).
    #[response(status = 500)]
    Internal(ErrorBody),
    /// An injected fault (`injected_fault`): transient, retry later.
    #[response(status = 503)]
    Fault(ErrorBody),
}

/// What a read or control call may answer besides its result.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum ReadErrors {
    /// A malformed query string, path or body (`malformed_request`).
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// An out-of-range value (`invalid_request`, ...).
    #[response(status = 422)]
    Unprocessable(ErrorBody),
    /// The database failed (`internal`).
    #[response(status = 500)]
    Internal(ErrorBody),
}

// --- request plumbing -------------------------------------------------------

/// The `Idempotency-Key` header: required, visible ASCII, 1 to 255 bytes.
fn idempotency_key(headers: &HeaderMap) -> Result<String, Rejection> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Err(Rejection::bad_request(
            "missing_idempotency_key",
            "mutating calls need an Idempotency-Key header",
            json!({ "header": "Idempotency-Key" }),
        ));
    };
    let key = value.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Rejection::bad_request(
            "invalid_idempotency_key",
            format!(
                "the Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters"
            ),
            json!({ "header": "Idempotency-Key", "max_len": MAX_KEY_LEN }),
        ));
    }
    Ok(key.to_owned())
}

/// A path parameter; 400 if it cannot be read (not UTF-8 once decoded).
fn path_param<T>(path: Result<Path<T>, PathRejection>) -> Result<T, Rejection> {
    path.map(|Path(value)| value).map_err(|rejection| {
        Rejection::bad_request(
            "malformed_request",
            format!("invalid path: {}", rejection.body_text()),
            json!({ "reason": rejection.body_text() }),
        )
    })
}

/// The body's bytes; 413 if it is too large, 400 if it cannot be read.
fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Rejection> {
    body.map_err(|rejection| {
        let (status, code) = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        } else {
            (StatusCode::BAD_REQUEST, "malformed_request")
        };
        Rejection::new(
            status,
            code,
            format!("the request body cannot be read: {}", rejection.body_text()),
            json!({ "reason": rejection.body_text() }),
        )
    })
}

/// The body as `T`; 400 if it is not JSON of that shape.
/// Every body is a JSON object (serde alone would also read a struct from an
/// array of its fields).
fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, Rejection> {
    let malformed = |reason: String| {
        Rejection::bad_request(
            "malformed_request",
            format!("the request body is not valid: {reason}"),
            json!({ "reason": reason }),
        )
    };
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) if value.is_object() => {
            serde_json::from_value(value).map_err(|error| malformed(error.to_string()))
        }
        Ok(_) => Err(malformed("the body must be a JSON object".into())),
        Err(error) => Err(malformed(error.to_string())),
    }
}

/// What every operation does before it runs: suffer the service's faults,
/// then read the key and the body.
async fn prepare<T: DeserializeOwned>(
    services: &Services,
    service: ServiceName,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(String, T), Error> {
    services.faults.strike(service).await?;
    let key = idempotency_key(headers)?;
    let request = parse_json(&body_bytes(body)?)?;
    Ok((key, request))
}

/// Query of the lists (reservations, charges, shipments).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// At most this many, newest first (1 to 1000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Only those of this order.
    order_id: Option<String>,
}

impl ListParams {
    fn from_query(query: Result<Query<ListParams>, QueryRejection>) -> Result<Self, Rejection> {
        let Query(params) = query.map_err(|rejection| {
            Rejection::bad_request(
                "malformed_request",
                format!("invalid query string: {rejection}"),
                json!({ "reason": rejection.body_text() }),
            )
        })?;
        if let Some(limit) = params.limit {
            require_count("limit", limit, MAX_LIMIT)?;
        }
        Ok(params)
    }

    fn limit_or(&self, default: i64) -> i64 {
        self.limit.unwrap_or(default)
    }
}

// --- operations -------------------------------------------------------------

/// Defines one mutating operation: the handler (the service's faults, the
/// key and the body, then `Services::$name`) and its OpenAPI description.
/// The operations differ only in what is given here.
macro_rules! operation {
    (
        $(#[doc = $doc:tt])*
        $name:ident: path = $path:tt, operation_id = $operation_id:tt,
        service = $service:ident, request = $request:ty,
        answer = $answer:ty, described = $described:tt $(,)?
    ) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $operation_id,
            tag = "simulated services",
            params(IdempotencyKey),
            request_body = $request,
            responses(
                (status = 200, description = $described, body = $answer,
                    headers(("idempotent-replayed" = String,
                        description = "`true` when this answer replays a stored one."))),
                OperationErrors,
            )
        )]
        async fn $name(
            State(services): State<Services>,
            headers: HeaderMap,
            body: Result<Bytes, BytesRejection>,
        ) -> Result<Answer, Error> {
            let (key, request) =
                prepare::<$request>(&services, ServiceName::$service, &headers, body).await?;
            services.$name(&key, &request).await
        }
    };
}

operation! {
    /// Reserve units of an item for an order.
    ///
    /// Takes from the item's available stock; too little stock or an unknown
    /// item is a business error (422) that changes nothing.
    reserve: path = "/services/inventory/reserve", operation_id = "services_reserve",
    service = Inventory, request = ReserveRequest,
    answer = Reservation, described = "The reservation.",
}

operation! {
    /// Release reservations.
    ///
    /// The one named by `reservation_id`, or every held one of `order_id`.
    unreserve: path = "/services/inventory/unreserve", operation_id = "services_unreserve",
    service = Inventory, request = UnreserveRequest,
    answer = Unreservation, described = "The reservations released.",
}

operation! {
    /// Charge a user for an order.
    ///
    /// A user whose card is declined gets a business error (422
    /// `card_declined`).
    charge: path = "/services/payment/charge", operation_id = "services_charge",
    service = Payment, request = ChargeRequest,
    answer = Charge, described = "The charge.",
}

operation! {
    /// Refund charges.
    ///
    /// The one named by `charge_id`, or every captured one of `order_id`.
    refund: path = "/services/payment/refund", operation_id = "services_refund",
    service = Payment, request = RefundRequest,
    answer = Refund, described = "The charges refunded.",
}

operation! {
    /// Ship an order's items to an address.
    ship: path = "/services/fulfilment/ship", operation_id = "services_ship",
    service = Fulfilment, request = ShipRequest,
    answer = Shipment, described = "The shipment.",
}

/// The `Idempotency-Key` header of the mutating calls.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct IdempotencyKey {
    /// Names the call: a retry with the same key gets the first call's
    /// answer and changes nothing. 1 to 255 visible ASCII characters.
    #[serde(rename = "Idempotency-Key")]
    #[param(min_length = 1, max_length = 255, pattern = r"^[!-~]([ -~]*[!-~])?$")]
    key: String,
}

// --- reads and operator controls --------------------------------------------

/// The faults of every service.
#[utoipa::path(
    get,
    path = "/services/faults",
    operation_id = "services_all_faults",
    tag = "simulated services",
    responses((status = 200, description = "The faults, by service.", body = AllFaults))
)]
async fn all_faults(State(services): State<Services>) -> axum::Json<AllFaults> {
    axum::Json(services.all_faults())
}

/// The faults of one service.
#[utoipa::path(
    get,
    path = "/services/{service}/faults",
    operation_id = "services_faults",
    tag = "simulated services",
    params(("service" = ServiceName, Path, description = "The service.")),
    responses(
        (status = 200, description = "The service's faults.", body = FaultConfig),
        (status = 400, description = "The path cannot be read (`malformed_request`).",
            body = ErrorBody),
        (status = 404, description = "No such service (`unknown_service`).", body = ErrorBody),
    )
)]
async fn faults(
    State(services): State<Services>,
    service: Result<Path<String>, PathRejection>,
) -> Result<axum::Json<FaultConfig>, Error> {
    let service: ServiceName = path_param(service)?.parse()?;
    Ok(axum::Json(services.faults(service)))
}

/// Change the faults of one service.
///
/// Fields left out keep their value; an out-of-range value changes nothing.
#[utoipa::path(
    put,
    path = "/services/{service}/faults",
    operation_id = "services_set_faults",
    tag = "simulated services",
    params(("service" = ServiceName, Path, description = "The service.")),
    request_body = FaultUpdate,
    responses(
        (status = 200, description = "The service's faults now.", body = FaultConfig),
        (status = 400, description = "The body is not the request's JSON, or the path cannot \
            be read (`malformed_request`).", body = ErrorBody),
        (status = 404, description = "No such service (`unknown_service`).", body = ErrorBody),
        (status = 413, description = "The body is too large (`payload_too_large`).",
            body = ErrorBody),
        (status = 422, description = "A value is out of range (`invalid_faults`).",
            body = ErrorBody),
    )
)]
async fn set_faults(
    State(services): State<Services>,
    service: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<FaultConfig>, Error> {
    let service: ServiceName = path_param(service)?.parse()?;
    let update: FaultUpdate = parse_json(&body_bytes(body)?)?;
    Ok(axum::Json(services.update_faults(service, &update)?))
}

/// The ledger of one service.
///
/// Every mutating call it answered, by idempotency key, newest first.
#[utoipa::path(
    get,
    path = "/services/{service}/ledger",
    operation_id = "services_ledger",
    tag = "simulated services",
    params(
        ("service" = ServiceName, Path, description = "The service."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000,
            description = "The newest this many entries (1 to 1000; default 50)."),
    ),
    responses(
        (status = 200, description = "The newest entries.", body = Ledger),
        (status = 404, description = "No such service (`unknown_service`).", body = ErrorBody),
        ReadErrors,
    )
)]
async fn ledger(
    State(services): State<Services>,
    service: Result<Path<String>, PathRejection>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<Ledger>, Error> {
    let service: ServiceName = path_param(service)?.parse()?;
    let params = ListParams::from_query(query)?;
    Ok(axum::Json(
        services.ledger(service, params.limit_or(50)).await?,
    ))
}

/// The inventory's items and their stock.
#[utoipa::path(
    get,
    path = "/services/inventory/stock",
    operation_id = "services_stock",
    tag = "simulated services",
    responses(
        (status = 200, description = "Every item.", body = Stock),
        (status = 500, description = "The database failed (`internal`).", body = ErrorBody),
    )
)]
async fn stock(State(services): State<Services>) -> Result<axum::Json<Stock>, Error> {
    Ok(axum::Json(services.stock().await?))
}

/// Set the units on hand of an item.
///
/// Refused (422) below what is reserved.
#[utoipa::path(
    put,
    path = "/services/inventory/stock/{item_id}",
    operation_id = "services_set_stock",
    tag = "simulated services",
    params(("item_id" = String, Path, description = "The item.")),
    request_body = SetStock,
    responses(
        (status = 200, description = "The item now.", body = StockItem),
        (status = 413, description = "The body is too large (`payload_too_large`).",
            body = ErrorBody),
        ReadErrors,
    )
)]
async fn set_stock(
    State(services): State<Services>,
    item_id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<StockItem>, Error> {
    let item_id = path_param(item_id)?;
    let SetStock { stock } = parse_json(&body_bytes(body)?)?;
    Ok(axum::Json(services.set_stock(&item_id, stock).await?))
}

/// Reservations, newest first.
#[utoipa::path(
    get,
    path = "/services/inventory/reservations",
    operation_id = "services_reservations",
    tag = "simulated services",
    params(ListParams),
    responses(
        (status = 200, description = "The reservations.", body = Reservations),
        ReadErrors,
    )
)]
async fn reservations(
    State(services): State<Services>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<Reservations>, Error> {
    let params = ListParams::from_query(query)?;
    let limit = params.limit_or(100);
    Ok(axum::Json(
        services
            .reservations(params.order_id.as_deref(), limit)
            .await?,
    ))
}

/// Charges, newest first.
#[utoipa::path(
    get,
    path = "/services/payment/charges",
    operation_id = "services_charges",
    tag = "simulated services",
    params(ListParams),
    responses(
        (status = 200, description = "The charges.", body = Charges),
        ReadErrors,
    )
)]
async fn charges(
    State(services): State<Services>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<Charges>, Error> {
    let params = ListParams::from_query(query)?;
    let limit = params.limit_or(100);
    Ok(axum::Json(
        services.charges(params.order_id.as_deref(), limit).await?,
    ))
}

/// Shipments, newest first.
#[utoipa::path(
    get,
    path = "/services/fulfilment/shipments",
    operation_id = "services_shipments",
    tag = "simulated services",
    params(ListParams),
    responses(
        (status = 200, description = "The shipments.", body = Shipments),
        ReadErrors,
    )
)]
async fn shipments(
    State(services): State<Services>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<Shipments>, Error> {
    let params = ListParams::from_query(query)?;
    let limit = params.limit_or(100);
    Ok(axum::Json(
        services
            .shipments(params.order_id.as_deref(), limit)
            .await?,
    ))
}

/// The users whose card is declined.
#[utoipa::path(
    get,
    path = "/services/payment/declines",
    operation_id = "services_declines",
    tag = "simulated services",
    responses(
        (status = 200, description = "The users.", body = Declines),
        (status = 500, description = "The database failed (`internal`).", body = ErrorBody),
    )
)]
async fn declines(State(services): State<Services>) -> Result<axum::Json<Declines>, Error> {
    Ok(axum::Json(services.declines().await?))
}

/// Decline a user's card, or stop declining it.
#[utoipa::path(
    put,
    path = "/services/payment/declines/{user}",
    operation_id = "services_set_decline",
    tag = "simulated services",
    params(("user" = String, Path, description = "The user.")),
    request_body = SetDecline,
    responses(
        (status = 200, description = "The user's switch now.", body = DeclineStatus),
        (status = 413, description = "The body is too large (`payload_too_large`).",
            body = ErrorBody),
        ReadErrors,
    )
)]
async fn set_decline(
    State(services): State<Services>,
    user: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<DeclineStatus>, Error> {
    let user = path_param(user)?;
    let SetDecline { decline } = parse_json(&body_bytes(body)?)?;
    Ok(axum::Json(services.set_decline(&user, decline).await?))
}
