-- Schema v3: indexes for the desktop screens (dashboard per-day counts, status filter).
CREATE INDEX events_by_received ON events (received_at);
CREATE INDEX events_by_status ON events (status, occurred_at);
CREATE INDEX deliveries_by_status ON deliveries (status_code, received_at);
