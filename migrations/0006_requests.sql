-- Schema v6: data subject requests, erasure runs, suppression, retained financial records and
-- the hash-chained audit trail. After an erasure nothing here holds the subject's email or
-- name: requests keep only a keyed hash (HMAC-SHA256, key in the OS keychain).

CREATE TABLE requests (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('access', 'erasure', 'rectification', 'portability')),
    -- Normalised email; NULL once the subject is erased (subject_hash stays).
    email                TEXT,
    -- Keyed hash of the normalised email.
    subject_hash         TEXT NOT NULL,
    regime               TEXT NOT NULL CHECK (regime IN ('gdpr', 'uk-gdpr', 'ccpa')),
    -- Unix ms; received_at is the start of the day of receipt (UTC), due_at the start of the due day.
    received_at          INTEGER NOT NULL,
    due_at               INTEGER NOT NULL,
    extended_at          INTEGER,
    extension_reason     TEXT,
    status               TEXT NOT NULL CHECK (status IN ('received', 'identity_verified', 'in_progress', 'completed', 'rejected')),
    identity_method      TEXT,
    identity_verified_at INTEGER,
    notes                TEXT NOT NULL DEFAULT '',
    completed_at         INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX requests_by_due ON requests (status, due_at);
CREATE INDEX requests_by_subject ON requests (subject_hash);

-- The persisted state machine of an erasure: the plan and the steps done (JSON, no personal
-- data: subject id, processor ids, Stripe ids, keyed hashes).
CREATE TABLE erasure_runs (
    request_id INTEGER PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Keyed hashes of erased subjects' emails and processor customer ids: later events naming
-- them are stored without personal data and not linked.
CREATE TABLE suppressions (
    hash       TEXT PRIMARY KEY,
    request_id INTEGER REFERENCES requests (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX suppressions_by_request ON suppressions (request_id);

-- Financial records kept after an erasure (legal obligation), pseudonymised: amounts,
-- currency, dates and Stripe ids; no email, name or address. Purged after retain_until.
CREATE TABLE retained_records (
    id           INTEGER PRIMARY KEY,
    request_id   INTEGER REFERENCES requests (id) ON DELETE SET NULL,
    subject_hash TEXT NOT NULL,
    processor_id INTEGER REFERENCES processors (id) ON DELETE SET NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    object_id    TEXT,
    customer_ref TEXT,
    occurred_at  INTEGER NOT NULL,
    fields       TEXT NOT NULL,
    legal_basis  TEXT NOT NULL,
    retain_until INTEGER NOT NULL
);
CREATE INDEX retained_records_by_until ON retained_records (retain_until);
CREATE INDEX retained_records_by_request ON retained_records (request_id);
CREATE INDEX retained_records_by_processor ON retained_records (processor_id);

-- The audit trail: append-only, each entry's HMAC covers the previous entry's (a chain).
-- The triggers stop accidents; `audit verify` detects tampering even without them.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    request_id INTEGER,
    subject    TEXT,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_by_request ON audit_log (request_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
