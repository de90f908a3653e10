-- Migration 0014: the review of an access package before it is released (GDPR Art. 15(4):
-- the rights and freedoms of others). `access_packages` holds, per request, where the last
-- package built was written and its SHA-256 (what the review reads back and checks), and once
-- released, the released file and its SHA-256. `access_withheld` holds what the officer left
-- out of it: a record (`field` NULL) or one field of a record, with the ground and, for
-- `other`, the reason in words (the cover letter tells the data subject). Record ids are the
-- package's own (`activity:evt_…`, `stripe_charges:ch_…`, `email_history:2`): no values.
CREATE TABLE access_packages (
    request_id              INTEGER PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    path                    TEXT NOT NULL,
    sha256                  TEXT NOT NULL,
    built_at                INTEGER NOT NULL,
    -- Stripe objects of other customers left out when it was built (a count).
    foreign_objects_dropped INTEGER NOT NULL DEFAULT 0,
    released_at             INTEGER,
    released_path           TEXT,
    released_sha256         TEXT
);

CREATE TABLE access_withheld (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    record_id  TEXT NOT NULL,
    -- NULL: the whole record; else a field (`name`, `personal_data.address`).
    field      TEXT,
    ground     TEXT NOT NULL CHECK (ground IN ('other_person', 'legal_privilege', 'other')),
    text       TEXT,
    created_at INTEGER NOT NULL,
    CHECK (ground <> 'other' OR length(trim(text)) > 0)
);
CREATE UNIQUE INDEX access_withheld_target ON access_withheld (request_id, record_id, ifnull(field, ''));
