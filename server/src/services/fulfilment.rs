//! The simulated fulfilment centre: ships an order's items to an address and
//! answers with a tracking id.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::{Rejection, require_count, require_text};
use super::inventory::MAX_QUANTITY;
use super::ledger::{Answer, Call, idempotent};
use super::store::{time_of, with_pool};
use super::{Error, ServiceName, Services};

/// `POST /services/fulfilment/ship`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShipRequest {
    /// Not blank.
    #[schema(min_length = 1)]
    pub order_id: String,
    /// Not blank.
    #[schema(min_length = 1)]
    pub address: String,
    /// Not blank.
    #[schema(min_length = 1)]
    pub item_id: String,
    /// 1 to [`MAX_QUANTITY`].
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: i64,
}

/// A parcel on its way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shipment {
    pub tracking_id: String,
    pub order_id: String,
    pub item_id: String,
    pub quantity: i64,
    pub address: String,
    pub shipped_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /services/fulfilment/shipments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shipments {
    pub shipments: Vec<Shipment>,
}

#[derive(sqlx::FromRow)]
struct ShipmentRow {
    tracking_id: String,
    order_id: String,
    item_id: String,
    quantity: i64,
    address: String,
    created_at_ms: i64,
}

impl From<ShipmentRow> for Shipment {
    fn from(row: ShipmentRow) -> Self {
        Shipment {
            tracking_id: row.tracking_id,
            order_id: row.order_id,
            item_id: row.item_id,
            quantity: row.quantity,
            address: row.address,
            shipped_at: time_of(row.created_at_ms),
        }
    }
}

/// Addresses containing this word (any case) are refused as undeliverable.
pub const UNDELIVERABLE: &str = "undeliverable";

/// A tracking id such as `TRK-1F3A9C0B7D2E4A6B`.
fn new_tracking_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("TRK-{}", &hex[..16])
}

impl Services {
    /// Ships an order, once per key; 422 `undeliverable_address` for an
    /// address containing "undeliverable" (the demo's way to make shipping
    /// fail for good, as test card numbers do for payments).
    pub async fn ship(&self, key: &str, request: &ShipRequest) -> Result<Answer, Error> {
        require_text("order_id", &request.order_id)?;
        require_text("item_id", &request.item_id)?;
        require_text("address", &request.address)?;
        require_count("quantity", request.quantity, MAX_QUANTITY)?;
        let call = Call::new(ServiceName::Fulfilment, key, "ship", request)?;
        idempotent!(&self.db, &call, tx => {
            if request.address.to_lowercase().contains(UNDELIVERABLE) {
                Err(Rejection::unprocessable(
                    "undeliverable_address",
                    format!("no carrier delivers to {:?}", request.address),
                    json!({ "order_id": request.order_id, "address": request.address }),
                ))
            } else {
                let shipment = Shipment {
                    tracking_id: new_tracking_id(),
                    order_id: request.order_id.clone(),
                    item_id: request.item_id.clone(),
                    quantity: request.quantity,
                    address: request.address.clone(),
                    shipped_at: time_of(call.at_ms),
                };
                sqlx::query(
                    "INSERT INTO fulfilment_shipments (tracking_id, order_id, item_id, quantity, \
                     address, idempotency_key, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&shipment.tracking_id)
                .bind(&shipment.order_id)
                .bind(&shipment.item_id)
                .bind(shipment.quantity)
                .bind(&shipment.address)
                .bind(&call.key)
                .bind(call.at_ms)
                .execute(&mut *tx)
                .await?;
                Ok(serde_json::to_value(&shipment)?)
            }
        })
    }

    /// Shipments, newest first, optionally of one order only.
    pub async fn shipments(&self, order_id: Option<&str>, limit: i64) -> Result<Shipments, Error> {
        let rows: Vec<ShipmentRow> = with_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT tracking_id, order_id, item_id, quantity, address, created_at_ms \
                 FROM fulfilment_shipments WHERE ($1 IS NULL OR order_id = $1) \
                 ORDER BY created_at_ms DESC, tracking_id LIMIT $2",
            )
            .bind(order_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(Shipments {
            shipments: rows.into_iter().map(Shipment::from).collect(),
        })
    }
}
