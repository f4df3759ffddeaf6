//! The shape that inventory's unreserve and payment's refund share: a call
//! that releases rows named either by their own id or as every one of an
//! order (or both: that row, if it is the order's). [`Selection`] checks
//! that one of the two is given and words the "unknown" answer;
//! [`release!`] runs the release inside the call's transaction.

use serde_json::json;

use super::error::{Rejection, non_blank};

/// What a service calls the rows it releases.
pub(crate) struct Kind {
    /// The request field (and the column) of a row's id: `reservation_id`.
    pub id_field: &'static str,
    /// The row in a sentence: `reservation`.
    pub noun: &'static str,
    /// The error code for an id that names no row: `unknown_reservation`.
    pub unknown_code: &'static str,
}

/// The rows a release call names.
pub(crate) struct Selection<'a> {
    kind: &'static Kind,
    /// The one row's id, if given (not blank).
    pub id: Option<&'a str>,
    /// The order whose rows, if given (not blank).
    pub order_id: Option<&'a str>,
}

impl<'a> Selection<'a> {
    /// 422 `invalid_request` unless an id or an order id is given.
    pub fn new(
        kind: &'static Kind,
        id: Option<&'a str>,
        order_id: Option<&'a str>,
    ) -> Result<Self, Rejection> {
        let (id, order_id) = (non_blank(id), non_blank(order_id));
        if id.is_none() && order_id.is_none() {
            return Err(Rejection::unprocessable(
                "invalid_request",
                format!("give a {} or an order_id", kind.id_field),
                json!({ "fields": [kind.id_field, "order_id"] }),
            ));
        }
        Ok(Self { kind, id, order_id })
    }

    /// 422: the id names no row (of that order).
    pub fn unknown(&self) -> Rejection {
        Rejection::unprocessable(
            self.kind.unknown_code,
            format!("no {} {}", self.kind.noun, self.id.unwrap_or_default()),
            json!({ self.kind.id_field: self.id, "order_id": self.order_id }),
        )
    }
}

/// Inside transaction `$tx`: runs `$update` (binding `$1` the selection's
/// id, `$2` its order id, `$3` `$at_ms`; it changes and returns the
/// selected rows still to release) and answers `Ok(rows)`, or
/// `Err(selection.unknown())` when nothing was released because the id
/// names no row — checked with `$exists` (binding `$1` id, `$2` order id).
/// Releasing nothing because all was released before is `Ok` (empty).
macro_rules! release {
    ($tx:ident, $selection:expr, $at_ms:expr, update = $update:expr, exists = $exists:expr $(,)?) => {{
        let selection = &$selection;
        let rows: Vec<_> = sqlx::query_as($update)
            .bind(selection.id)
            .bind(selection.order_id)
            .bind($at_ms)
            .fetch_all(&mut *$tx)
            .await?;
        let known = match (rows.is_empty(), selection.id) {
            (true, Some(id)) => {
                let found: Option<String> = sqlx::query_scalar($exists)
                    .bind(id)
                    .bind(selection.order_id)
                    .fetch_optional(&mut *$tx)
                    .await?;
                found.is_some()
            }
            _ => true,
        };
        if known {
            Ok(rows)
        } else {
            Err(selection.unknown())
        }
    }};
}

pub(crate) use release;
