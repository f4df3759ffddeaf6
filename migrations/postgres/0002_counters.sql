-- Counters kept by every commit, so that the dashboard's totals and its
-- per-minute chart read a few rows instead of scanning every workflow.
-- `shard` spreads one counter over several rows (PostgreSQL: one per
-- writing process, so that processes do not queue on one row); readers sum.

CREATE TABLE workflow_counts (
    status TEXT    NOT NULL,
    shard  BIGINT  NOT NULL,
    n      BIGINT  NOT NULL,
    PRIMARY KEY (status, shard)
);

-- Workflows started and closed per minute since the epoch; `outcome` is
-- `started` or the status a run closed with.
CREATE TABLE workflow_minutes (
    minute  BIGINT  NOT NULL,
    outcome TEXT    NOT NULL,
    shard   BIGINT  NOT NULL,
    n       BIGINT  NOT NULL,
    PRIMARY KEY (minute, outcome, shard)
);

INSERT INTO workflow_counts (status, shard, n)
    SELECT status, 0, COUNT(*) FROM workflows GROUP BY status;
INSERT INTO workflow_minutes (minute, outcome, shard, n)
    SELECT created_at / 60000, 'started', 0, COUNT(*) FROM workflows GROUP BY created_at / 60000;
INSERT INTO workflow_minutes (minute, outcome, shard, n)
    SELECT closed_at / 60000, status, 0, COUNT(*) FROM workflows
    WHERE closed_at IS NOT NULL GROUP BY closed_at / 60000, status;
