-- The engine's tables, as in migrations/sqlite/0001_engine.sql. One row per
-- workflow id holds its current run; earlier runs are summarised in
-- workflow_runs; histories are append-only.
--
-- Integers are BIGINT throughout: the shared SQL code binds and decodes only
-- i64, String and options of them. Workflow ids use the "C" collation, so
-- that they sort and compare by code point as in SQLite: the id-prefix
-- search is a range (`id >= p AND id < p || U+10FFFF`) and list pages are
-- ordered by id.

CREATE TABLE workflows (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    run              BIGINT  NOT NULL,
    workflow_type    TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    input            TEXT    NOT NULL,
    result           TEXT,
    error            TEXT,
    cancel_requested BIGINT  NOT NULL DEFAULT 0,
    current_step     TEXT,
    retry_mode       TEXT,
    -- id of the last event of the current run; bumped by every transition
    version          BIGINT  NOT NULL,
    -- id of the last event a workflow task must consume
    inputs_through   BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    closed_at        BIGINT
);
CREATE INDEX workflows_by_created ON workflows (created_at DESC, id DESC);
CREATE INDEX workflows_by_status ON workflows (status, created_at DESC, id DESC);
CREATE INDEX workflows_by_type ON workflows (workflow_type, created_at DESC, id DESC);

CREATE TABLE workflow_runs (
    id          TEXT COLLATE "C" NOT NULL,
    run         BIGINT  NOT NULL,
    status      TEXT    NOT NULL,
    error       TEXT,
    retry_mode  TEXT,
    created_at  BIGINT  NOT NULL,
    closed_at   BIGINT,
    PRIMARY KEY (id, run)
);

CREATE TABLE events (
    workflow_id TEXT COLLATE "C" NOT NULL,
    run         BIGINT  NOT NULL,
    id          BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    time        BIGINT  NOT NULL,
    PRIMARY KEY (workflow_id, run, id)
);

-- The work queue: workflow tasks, activity attempts and timers. `due_at` is
-- when a task may be claimed: its visible time, a backoff's end, a timer's
-- fire time, or, while leased, the lease's expiry. Claims pick the earliest
-- due tasks of one kind (`kind = $k AND due_at <= $now ORDER BY due_at`,
-- `FOR UPDATE SKIP LOCKED`), which `tasks_due` serves.
CREATE TABLE tasks (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('workflow', 'activity', 'timer')),
    workflow_id    TEXT COLLATE "C" NOT NULL,
    run            BIGINT  NOT NULL,
    seq            BIGINT  NOT NULL,
    name           TEXT    NOT NULL,
    input          TEXT,
    options        TEXT,
    attempt        BIGINT  NOT NULL DEFAULT 1,
    max_attempts   BIGINT  NOT NULL DEFAULT 0,
    timeout_ms     BIGINT  NOT NULL DEFAULT 0,
    due_at         BIGINT  NOT NULL,
    lease_token    TEXT,
    last_error     TEXT,
    last_failed_at BIGINT,
    scheduled_at   BIGINT  NOT NULL,
    UNIQUE (workflow_id, run, kind, seq)
);
CREATE INDEX tasks_due ON tasks (kind, due_at);
