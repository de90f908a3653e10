-- Schema v4: state of the Stripe API integration (no secrets: keys and signing secrets are in
-- the OS keychain; the webhook URL holds a token, so only the public base URL is kept).

-- The webhook endpoint Privacy Desk registered at Stripe for a processor.
CREATE TABLE stripe_webhook_endpoints (
    processor_id       INTEGER PRIMARY KEY REFERENCES processors (id) ON DELETE CASCADE,
    stripe_endpoint_id TEXT NOT NULL,
    base_url           TEXT NOT NULL,
    livemode           INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- Backfill progress per resource: the last object id imported (Stripe's `starting_after`).
CREATE TABLE stripe_backfill (
    processor_id INTEGER NOT NULL REFERENCES processors (id) ON DELETE CASCADE,
    resource     TEXT NOT NULL,
    cursor       TEXT,
    imported     INTEGER NOT NULL DEFAULT 0,
    done         INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (processor_id, resource)
) WITHOUT ROWID;

-- Catch-up: the window of a run that has not finished (so an interrupted run is redone in
-- full), and the last run's counts for the dashboard.
CREATE TABLE stripe_catchup (
    processor_id    INTEGER PRIMARY KEY REFERENCES processors (id) ON DELETE CASCADE,
    pending_since   INTEGER,
    last_run_at     INTEGER,
    last_fetched    INTEGER NOT NULL DEFAULT 0,
    last_new        INTEGER NOT NULL DEFAULT 0,
    last_duplicates INTEGER NOT NULL DEFAULT 0
);
