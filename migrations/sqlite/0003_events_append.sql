-- Events in the order they were written: a rowid table appends each
-- commit's events to the same last pages, where the (workflow_id, run, id)
-- primary key put every workflow's events on a page of its own, so that a
-- commit of 50 transitions dirtied ~50 pages of the WAL. A unique index
-- keeps the history's key and serves its reads.

CREATE TABLE events_appended (
    seq         INTEGER PRIMARY KEY,
    workflow_id TEXT    NOT NULL,
    run         INTEGER NOT NULL,
    id          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    time        INTEGER NOT NULL
);
INSERT INTO events_appended (workflow_id, run, id, kind, payload, time)
    SELECT workflow_id, run, id, kind, payload, time FROM events ORDER BY time, workflow_id, run, id;
DROP TABLE events;
ALTER TABLE events_appended RENAME TO events;
CREATE UNIQUE INDEX events_by_workflow ON events (workflow_id, run, id);
