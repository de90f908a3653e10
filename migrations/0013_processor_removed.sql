-- A removed processor: kept for the Processing Activity Log (its events stay) and for the
-- history of the RoPA, but no longer receiving (its token hash is cleared) and no longer listed
-- among the active ones.
ALTER TABLE processors ADD COLUMN removed_at INTEGER;
