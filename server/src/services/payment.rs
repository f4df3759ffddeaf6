//! The simulated payment provider: charges, refunds, and a per-user
//! "decline this card" switch that makes that user's charges fail with a
//! business error (422 `card_declined`).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::{Rejection, require_count, require_text};
use super::ledger::{Answer, Call, idempotent};
use super::release::{Kind, Selection, release};
use super::store::{new_id, now_ms, time_of, with_pool, with_tx};
use super::{Error, ServiceName, Services};

/// The largest single charge: one hundred million (in cents).
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000_000;

/// `POST /services/payment/charge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChargeRequest {
    /// Not blank.
    #[schema(min_length = 1)]
    pub order_id: String,
    /// Not blank.
    #[schema(min_length = 1)]
    pub user: String,
    /// 1 to [`MAX_AMOUNT_CENTS`].
    #[schema(minimum = 1, maximum = 10_000_000_000_i64)]
    pub amount_cents: i64,
}

/// `POST /services/payment/refund`: refunds the charge named by `charge_id`,
/// or every captured charge of `order_id` (none captured is fine: nothing
/// to refund). At least one of the two is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefundRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Captured,
    Refunded,
}

/// Money taken from a user for an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Charge {
    pub charge_id: String,
    pub order_id: String,
    pub user: String,
    pub amount_cents: i64,
    pub status: ChargeStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The answer to a refund: the charges this call refunded and their total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refund {
    pub refunded: Vec<Charge>,
    pub amount_cents: i64,
}

/// `GET /services/payment/charges`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Charges {
    pub charges: Vec<Charge>,
}

/// A user whose card is declined, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeclinedUser {
    pub user: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// `GET /services/payment/declines`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Declines {
    pub users: Vec<DeclinedUser>,
}

/// `PUT /services/payment/declines/{user}` body: `{"decline": true}` sets
/// the switch, `false` clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDecline {
    pub decline: bool,
}

/// The answer to `PUT /services/payment/declines/{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeclineStatus {
    pub user: String,
    pub decline: bool,
}

#[derive(sqlx::FromRow)]
struct ChargeRow {
    charge_id: String,
    order_id: String,
    user_name: String,
    amount_cents: i64,
    status: String,
    created_at_ms: i64,
    refunded_at_ms: Option<i64>,
}

impl From<ChargeRow> for Charge {
    fn from(row: ChargeRow) -> Self {
        Charge {
            charge_id: row.charge_id,
            order_id: row.order_id,
            user: row.user_name,
            amount_cents: row.amount_cents,
            status: if row.status == "captured" {
                ChargeStatus::Captured
            } else {
                ChargeStatus::Refunded
            },
            created_at: time_of(row.created_at_ms),
            refunded_at: row.refunded_at_ms.map(time_of),
        }
    }
}

macro_rules! charge_columns {
    () => {
        "charge_id, order_id, user_name, amount_cents, status, created_at_ms, refunded_at_ms"
    };
}

/// What refund releases.
static CHARGES: Kind = Kind {
    id_field: "charge_id",
    noun: "charge",
    unknown_code: "unknown_charge",
};

impl Services {
    /// Charges a user for an order, once per key; 422 `card_declined` if
    /// the user's decline switch is on.
    pub async fn charge(&self, key: &str, request: &ChargeRequest) -> Result<Answer, Error> {
        require_text("order_id", &request.order_id)?;
        require_text("user", &request.user)?;
        require_count("amount_cents", request.amount_cents, MAX_AMOUNT_CENTS)?;
        let call = Call::new(ServiceName::Payment, key, "charge", request)?;
        idempotent!(&self.db, &call, tx => {
            let declined: Option<String> = sqlx::query_scalar(
                "SELECT user_name FROM payment_declines WHERE user_name = $1",
            )
            .bind(&request.user)
            .fetch_optional(&mut *tx)
            .await?;
            if declined.is_some() {
                Err(Rejection::unprocessable(
                    "card_declined",
                    format!("the card of {} was declined", request.user),
                    json!({ "user": request.user, "order_id": request.order_id }),
                ))
            } else {
                let charge = Charge {
                    charge_id: new_id("ch_"),
                    order_id: request.order_id.clone(),
                    user: request.user.clone(),
                    amount_cents: request.amount_cents,
                    status: ChargeStatus::Captured,
                    created_at: time_of(call.at_ms),
                    refunded_at: None,
                };
                sqlx::query(
                    "INSERT INTO payment_charges (charge_id, order_id, user_name, amount_cents, \
                     status, idempotency_key, created_at_ms) \
                     VALUES ($1, $2, $3, $4, 'captured', $5, $6)",
                )
                .bind(&charge.charge_id)
                .bind(&charge.order_id)
                .bind(&charge.user)
                .bind(charge.amount_cents)
                .bind(&call.key)
                .bind(call.at_ms)
                .execute(&mut *tx)
                .await?;
                Ok(serde_json::to_value(&charge)?)
            }
        })
    }

    /// Refunds captured charges (by id or by order), once per key.
    pub async fn refund(&self, key: &str, request: &RefundRequest) -> Result<Answer, Error> {
        let selection = Selection::new(
            &CHARGES,
            request.charge_id.as_deref(),
            request.order_id.as_deref(),
        )?;
        let call = Call::new(ServiceName::Payment, key, "refund", request)?;
        idempotent!(&self.db, &call, tx => {
            let refunded: Result<Vec<ChargeRow>, Rejection> = release!(tx, selection, call.at_ms,
                update = concat!(
                    "UPDATE payment_charges SET status = 'refunded', refunded_at_ms = $3 \
                     WHERE status = 'captured' AND ($1 IS NULL OR charge_id = $1) \
                     AND ($2 IS NULL OR order_id = $2) RETURNING ",
                    charge_columns!()
                ),
                exists = "SELECT charge_id FROM payment_charges \
                          WHERE charge_id = $1 AND ($2 IS NULL OR order_id = $2)",
            );
            match refunded {
                Ok(rows) => {
                    let mut refunded: Vec<Charge> = rows.into_iter().map(Charge::from).collect();
                    refunded.sort_by(|a, b| (a.created_at, &a.charge_id).cmp(&(b.created_at, &b.charge_id)));
                    let amount_cents = refunded.iter().map(|c| c.amount_cents).sum();
                    Ok(serde_json::to_value(Refund { refunded, amount_cents })?)
                }
                Err(unknown) => Err(unknown),
            }
        })
    }

    /// Charges, newest first, optionally of one order only.
    pub async fn charges(&self, order_id: Option<&str>, limit: i64) -> Result<Charges, Error> {
        let rows: Vec<ChargeRow> = with_pool!(&self.db, pool => {
            sqlx::query_as(concat!(
                "SELECT ",
                charge_columns!(),
                " FROM payment_charges WHERE ($1 IS NULL OR order_id = $1) \
                 ORDER BY created_at_ms DESC, charge_id LIMIT $2"
            ))
            .bind(order_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(Charges {
            charges: rows.into_iter().map(Charge::from).collect(),
        })
    }

    /// The users whose cards are declined, by name.
    pub async fn declines(&self) -> Result<Declines, Error> {
        let rows: Vec<(String, i64)> = with_pool!(&self.db, pool => {
            sqlx::query_as("SELECT user_name, created_at_ms FROM payment_declines ORDER BY user_name")
                .fetch_all(pool)
                .await?
        });
        Ok(Declines {
            users: rows
                .into_iter()
                .map(|(user, at_ms)| DeclinedUser {
                    user,
                    since: time_of(at_ms),
                })
                .collect(),
        })
    }

    /// Sets (`true`) or clears (`false`) a user's decline switch.
    pub async fn set_decline(&self, user: &str, decline: bool) -> Result<DeclineStatus, Error> {
        require_text("user", user)?;
        with_tx!(&self.db, tx => {
            if decline {
                sqlx::query(
                    "INSERT INTO payment_declines (user_name, created_at_ms) VALUES ($1, $2) \
                     ON CONFLICT (user_name) DO NOTHING",
                )
                .bind(user)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query("DELETE FROM payment_declines WHERE user_name = $1")
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(DeclineStatus {
                user: user.to_owned(),
                decline,
            })
        })
    }
}
