//! Idempotency and the per-service ledger.
//!
//! Every mutating call names an idempotency key. Its first execution inserts
//! the ledger row for that key (`kind`, `payload`, time) in the same
//! transaction that applies the effect, and stores the answer (status and
//! exact body) in that row. A later call with the same key finds the row
//! and answers with what is stored, changing nothing. The unique constraint
//! on the key is the lock: two simultaneous calls with one key cannot both
//! insert the row, so only one of them runs; the other waits for its commit
//! (PostgreSQL blocks on the conflicting insert, SQLite serialises writers)
//! and then replays its answer.
//!
//! Business errors (422) are answers too and are stored, so a retried call
//! keeps getting the answer the first call got, even if the state has
//! changed since. Injected faults and malformed requests are answered before
//! the key is looked at and leave no row.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::Rejection;
use super::{Error, ServiceName};

/// The SQL for one service's ledger table.
pub(crate) struct LedgerSql {
    /// `$1` key, `$2` kind, `$3` payload, `$4` time; returns `seq` if claimed.
    pub claim: &'static str,
    /// `$1` key; returns `kind, payload, status, response`.
    pub load: &'static str,
    /// `$1` status, `$2` response, `$3` key.
    pub finish: &'static str,
    /// `$1` limit; newest first.
    pub list: &'static str,
}

macro_rules! ledger_sql {
    ($table:literal) => {
        LedgerSql {
            claim: concat!(
                "INSERT INTO ",
                $table,
                " (idempotency_key, kind, payload, status, response, created_at_ms) \
                 VALUES ($1, $2, $3, 0, '', $4) \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING seq"
            ),
            load: concat!(
                "SELECT kind, payload, status, response FROM ",
                $table,
                " WHERE idempotency_key = $1"
            ),
            finish: concat!(
                "UPDATE ",
                $table,
                " SET status = $1, response = $2 WHERE idempotency_key = $3"
            ),
            list: concat!(
                "SELECT seq, idempotency_key, kind, payload, status, response, created_at_ms FROM ",
                $table,
                " WHERE status <> 0 ORDER BY seq DESC LIMIT $1"
            ),
        }
    };
}

static INVENTORY: LedgerSql = ledger_sql!("inventory_ledger");
static PAYMENT: LedgerSql = ledger_sql!("payment_ledger");
static FULFILMENT: LedgerSql = ledger_sql!("fulfilment_ledger");

impl ServiceName {
    pub(crate) fn ledger_sql(self) -> &'static LedgerSql {
        match self {
            ServiceName::Inventory => &INVENTORY,
            ServiceName::Payment => &PAYMENT,
            ServiceName::Fulfilment => &FULFILMENT,
        }
    }
}

/// One mutating call: its key, what it does and with what.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub service: ServiceName,
    pub key: String,
    pub kind: &'static str,
    pub payload: Value,
    pub at_ms: i64,
}

impl Call {
    pub(crate) fn new(
        service: ServiceName,
        key: &str,
        kind: &'static str,
        request: &impl Serialize,
    ) -> Result<Call, Error> {
        Ok(Call {
            service,
            key: key.to_owned(),
            kind,
            payload: serde_json::to_value(request)?,
            at_ms: super::store::now_ms(),
        })
    }

    /// The stored answer for this call's key, if the stored call is the same
    /// call; a key reused for another call is refused.
    pub(crate) fn replay(&self, stored: StoredRow) -> Result<Answer, Error> {
        let (kind, sqlx::types::Json(payload), status, body) = stored;
        if kind != self.kind || payload != self.payload {
            return Err(Rejection::unprocessable(
                "idempotency_key_reused",
                "this idempotency key was already used for a different request",
                json!({
                    "idempotency_key": self.key,
                    "first_kind": kind,
                    "first_payload": payload,
                }),
            )
            .into());
        }
        Ok(Answer {
            status: u16::try_from(status).unwrap_or(500),
            body,
            replayed: true,
        })
    }
}

/// `kind, payload, status, response` of a ledger row.
pub(crate) type StoredRow = (String, sqlx::types::Json<Value>, i64, String);

/// The answer to a mutating call: the status and exact JSON body that every
/// call with the same idempotency key gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// True when this answer was stored by an earlier call with the key.
    pub replayed: bool,
}

impl Answer {
    /// The answer for an operation's outcome: 200 and the result, or the
    /// rejection's status and error body.
    pub(crate) fn of(outcome: Result<Value, Rejection>) -> Result<Answer, Error> {
        let (status, body) = match outcome {
            Ok(value) => (StatusCode::OK, serde_json::to_string(&value)?),
            Err(rejection) => (rejection.status, serde_json::to_string(&rejection.body())?),
        };
        Ok(Answer {
            status: status.as_u16(),
            body,
            replayed: false,
        })
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<Value, Error> {
        Ok(serde_json::from_str(&self.body)?)
    }
}

/// The header set on an answer that replays a stored one.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body,
        )
            .into_response();
        if self.replayed {
            response
                .headers_mut()
                .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        }
        response
    }
}

/// Runs a mutating call exactly once per idempotency key.
///
/// `idempotent!(db, call, tx => body)`: `body` runs inside the transaction
/// `tx` only if this call claimed the key; it evaluates to
/// `Result<serde_json::Value, Rejection>` (the result, or a business error
/// decided *before* any write) and may use `?` on [`Error`]s, which roll the
/// whole call back, key included. Evaluates to `Result<Answer, Error>`.
macro_rules! idempotent {
    ($db:expr, $call:expr, $tx:ident => $body:expr) => {{
        let call: &$crate::services::ledger::Call = $call;
        let sql = call.service.ledger_sql();
        $crate::services::store::with_tx!($db, $tx => {
            let claimed: Option<i64> = sqlx::query_scalar(sql.claim)
                .bind(&call.key)
                .bind(call.kind)
                .bind(sqlx::types::Json(&call.payload))
                .bind(call.at_ms)
                .fetch_optional(&mut *$tx)
                .await?;
            if claimed.is_some() {
                let outcome: Result<serde_json::Value, $crate::services::error::Rejection> = $body;
                let answer = $crate::services::ledger::Answer::of(outcome)?;
                sqlx::query(sql.finish)
                    .bind(i64::from(answer.status))
                    .bind(&answer.body)
                    .bind(&call.key)
                    .execute(&mut *$tx)
                    .await?;
                $tx.commit().await?;
                Ok::<_, $crate::services::Error>(answer)
            } else {
                let stored: $crate::services::ledger::StoredRow =
                    sqlx::query_as(sql.load).bind(&call.key).fetch_one(&mut *$tx).await?;
                $tx.rollback().await?;
                call.replay(stored)
            }
        })
    }};
}

pub(crate) use idempotent;

/// One row of a service's ledger: the first call made with one idempotency
/// key and the answer it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    /// Increases with every new key; newest entries have the highest.
    pub seq: i64,
    pub idempotency_key: String,
    /// The operation: `reserve`, `unreserve`, `charge`, `refund`, `ship`.
    pub kind: String,
    /// The request as the service understood it.
    pub payload: Value,
    /// 200 for an effect, 422 for a business error (no effect).
    pub status: u16,
    /// The body that was answered (and is replayed for the key).
    pub response: Value,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A service's ledger, newest entry first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ledger {
    pub service: ServiceName,
    pub entries: Vec<LedgerEntry>,
}

type LedgerRow = (
    i64,
    String,
    String,
    sqlx::types::Json<Value>,
    i64,
    String,
    i64,
);

impl LedgerEntry {
    fn from_row(row: LedgerRow) -> LedgerEntry {
        let (seq, idempotency_key, kind, sqlx::types::Json(payload), status, response, at_ms) = row;
        let response = serde_json::from_str(&response).unwrap_or(Value::String(response));
        LedgerEntry {
            seq,
            idempotency_key,
            kind,
            payload,
            status: u16::try_from(status).unwrap_or(0),
            response,
            at: super::store::time_of(at_ms),
        }
    }
}

/// The newest `limit` entries of `service`'s ledger.
pub(crate) async fn list(
    db: &super::store::Db,
    service: ServiceName,
    limit: i64,
) -> Result<Ledger, Error> {
    let sql = service.ledger_sql();
    let rows: Vec<LedgerRow> = super::store::with_pool!(db, pool => {
        sqlx::query_as(sql.list).bind(limit).fetch_all(pool).await?
    });
    Ok(Ledger {
        service,
        entries: rows.into_iter().map(LedgerEntry::from_row).collect(),
    })
}
