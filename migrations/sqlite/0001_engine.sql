-- The engine's tables. One row per workflow id holds its current run;
-- earlier runs are summarised in workflow_runs; histories are append-only.

CREATE TABLE workflows (
    id               TEXT    NOT NULL PRIMARY KEY,
    run              INTEGER NOT NULL,
    workflow_type    TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    input            TEXT    NOT NULL,
    result           TEXT,
    error            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    current_step     TEXT,
    retry_mode       TEXT,
    -- id of the last event of the current run; bumped by every transition
    version          INTEGER NOT NULL,
    -- id of the last event a workflow task must consume
    inputs_through   INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    closed_at        INTEGER
);
CREATE INDEX workflows_by_created ON workflows (created_at DESC, id DESC);
CREATE INDEX workflows_by_status ON workflows (status, created_at DESC, id DESC);
CREATE INDEX workflows_by_type ON workflows (workflow_type, created_at DESC, id DESC);

CREATE TABLE workflow_runs (
    id          TEXT    NOT NULL,
    run         INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    error       TEXT,
    retry_mode  TEXT,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    PRIMARY KEY (id, run)
) WITHOUT ROWID;

CREATE TABLE events (
    workflow_id TEXT    NOT NULL,
    run         INTEGER NOT NULL,
    id          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, run, id)
) WITHOUT ROWID;

-- The work queue: workflow tasks, activity attempts and timers. `due_at` is
-- when a task may be claimed: its visible time, a backoff's end, a timer's
-- fire time, or, while leased, the lease's expiry.
CREATE TABLE tasks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL CHECK (kind IN ('workflow', 'activity', 'timer')),
    workflow_id    TEXT    NOT NULL,
    run            INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    input          TEXT,
    options        TEXT,
    attempt        INTEGER NOT NULL DEFAULT 1,
    max_attempts   INTEGER NOT NULL DEFAULT 0,
    timeout_ms     INTEGER NOT NULL DEFAULT 0,
    due_at         INTEGER NOT NULL,
    lease_token    TEXT,
    last_error     TEXT,
    last_failed_at INTEGER,
    scheduled_at   INTEGER NOT NULL,
    UNIQUE (workflow_id, run, kind, seq)
);
CREATE INDEX tasks_due ON tasks (kind, due_at);
