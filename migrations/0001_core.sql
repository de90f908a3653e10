-- Schema v1: processors, data subjects and the Processing Activity Log.
-- Times are INTEGER unix milliseconds (UTC). Personal data lives only in
-- subjects, subject_emails and the minimised `events.data` / `events.subject_email`.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE processors (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('stripe', 'webhook', 'manual')),
    -- Public, random: the path segment of the webhook URL. NULL for manual processors.
    endpoint_id TEXT UNIQUE,
    -- SHA-256 of the endpoint token; the token itself is kept in the OS keychain.
    token_hash  BLOB,
    -- Kind-specific configuration as JSON (never secrets).
    config      TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);

CREATE TABLE subjects (
    id         INTEGER PRIMARY KEY,
    -- Current email, normalised (trimmed, lower-case).
    email      TEXT NOT NULL UNIQUE,
    name       TEXT,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted_at_processor')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Every address a subject has had; the current one has replaced_at NULL.
CREATE TABLE subject_emails (
    email         TEXT PRIMARY KEY,
    subject_id    INTEGER NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    first_seen_at INTEGER NOT NULL,
    replaced_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX subject_emails_by_subject ON subject_emails (subject_id);

-- A processor's own id for a subject (Stripe `cus_…`).
CREATE TABLE external_ids (
    processor_id  INTEGER NOT NULL REFERENCES processors (id) ON DELETE CASCADE,
    external_id   TEXT NOT NULL,
    subject_id    INTEGER NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    first_seen_at INTEGER NOT NULL,
    PRIMARY KEY (processor_id, external_id)
) WITHOUT ROWID;
CREATE INDEX external_ids_by_subject ON external_ids (subject_id);

-- The Processing Activity Log: one row per event, stored before the 2xx.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    processor_id  INTEGER NOT NULL REFERENCES processors (id),
    source        TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    occurred_at   INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    livemode      INTEGER,
    -- pending → linked | unlinked (customer not known yet) | no_subject;
    -- awaiting_fetch for thin events.
    status        TEXT NOT NULL,
    -- The API object the event is about (`ch_…`), and the customer it names (`cus_…`).
    object_id     TEXT,
    customer_ref  TEXT,
    subject_id    INTEGER REFERENCES subjects (id) ON DELETE SET NULL,
    subject_email TEXT,
    -- Categories of personal data the event carried (e.g. "email,postal_address,phone").
    observed      TEXT NOT NULL DEFAULT '',
    -- The minimised payload (see docs/data-minimisation.md), JSON.
    data          TEXT NOT NULL,
    UNIQUE (processor_id, event_id)
);
CREATE INDEX events_by_time ON events (occurred_at, id);
CREATE INDEX events_by_subject ON events (subject_id, occurred_at);
CREATE INDEX events_by_type ON events (event_type, occurred_at);
CREATE INDEX events_by_source ON events (source, occurred_at);
CREATE INDEX events_by_processor ON events (processor_id, received_at);
CREATE INDEX events_by_object ON events (processor_id, object_id) WHERE object_id IS NOT NULL;
CREATE INDEX events_to_process ON events (status) WHERE status IN ('pending', 'awaiting_fetch');
CREATE INDEX events_waiting_for_customer ON events (processor_id, customer_ref) WHERE subject_id IS NULL AND customer_ref IS NOT NULL;
