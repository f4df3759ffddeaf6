//! The simulated downstream services that the orders workflow's activities
//! call over HTTP: **inventory** (stock and reservations), **payment**
//! (charges, refunds, a per-user decline switch) and **fulfilment**
//! (shipments with tracking ids).
//!
//! They keep real state in their own database (a SQLite file or a
//! PostgreSQL database, with migrations in `migrations/services/`), make
//! every mutating call idempotent by its `Idempotency-Key` header (see
//! [`ledger`]), record each call in a ledger per service, and fail on
//! purpose when an operator injects faults (see [`faults`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), server::services::Error> {
//! use server::services::{Services, router};
//! let services = Services::open("sqlite:data/services.db").await?;
//! services.seed_default_catalogue().await?;
//! let app: axum::Router = router(services.clone());
//! # Ok(()) }
//! ```
//!
//! Answers: 200 with the result; 400 for a malformed request or a missing
//! `Idempotency-Key`; 404 for an unknown service or path; 422 for a business
//! error (`insufficient_stock`, `unknown_item`, `card_declined`, ...) or an
//! out-of-range value; 503 `injected_fault` for an injected fault; 500 when
//! the database fails. Every error body is [`ErrorBody`].

pub mod error;
pub mod faults;
pub mod fulfilment;
mod http;
pub mod inventory;
pub mod ledger;
pub mod payment;
mod release;
pub(crate) mod store;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use error::{Error, ErrorBody, ErrorDetail, Rejection};
pub use faults::{AllFaults, FaultConfig, FaultUpdate};
pub use fulfilment::{ShipRequest, Shipment, Shipments};
pub use http::{IDEMPOTENCY_KEY_HEADER, ServicesDoc, router, routes};
pub use inventory::{
    Reservation, ReservationStatus, Reservations, ReserveRequest, SetStock, Stock, StockItem,
    Unreservation, UnreserveRequest,
};
pub use ledger::{Answer, Ledger, LedgerEntry, REPLAYED_HEADER};
pub use payment::{
    Charge, ChargeRequest, ChargeStatus, Charges, DeclineStatus, DeclinedUser, Declines, Refund,
    RefundRequest, SetDecline,
};

/// The three simulated services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceName {
    Inventory,
    Payment,
    Fulfilment,
}

impl ServiceName {
    pub const ALL: [ServiceName; 3] = [
        ServiceName::Inventory,
        ServiceName::Payment,
        ServiceName::Fulfilment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Inventory => "inventory",
            ServiceName::Payment => "payment",
            ServiceName::Fulfilment => "fulfilment",
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceName {
    type Err = Rejection;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL
            .into_iter()
            .find(|service| service.as_str() == name)
            .ok_or_else(|| Rejection::unknown_service(name))
    }
}

/// A handle on the simulated services: their database pool and their live
/// fault settings. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct Services {
    pub(crate) db: store::Db,
    pub(crate) faults: faults::FaultBoard,
}

impl Services {
    /// Connects to `database_url` (`sqlite:path/to/file.db` — created if
    /// missing — or `postgres://...`) and applies the services' migrations.
    /// Faults start switched off. Does not seed the catalogue: call
    /// [`Services::seed_default_catalogue`] for that.
    pub async fn open(database_url: &str) -> Result<Services, Error> {
        Ok(Services {
            db: store::Db::connect(database_url).await?,
            faults: faults::FaultBoard::default(),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.db.backend()
    }

    /// Closes the database pool (for a clean shutdown or before dropping a
    /// test database).
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// The current faults of one service.
    pub fn faults(&self, service: ServiceName) -> FaultConfig {
        self.faults.get(service)
    }

    /// The current faults of every service.
    pub fn all_faults(&self) -> AllFaults {
        self.faults.all()
    }

    /// Changes one service's faults; 422 (and no change) if any value is
    /// out of range.
    pub fn update_faults(
        &self,
        service: ServiceName,
        update: &FaultUpdate,
    ) -> Result<FaultConfig, Error> {
        Ok(self.faults.update(service, update)?)
    }

    /// The newest `limit` entries of a service's ledger.
    pub async fn ledger(&self, service: ServiceName, limit: i64) -> Result<Ledger, Error> {
        ledger::list(&self.db, service, limit).await
    }
}
