-- Schema v12: the background jobs' last and next runs (core/src/jobs), for `privacy-desk jobs`
-- and the Dashboard, which may be another process than the one running the jobs. One row per
-- job; written after each run. `last_error` holds the error's message, which never carries
-- personal data or secrets (ids and field names only).
CREATE TABLE jobs (
    name        TEXT PRIMARY KEY,
    last_run_at INTEGER,
    last_ok_at  INTEGER,
    next_run_at INTEGER,
    last_error  TEXT,
    -- Runs since the process started it, and how many of the last ones failed in a row.
    runs        INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    -- What the last run did, in words (`3 customers looked up`), or why it waits.
    summary     TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
