//! The simulated inventory: a catalogue of items with stock, and
//! reservations that hold part of it for an order.
//!
//! `available = stock - reserved`. Reserving takes from `available` in one
//! conditional update (never below zero, even under concurrent calls);
//! unreserving gives a held reservation back. An unknown item or too little
//! stock is a business error (422) that changes nothing.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::{Rejection, require_count, require_text};
use super::ledger::{Answer, Call, idempotent};
use super::release::{Kind, Selection, release};
use super::store::{new_id, now_ms, time_of, with_pool, with_tx};
use super::{Error, ServiceName, Services};

/// The most units one reservation may hold.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// The catalogue seeded on first start: id, name, unit price, stock.
pub const DEFAULT_CATALOGUE: &[(&str, &str, i64, i64)] = &[
    ("sku-widget", "Widget", 499, 1000),
    ("sku-gadget", "Gadget", 1299, 500),
    ("sku-gizmo", "Gizmo", 2499, 250),
    ("sku-sprocket", "Sprocket", 199, 2000),
    ("sku-cog", "Cog", 99, 5000),
    ("sku-flange", "Flange", 349, 1500),
    ("sku-lever", "Lever", 1599, 300),
    ("sku-whatsit", "Whatsit", 899, 750),
    ("sku-doohickey", "Doohickey", 3499, 100),
    ("sku-thingamajig", "Thingamajig", 7999, 50),
    ("sku-limited-edition", "Limited edition", 19999, 5),
    ("sku-sold-out", "Sold out", 999, 0),
];

/// `POST /services/inventory/reserve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReserveRequest {
    /// Not blank.
    #[schema(min_length = 1)]
    pub order_id: String,
    /// Not blank.
    #[schema(min_length = 1)]
    pub item_id: String,
    /// 1 to [`MAX_QUANTITY`].
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: i64,
}

/// `POST /services/inventory/unreserve`: releases the reservation named by
/// `reservation_id`, or every held reservation of `order_id` (none held is
/// fine: nothing to give back). At least one of the two is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnreserveRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Held,
    Released,
}

/// Units of one item held for one order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reservation {
    pub reservation_id: String,
    pub order_id: String,
    pub item_id: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    /// `quantity * unit_price_cents`: what the order should be charged.
    pub amount_cents: i64,
    pub status: ReservationStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The answer to an unreserve: the reservations this call released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unreservation {
    pub released: Vec<Reservation>,
}

/// One catalogue item and its stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StockItem {
    pub item_id: String,
    pub name: String,
    pub unit_price_cents: i64,
    /// Units on hand.
    pub stock: i64,
    /// Units held by reservations.
    pub reserved: i64,
    /// `stock - reserved`: what can still be reserved.
    #[sqlx(skip)]
    pub available: i64,
}

/// `GET /services/inventory/stock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stock {
    pub items: Vec<StockItem>,
}

/// `PUT /services/inventory/stock/{item_id}`: sets the units on hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SetStock {
    #[schema(minimum = 0)]
    pub stock: i64,
}

/// `GET /services/inventory/reservations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reservations {
    pub reservations: Vec<Reservation>,
}

#[derive(sqlx::FromRow)]
struct ReservationRow {
    reservation_id: String,
    order_id: String,
    item_id: String,
    quantity: i64,
    unit_price_cents: i64,
    status: String,
    created_at_ms: i64,
    released_at_ms: Option<i64>,
}

impl From<ReservationRow> for Reservation {
    fn from(row: ReservationRow) -> Self {
        Reservation {
            amount_cents: row.quantity.saturating_mul(row.unit_price_cents),
            reservation_id: row.reservation_id,
            order_id: row.order_id,
            item_id: row.item_id,
            quantity: row.quantity,
            unit_price_cents: row.unit_price_cents,
            status: if row.status == "held" {
                ReservationStatus::Held
            } else {
                ReservationStatus::Released
            },
            created_at: time_of(row.created_at_ms),
            released_at: row.released_at_ms.map(time_of),
        }
    }
}

macro_rules! reservation_columns {
    () => {
        "reservation_id, order_id, item_id, quantity, unit_price_cents, status, \
         created_at_ms, released_at_ms"
    };
}

fn unknown_item(item_id: &str) -> Rejection {
    Rejection::unprocessable(
        "unknown_item",
        format!("no item {item_id:?} in the catalogue"),
        json!({ "item_id": item_id }),
    )
}

fn with_available(mut item: StockItem) -> StockItem {
    item.available = item.stock - item.reserved;
    item
}

/// What unreserve releases.
static RESERVATIONS: Kind = Kind {
    id_field: "reservation_id",
    noun: "reservation",
    unknown_code: "unknown_reservation",
};

impl Services {
    /// Seeds [`DEFAULT_CATALOGUE`] the first time it is called on a
    /// database; later calls (later starts) change nothing. Returns whether
    /// it seeded.
    pub async fn seed_default_catalogue(&self) -> Result<bool, Error> {
        with_tx!(&self.db, tx => {
            let first: Option<String> = sqlx::query_scalar(
                "INSERT INTO services_meta (key, value) VALUES ('catalogue_seeded', $1) \
                 ON CONFLICT (key) DO NOTHING RETURNING key",
            )
            .bind(now_ms().to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if first.is_some() {
                for (item_id, name, unit_price_cents, stock) in DEFAULT_CATALOGUE {
                    sqlx::query(
                        "INSERT INTO inventory_items (item_id, name, unit_price_cents, stock, reserved) \
                         VALUES ($1, $2, $3, $4, 0) ON CONFLICT (item_id) DO NOTHING",
                    )
                    .bind(*item_id)
                    .bind(*name)
                    .bind(*unit_price_cents)
                    .bind(*stock)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(first.is_some())
        })
    }

    /// Every catalogue item with its stock, by item id.
    pub async fn stock(&self) -> Result<Stock, Error> {
        let items: Vec<StockItem> = with_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT item_id, name, unit_price_cents, stock, reserved \
                 FROM inventory_items ORDER BY item_id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(Stock {
            items: items.into_iter().map(with_available).collect(),
        })
    }

    /// Sets the units on hand of an item (an operator's restock). Refused
    /// (422) below what is reserved.
    pub async fn set_stock(&self, item_id: &str, stock: i64) -> Result<StockItem, Error> {
        if stock < 0 {
            return Err(
                Rejection::invalid_field("stock", "must not be negative", json!(stock)).into(),
            );
        }
        with_tx!(&self.db, tx => {
            let updated: Option<StockItem> = sqlx::query_as(
                "UPDATE inventory_items SET stock = $2 WHERE item_id = $1 AND reserved <= $2 \
                 RETURNING item_id, name, unit_price_cents, stock, reserved",
            )
            .bind(item_id)
            .bind(stock)
            .fetch_optional(&mut *tx)
            .await?;
            match updated {
                Some(item) => {
                    tx.commit().await?;
                    Ok(with_available(item))
                }
                None => {
                    let reserved: Option<i64> =
                        sqlx::query_scalar("SELECT reserved FROM inventory_items WHERE item_id = $1")
                            .bind(item_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    Err(match reserved {
                        None => unknown_item(item_id),
                        Some(reserved) => Rejection::unprocessable(
                            "stock_below_reserved",
                            format!("{item_id} has {reserved} units reserved; stock cannot go below that"),
                            json!({ "item_id": item_id, "stock": stock, "reserved": reserved }),
                        ),
                    }
                    .into())
                }
            }
        })
    }

    /// Reservations, newest first, optionally of one order only.
    pub async fn reservations(
        &self,
        order_id: Option<&str>,
        limit: i64,
    ) -> Result<Reservations, Error> {
        let rows: Vec<ReservationRow> = with_pool!(&self.db, pool => {
                    sqlx::query_as(
        concat!(
                            "SELECT ",
                            reservation_columns!(),
                            " FROM inventory_reservations WHERE ($1 IS NULL OR order_id = $1) \
                             ORDER BY created_at_ms DESC, reservation_id LIMIT $2"
                        ),
                    )
                    .bind(order_id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
                });
        Ok(Reservations {
            reservations: rows.into_iter().map(Reservation::from).collect(),
        })
    }

    /// Reserves `quantity` units of an item for an order, once per key.
    pub async fn reserve(&self, key: &str, request: &ReserveRequest) -> Result<Answer, Error> {
        require_text("order_id", &request.order_id)?;
        require_text("item_id", &request.item_id)?;
        require_count("quantity", request.quantity, MAX_QUANTITY)?;
        let call = Call::new(ServiceName::Inventory, key, "reserve", request)?;
        idempotent!(&self.db, &call, tx => {
            let unit_price_cents: Option<i64> = sqlx::query_scalar(
                "UPDATE inventory_items SET reserved = reserved + $2 \
                 WHERE item_id = $1 AND stock - reserved >= $2 RETURNING unit_price_cents",
            )
            .bind(&request.item_id)
            .bind(request.quantity)
            .fetch_optional(&mut *tx)
            .await?;
            match unit_price_cents {
                Some(unit_price_cents) => {
                    let reservation = Reservation {
                        reservation_id: new_id("rsv_"),
                        order_id: request.order_id.clone(),
                        item_id: request.item_id.clone(),
                        quantity: request.quantity,
                        unit_price_cents,
                        amount_cents: request.quantity.saturating_mul(unit_price_cents),
                        status: ReservationStatus::Held,
                        created_at: time_of(call.at_ms),
                        released_at: None,
                    };
                    sqlx::query(
                        "INSERT INTO inventory_reservations (reservation_id, order_id, item_id, \
                         quantity, unit_price_cents, status, idempotency_key, created_at_ms) \
                         VALUES ($1, $2, $3, $4, $5, 'held', $6, $7)",
                    )
                    .bind(&reservation.reservation_id)
                    .bind(&reservation.order_id)
                    .bind(&reservation.item_id)
                    .bind(reservation.quantity)
                    .bind(reservation.unit_price_cents)
                    .bind(&call.key)
                    .bind(call.at_ms)
                    .execute(&mut *tx)
                    .await?;
                    Ok(serde_json::to_value(&reservation)?)
                }
                None => {
                    let item: Option<(i64, i64)> = sqlx::query_as(
                        "SELECT stock, reserved FROM inventory_items WHERE item_id = $1",
                    )
                    .bind(&request.item_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    Err(match item {
                        None => unknown_item(&request.item_id),
                        Some((stock, reserved)) => Rejection::unprocessable(
                            "insufficient_stock",
                            format!(
                                "{} units of {} requested, {} available",
                                request.quantity,
                                request.item_id,
                                stock - reserved
                            ),
                            json!({
                                "item_id": request.item_id,
                                "requested": request.quantity,
                                "available": stock - reserved,
                            }),
                        ),
                    })
                }
            }
        })
    }

    /// Releases held reservations (by id or by order), once per key.
    pub async fn unreserve(&self, key: &str, request: &UnreserveRequest) -> Result<Answer, Error> {
        let selection = Selection::new(
            &RESERVATIONS,
            request.reservation_id.as_deref(),
            request.order_id.as_deref(),
        )?;
        let call = Call::new(ServiceName::Inventory, key, "unreserve", request)?;
        idempotent!(&self.db, &call, tx => {
            let released: Result<Vec<ReservationRow>, Rejection> = release!(tx, selection, call.at_ms,
                update = concat!(
                    "UPDATE inventory_reservations SET status = 'released', released_at_ms = $3 \
                     WHERE status = 'held' AND ($1 IS NULL OR reservation_id = $1) \
                     AND ($2 IS NULL OR order_id = $2) RETURNING ",
                    reservation_columns!()
                ),
                exists = "SELECT reservation_id FROM inventory_reservations \
                          WHERE reservation_id = $1 AND ($2 IS NULL OR order_id = $2)",
            );
            match released {
                Ok(mut rows) => {
                    // Items in a fixed order, so that concurrent releases that
                    // touch the same items cannot deadlock.
                    rows.sort_by(|a, b| a.item_id.cmp(&b.item_id));
                    for row in &rows {
                        sqlx::query("UPDATE inventory_items SET reserved = reserved - $2 WHERE item_id = $1")
                            .bind(&row.item_id)
                            .bind(row.quantity)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let mut released: Vec<Reservation> = rows.into_iter().map(Reservation::from).collect();
                    released.sort_by(|a, b| {
                        (a.created_at, &a.reservation_id).cmp(&(b.created_at, &b.reservation_id))
                    });
                    Ok(serde_json::to_value(Unreservation { released })?)
                }
                Err(unknown) => Err(unknown),
            }
        })
    }
}
