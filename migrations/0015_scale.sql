-- Schema v15: queries whose cost grows with what they return, not with the log
-- (docs/benchmarks.md, "The app at scale").
--
-- 1. The event types seen, per source, and how many events there are per UTC day, type and
--    status: kept by triggers in the statement that inserts, updates or deletes an event (so
--    in its transaction, whatever the path: the receiver, a catch-up, an erasure, a purge).
--    A wildcard type (`customer.*`) is expanded to the exact types seen, one index range
--    each; the Activity Log's total is summed from whole days here plus the partial days at
--    the ends of a range from the index; the dashboard's per-day chart reads 30 days of it.
--    A UTC day is floor(occurred_at / 86400000) (also before 1970).
CREATE TABLE event_types (
    id         INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,
    event_type TEXT NOT NULL,
    UNIQUE (source, event_type)
);

CREATE TABLE event_counts (
    day     INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    status  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (day, type_id, status)
) WITHOUT ROWID;

INSERT INTO event_types (source, event_type) SELECT DISTINCT source, event_type FROM events;
INSERT INTO event_counts (day, type_id, status, n)
SELECT CASE WHEN e.occurred_at >= 0 THEN e.occurred_at / 86400000
            ELSE (e.occurred_at + 1) / 86400000 - 1 END,
       t.id, e.status, count(*)
FROM events e JOIN event_types t ON t.source = e.source AND t.event_type = e.event_type
GROUP BY 1, 2, 3;

CREATE TRIGGER events_count_insert AFTER INSERT ON events
BEGIN
    INSERT INTO event_types (source, event_type) VALUES (NEW.source, NEW.event_type)
        ON CONFLICT DO NOTHING;
    INSERT INTO event_counts (day, type_id, status, n)
    VALUES (CASE WHEN NEW.occurred_at >= 0 THEN NEW.occurred_at / 86400000
                 ELSE (NEW.occurred_at + 1) / 86400000 - 1 END,
            (SELECT id FROM event_types WHERE source = NEW.source AND event_type = NEW.event_type),
            NEW.status, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER events_count_delete AFTER DELETE ON events
BEGIN
    UPDATE event_counts SET n = n - 1
    WHERE day = CASE WHEN OLD.occurred_at >= 0 THEN OLD.occurred_at / 86400000
                     ELSE (OLD.occurred_at + 1) / 86400000 - 1 END
      AND type_id = (SELECT id FROM event_types
                     WHERE source = OLD.source AND event_type = OLD.event_type)
      AND status = OLD.status;
END;

CREATE TRIGGER events_count_update
AFTER UPDATE OF source, event_type, occurred_at, status ON events
WHEN OLD.status IS NOT NEW.status OR OLD.occurred_at IS NOT NEW.occurred_at
  OR OLD.source IS NOT NEW.source OR OLD.event_type IS NOT NEW.event_type
BEGIN
    UPDATE event_counts SET n = n - 1
    WHERE day = CASE WHEN OLD.occurred_at >= 0 THEN OLD.occurred_at / 86400000
                     ELSE (OLD.occurred_at + 1) / 86400000 - 1 END
      AND type_id = (SELECT id FROM event_types
                     WHERE source = OLD.source AND event_type = OLD.event_type)
      AND status = OLD.status;
    INSERT INTO event_types (source, event_type) VALUES (NEW.source, NEW.event_type)
        ON CONFLICT DO NOTHING;
    INSERT INTO event_counts (day, type_id, status, n)
    VALUES (CASE WHEN NEW.occurred_at >= 0 THEN NEW.occurred_at / 86400000
                 ELSE (NEW.occurred_at + 1) / 86400000 - 1 END,
            (SELECT id FROM event_types WHERE source = NEW.source AND event_type = NEW.event_type),
            NEW.status, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- 2. Indexes. By type, with its source first: one range per (source, type) pair serves a
--    type, a wildcard expanded to its types and a source (all of that source's types); it
--    replaces (event_type, occurred_at) and (source, occurred_at).
DROP INDEX events_by_type;
DROP INDEX events_by_source;
CREATE INDEX events_by_type ON events (source, event_type, occurred_at);

-- A subject's events through its external ids (access packages, erasure): every event that
-- names a customer, not only those waiting for theirs; the partial index of waiting events
-- is then redundant (linking looks a customer's events up here, and the few `unlinked` ones
-- are found through the status index).
DROP INDEX events_waiting_for_customer;
CREATE INDEX events_by_customer ON events (processor_id, customer_ref)
    WHERE customer_ref IS NOT NULL;

-- An email on events whose subject is gone (ON DELETE SET NULL): the only events an email
-- finds that the subject's id does not (a linked event's email is always one of its
-- subject's addresses). Nearly empty.
CREATE INDEX events_by_orphan_email ON events (subject_email)
    WHERE subject_id IS NULL AND subject_email IS NOT NULL;

-- The retention purge deletes by (processor, received_at): events_by_processor serves it,
-- and nothing else reads received_at alone any more (the dashboard counts by occurred_at).
DROP INDEX events_by_received;
