-- Operator sessions of the dashboard (app/src/auth.rs). They live in this
-- database, beside the simulated services, because it is the one database
-- every steadfast process behind one address already opens: a session then
-- outlives a restart and any of those processes recognises it.
-- `id` is the cookie's random value; `csrf` the session's CSRF token;
-- `expires_at_ms` (milliseconds since the Unix epoch) moves forward on
-- every use (idle expiry); `flash` is the JSON outcome of the last action
-- posted without JavaScript, shown once.

CREATE TABLE dashboard_sessions (
    id            TEXT PRIMARY KEY NOT NULL,
    csrf          TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    flash         TEXT
);

CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at_ms);
