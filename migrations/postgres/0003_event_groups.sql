-- One row may hold several events, as in migrations/sqlite/0004: the
-- consecutive events one transition appends to a run, as a JSON array in
-- `payload`, from `id` through `last_id`, kinds comma-separated in `kind`.
-- Rows of one event leave `last_id` NULL. (Adding a NULL column rewrites
-- nothing.)

ALTER TABLE events ADD COLUMN last_id BIGINT;
