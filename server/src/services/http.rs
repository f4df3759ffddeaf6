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
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::{Rejection, require_count};
use super::faults::FaultUpdate;
use super::fulfilment::{ShipRequest, Shipments};
use super::inventory::{
    Reservations, ReserveRequest, SetStock, Stock, StockItem, UnreserveRequest,
};
use super::ledger::{Answer, Ledger};
use super::payment::{ChargeRequest, Charges, DeclineStatus, Declines, RefundRequest, SetDecline};
use super::{AllFaults, Error, FaultConfig, ServiceName, Services};

/// The request header that names a mutating call's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// The longest idempotency key accepted.
const MAX_KEY_LEN: usize = 255;

/// The most rows one list or ledger request returns.
const MAX_LIMIT: i64 = 1000;

/// The routes of the three services, all under `/services/`.
pub fn router(services: Services) -> Router {
    Router::new()
        .route("/services/faults", get(all_faults))
        .route("/services/{service}/faults", get(faults).put(set_faults))
        .route("/services/{service}/ledger", get(ledger))
        .route("/services/inventory/stock", get(stock))
        .route("/services/inventory/stock/{item_id}", put(set_stock))
        .route("/services/inventory/reservations", get(reservations))
        .route("/services/inventory/reserve", post(reserve))
        .route("/services/inventory/unreserve", post(unreserve))
        .route("/services/payment/charge", post(charge))
        .route("/services/payment/refund", post(refund))
        .route("/services/payment/charges", get(charges))
        .route("/services/payment/declines", get(declines))
        .route("/services/payment/declines/{user}", put(set_decline))
        .route("/services/fulfilment/ship", post(ship))
        .route("/services/fulfilment/shipments", get(shipments))
        .with_state(services)
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

/// The body as `T`; 400 if it is not JSON of that shape.
fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, Rejection> {
    serde_json::from_slice(body).map_err(|error| {
        Rejection::bad_request(
            "malformed_request",
            format!("the request body is not valid: {error}"),
            json!({ "reason": error.to_string() }),
        )
    })
}

/// What every operation does before it runs: suffer the service's faults,
/// then read the key and the body.
async fn prepare<T: DeserializeOwned>(
    services: &Services,
    service: ServiceName,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(String, T), Error> {
    services.faults.strike(service).await?;
    let key = idempotency_key(headers)?;
    let request = parse_json(body)?;
    Ok((key, request))
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    limit: Option<i64>,
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

async fn reserve(
    State(services): State<Services>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Answer, Error> {
    let (key, request) =
        prepare::<ReserveRequest>(&services, ServiceName::Inventory, &headers, &body).await?;
    services.reserve(&key, &request).await
}

async fn unreserve(
    State(services): State<Services>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Answer, Error> {
    let (key, request) =
        prepare::<UnreserveRequest>(&services, ServiceName::Inventory, &headers, &body).await?;
    services.unreserve(&key, &request).await
}

async fn charge(
    State(services): State<Services>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Answer, Error> {
    let (key, request) =
        prepare::<ChargeRequest>(&services, ServiceName::Payment, &headers, &body).await?;
    services.charge(&key, &request).await
}

async fn refund(
    State(services): State<Services>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Answer, Error> {
    let (key, request) =
        prepare::<RefundRequest>(&services, ServiceName::Payment, &headers, &body).await?;
    services.refund(&key, &request).await
}

async fn ship(
    State(services): State<Services>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Answer, Error> {
    let (key, request) =
        prepare::<ShipRequest>(&services, ServiceName::Fulfilment, &headers, &body).await?;
    services.ship(&key, &request).await
}

// --- reads and operator controls --------------------------------------------

async fn all_faults(State(services): State<Services>) -> axum::Json<AllFaults> {
    axum::Json(services.all_faults())
}

async fn faults(
    State(services): State<Services>,
    Path(service): Path<String>,
) -> Result<axum::Json<FaultConfig>, Error> {
    let service: ServiceName = service.parse()?;
    Ok(axum::Json(services.faults(service)))
}

async fn set_faults(
    State(services): State<Services>,
    Path(service): Path<String>,
    body: Bytes,
) -> Result<axum::Json<FaultConfig>, Error> {
    let service: ServiceName = service.parse()?;
    let update: FaultUpdate = parse_json(&body)?;
    Ok(axum::Json(services.update_faults(service, &update)?))
}

async fn ledger(
    State(services): State<Services>,
    Path(service): Path<String>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<axum::Json<Ledger>, Error> {
    let service: ServiceName = service.parse()?;
    let params = ListParams::from_query(query)?;
    Ok(axum::Json(
        services.ledger(service, params.limit_or(50)).await?,
    ))
}

async fn stock(State(services): State<Services>) -> Result<axum::Json<Stock>, Error> {
    Ok(axum::Json(services.stock().await?))
}

async fn set_stock(
    State(services): State<Services>,
    Path(item_id): Path<String>,
    body: Bytes,
) -> Result<axum::Json<StockItem>, Error> {
    let SetStock { stock } = parse_json(&body)?;
    Ok(axum::Json(services.set_stock(&item_id, stock).await?))
}

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

async fn declines(State(services): State<Services>) -> Result<axum::Json<Declines>, Error> {
    Ok(axum::Json(services.declines().await?))
}

async fn set_decline(
    State(services): State<Services>,
    Path(user): Path<String>,
    body: Bytes,
) -> Result<axum::Json<DeclineStatus>, Error> {
    let SetDecline { decline } = parse_json(&body)?;
    Ok(axum::Json(services.set_decline(&user, decline).await?))
}
