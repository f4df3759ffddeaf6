-- Simulated downstream services (inventory, payment, fulfilment).
-- Every table is prefixed by its service so that the services may share a
-- database with the engine. Times are milliseconds since the Unix epoch.
-- Integers are BIGINT throughout so that both backends decode them as i64.

CREATE TABLE services_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Inventory -----------------------------------------------------------------

CREATE TABLE inventory_items (
    item_id          TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    stock            BIGINT NOT NULL CHECK (stock >= 0),
    reserved         BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);

CREATE TABLE inventory_reservations (
    reservation_id   TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL,
    item_id          TEXT NOT NULL REFERENCES inventory_items (item_id),
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_cents BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('held', 'released')),
    idempotency_key  TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    released_at_ms   BIGINT
);
CREATE INDEX inventory_reservations_by_order ON inventory_reservations (order_id);

CREATE TABLE inventory_ledger (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    payload         JSONB NOT NULL,
    status          BIGINT NOT NULL,
    response        TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);

-- Payment -------------------------------------------------------------------

CREATE TABLE payment_charges (
    charge_id       TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    status          TEXT NOT NULL CHECK (status IN ('captured', 'refunded')),
    idempotency_key TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    refunded_at_ms  BIGINT
);
CREATE INDEX payment_charges_by_order ON payment_charges (order_id);

CREATE TABLE payment_declines (
    user_name     TEXT PRIMARY KEY,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE payment_ledger (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    payload         JSONB NOT NULL,
    status          BIGINT NOT NULL,
    response        TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);

-- Fulfilment ----------------------------------------------------------------

CREATE TABLE fulfilment_shipments (
    tracking_id     TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL,
    item_id         TEXT NOT NULL,
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    address         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);
CREATE INDEX fulfilment_shipments_by_order ON fulfilment_shipments (order_id);

CREATE TABLE fulfilment_ledger (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    payload         JSONB NOT NULL,
    status          BIGINT NOT NULL,
    response        TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);
