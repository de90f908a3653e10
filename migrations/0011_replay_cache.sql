-- Schema v11 (v10 is another change's): the replay cache. An event's (processor, event id)
-- stays known after the event itself is deleted (activity-log retention, an erasure, the
-- purge of retained records), so that a replayed or re-sent delivery of it is answered
-- `duplicate` instead of being stored again as new.
--
-- Each event carries `replay_hash`: a keyed hash (HMAC-SHA256 with the data directory's hash
-- key from the keychain, first 16 bytes) of its processor and event id, computed before the
-- insert (secrets/keyed_hash.rs `HashKey::replay`). Live events dedupe on their UNIQUE
-- (processor_id, event_id); when one is deleted, the trigger below keeps its hash in
-- `replay_cache`, in the same statement as the DELETE: no deletion path can forget it, and
-- the ids are not kept in clear. Events stored before v11 have no hash (NULL) and leave none.
-- `seen_at` is the event's received_at: entries expire (activity::purge_older_than) a horizon
-- after the retention (docs/data-minimisation.md).
ALTER TABLE events ADD COLUMN replay_hash BLOB;

CREATE TABLE replay_cache (
    hash    BLOB PRIMARY KEY,
    seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX replay_cache_by_time ON replay_cache (seen_at);

CREATE TRIGGER events_leave_replay_hash AFTER DELETE ON events
WHEN OLD.replay_hash IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO replay_cache (hash, seen_at) VALUES (OLD.replay_hash, OLD.received_at);
END;
