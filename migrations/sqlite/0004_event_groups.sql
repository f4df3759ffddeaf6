-- One row may hold several events: the consecutive events one transition
-- appends to a run (an activity's outcome, the workflow task that saw it,
-- and what that task decided), as a JSON array in `payload`, from `id`
-- through `last_id`, with their kinds comma-separated in `kind`. Rows of
-- one event leave `last_id` NULL, as every row written before. A row per
-- event made the event inserts ~30% of the SQLite writer's time.
-- (Adding a NULL column rewrites nothing.)

ALTER TABLE events ADD COLUMN last_id INTEGER;
