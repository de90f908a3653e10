-- Schema v5: Records of Processing Activities (GDPR Art. 30) and the compliance checklist.

-- One processing activity per purpose. Its Art. 30(1) fields are JSON (see ropa::ActivityFields)
-- so that a DPO's wording is kept as written; no personal data of data subjects lives here.
CREATE TABLE ropa_activities (
    id          INTEGER PRIMARY KEY,
    -- Set on the activities Privacy Desk proposes (`stripe:payments`), so each is created once.
    default_key TEXT UNIQUE,
    fields      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Which processors take part in an activity.
CREATE TABLE ropa_activity_processors (
    activity_id  INTEGER NOT NULL REFERENCES ropa_activities (id) ON DELETE CASCADE,
    processor_id INTEGER NOT NULL REFERENCES processors (id) ON DELETE CASCADE,
    PRIMARY KEY (activity_id, processor_id)
) WITHOUT ROWID;
CREATE INDEX ropa_activity_processors_by_processor ON ropa_activity_processors (processor_id);

-- The RoPA's processor sheet: service, location, DPA, transfer safeguards (JSON).
CREATE TABLE ropa_processors (
    processor_id INTEGER PRIMARY KEY REFERENCES processors (id) ON DELETE CASCADE,
    fields       TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- The compliance checklist: when each step was done and the evidence for it.
CREATE TABLE compliance_checklist (
    key        TEXT PRIMARY KEY,
    done_on    TEXT,
    evidence   TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
