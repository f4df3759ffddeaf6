//! What an order is, how a request for one is checked, and what a finished
//! order returns.

use serde::{Deserialize, Serialize};

/// Most units in one order: more is a typo or an attack.
pub const MAX_QUANTITY: i64 = 1_000;
/// Longest request id (the idempotency key).
pub const MAX_REQUEST_ID_LEN: usize = 128;
/// Longest shipping address.
pub const MAX_ADDRESS_LEN: usize = 500;

/// The body of `POST /api/orders`. The schema states the rules that
/// [`OrderRequest::validate`] checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderRequest {
    /// The caller's idempotency key; becomes the workflow id.
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,128}$", example = "order-2026-0001")]
    pub request_id: String,
    #[schema(pattern = r"^[A-Za-z0-9._:-]{1,64}$", example = "sku-widget")]
    pub item_id: String,
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i64,
    /// Where to ship: at most 500 characters, not blank, no control
    /// characters other than line breaks (`\n`).
    #[schema(
        max_length = 500,
        pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x09\x0B-\x1F\x7F-\x9F]*$",
        example = "1 Main St, Springfield"
    )]
    pub address: String,
}

/// A field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl OrderRequest {
    /// Checks every field; all problems are reported at once.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_string(),
                message,
            })
        };
        if !is_safe_id(&self.request_id, MAX_REQUEST_ID_LEN) {
            bad(
                "request_id",
                format!(
                    "must be 1 to {MAX_REQUEST_ID_LEN} characters of letters, digits, '-', '_', '.' or ':'"
                ),
            );
        }
        if !is_safe_id(&self.item_id, 64) {
            bad(
                "item_id",
                "must be 1 to 64 characters of letters, digits, '-', '_', '.' or ':'".into(),
            );
        }
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            bad("quantity", format!("must be between 1 and {MAX_QUANTITY}"));
        }
        // Length and characters are checked on the address as sent, so that
        // the rules are the ones the OpenAPI schema states.
        let address = &self.address;
        if address.trim().is_empty() {
            bad("address", "must not be empty".into());
        } else if address.chars().count() > MAX_ADDRESS_LEN {
            bad(
                "address",
                format!("must be at most {MAX_ADDRESS_LEN} characters"),
            );
        } else if address.chars().any(|c| c.is_control() && c != '\n') {
            bad("address", "must not contain control characters".into());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The order this request asks for, placed by `user`.
    pub fn into_order(self, user: &str, hold_seconds: u64) -> Order {
        Order {
            order_id: self.request_id,
            user: user.to_string(),
            item_id: self.item_id,
            quantity: self.quantity,
            address: self.address.trim().to_string(),
            hold_seconds,
        }
    }
}

fn is_safe_id(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// The input of `process_order`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub user: String,
    pub item_id: String,
    pub quantity: i64,
    pub address: String,
    /// How long the order waits after reserving, cancellable, before any
    /// charge (the "one-click buy" window); 0 for none.
    #[serde(default)]
    pub hold_seconds: u64,
}

impl Order {
    /// Whether `other` asks for the same thing (a repeated submission of
    /// the same request), ignoring server-side settings such as the hold.
    pub fn same_request(&self, other: &Order) -> bool {
        self.order_id == other.order_id
            && self.user == other.user
            && self.item_id == other.item_id
            && self.quantity == other.quantity
            && self.address == other.address
    }
}

/// What a completed order returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderOutcome {
    pub reservation_id: String,
    pub charge_id: String,
    pub amount_cents: i64,
    pub tracking_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> OrderRequest {
        OrderRequest {
            request_id: "req-1".into(),
            item_id: "sku-widget".into(),
            quantity: 2,
            address: "1 Main St".into(),
        }
    }

    #[test]
    fn a_good_request_passes() {
        assert_eq!(request().validate(), Ok(()));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = OrderRequest {
            request_id: "no spaces/allowed".into(),
            item_id: String::new(),
            quantity: 0,
            address: "   ".into(),
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["request_id", "item_id", "quantity", "address"]);
    }

    #[test]
    fn quantity_and_id_bounds() {
        let mut r = request();
        r.quantity = MAX_QUANTITY + 1;
        assert!(r.validate().is_err());
        r.quantity = MAX_QUANTITY;
        r.request_id = "x".repeat(MAX_REQUEST_ID_LEN);
        assert!(r.validate().is_ok());
        r.request_id.push('x');
        assert!(r.validate().is_err());
    }

    #[test]
    fn address_rules_apply_to_the_address_as_sent() {
        let mut r = request();
        r.address = "1 Main St\nSpringfield".into();
        assert!(r.validate().is_ok());
        r.address = "1 Main St\t".into();
        assert!(
            r.validate().is_err(),
            "a trailing tab is a control character"
        );
        r.address = format!(" {} ", "x".repeat(MAX_ADDRESS_LEN - 1));
        assert!(r.validate().is_err(), "padding counts towards the length");
        r.address = " \u{3000} ".into();
        assert!(r.validate().is_err(), "blank");
    }
}
