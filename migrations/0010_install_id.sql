-- Schema v10 (issue 17): each database is an install with a random id that names its keychain
-- entries, and it records which processor entries it wrote. Before, entries were named by a
-- hash of the data directory's path plus the processor id: a data directory deleted and
-- recreated at the same path (ids restart at 1) read the deleted install's secrets.

-- One row. `install_id` is 128 random bits (hex), inserted by migrate.rs in this migration's
-- transaction (the OS random number generator, not SQL's). `keychain_namespace` prefixes every
-- keychain entry of the install: the install id for a database created at v10 or later; for a
-- database upgraded from before v10 it stays NULL until the first open, which records the old
-- data-directory namespace its entries are filed under (then fixed: moving the directory no
-- longer loses them). `upgraded` says which of the two it was.
CREATE TABLE install (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    install_id         TEXT NOT NULL,
    keychain_namespace TEXT,
    upgraded           INTEGER NOT NULL CHECK (upgraded IN (0, 1)),
    created_at         INTEGER NOT NULL
);

-- The processor entries (signing secret, endpoint token, API key) this database wrote: names
-- only, never a secret. A processor reads only entries recorded here, so a new processor never
-- sees one left by another (a deleted processor whose id came back, another install); entries
-- of the namespace not recorded here are orphans (`privacy-desk doctor`). Deleting a processor
-- forgets its entries.
CREATE TABLE keychain_entries (
    processor_id INTEGER NOT NULL REFERENCES processors (id) ON DELETE CASCADE,
    -- signing-secret, endpoint-token or api-key.
    kind         TEXT NOT NULL,
    PRIMARY KEY (processor_id, kind)
) WITHOUT ROWID;

-- An upgraded database's processors wrote their entries before this record existed.
INSERT INTO keychain_entries (processor_id, kind)
SELECT p.id, k.kind
FROM processors p,
     (SELECT 'signing-secret' AS kind UNION ALL SELECT 'endpoint-token' UNION ALL SELECT 'api-key') k;
