-- Schema v2: every request the receiver answered, for troubleshooting.
-- Capped by size and age (see store::deliveries::prune) so junk traffic cannot fill the disk.
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    status_code  INTEGER NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    event_id     TEXT,
    processor_id INTEGER REFERENCES processors (id) ON DELETE SET NULL
);
CREATE INDEX deliveries_by_time ON deliveries (received_at);
CREATE INDEX deliveries_by_processor ON deliveries (processor_id);
