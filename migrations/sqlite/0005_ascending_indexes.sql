-- The listing indexes in ascending order. SQLite reads an index backwards
-- for `ORDER BY created_at DESC, id DESC` with the same plans (no sort), but
-- it writes one much more cheaply in ascending order: a new workflow's
-- entries go at the end of their range, where a full page is left full,
-- instead of at its start, where every split rebalances the neighbouring
-- pages. The descending indexes were ~30% of the pages an engine-mode
-- commit wrote to the WAL (BENCHMARKS.md). Rebuilding them reads the
-- table once, at the first start of the new binary.

DROP INDEX workflows_by_created;
DROP INDEX workflows_by_status;
DROP INDEX workflows_by_type;
CREATE INDEX workflows_by_created ON workflows (created_at, id);
CREATE INDEX workflows_by_status ON workflows (status, created_at, id);
CREATE INDEX workflows_by_type ON workflows (workflow_type, created_at, id);
