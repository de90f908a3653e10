-- Backups: every attempt (the officer's "Back up now", the schedule, `privacy-desk backup`),
-- so the Dashboard and `doctor` can show the last good one and a failed schedule. The file's
-- path is kept so that the schedule keeps only the last N it wrote; the error names the
-- folder or the cause, never a secret.
CREATE TABLE backups (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    trigger     TEXT    NOT NULL CHECK (trigger IN ('manual', 'scheduled')),
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    path        TEXT,
    bytes       INTEGER,
    sha256      TEXT,
    error       TEXT
);
CREATE INDEX backups_by_time ON backups (at);
