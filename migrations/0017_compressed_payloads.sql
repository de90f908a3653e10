-- Schema v17: `events.data` holds new payloads compressed (store/payload.rs): a BLOB of a
-- format byte and a zstd frame against a fixed dictionary. Rows stored before keep their JSON
-- as TEXT and are read as they are; nothing is rewritten here. The version says that a build
-- which cannot read the BLOBs must not open this database.
SELECT 1;
