-- The blocklist change sequence: every time a block measure starts or stops being listed, one
-- row. Its serial is the RPZ SOA serial and the `since` of deltas; servers follow it to keep
-- their in-memory matchers current.
CREATE TABLE block_changes (
    serial BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    measure_id TEXT NOT NULL REFERENCES measures (id),
    listed BIGINT NOT NULL,
    at_us BIGINT NOT NULL
);
CREATE INDEX block_changes_measure ON block_changes (measure_id, serial);
-- How far a block reaches, and the serial at which it was (last) listed.
ALTER TABLE measures ADD COLUMN scope TEXT;
ALTER TABLE measures ADD COLUMN range_last TEXT;
ALTER TABLE measures ADD COLUMN listed_serial BIGINT;
-- Active blocks not yet put up for re-review before they expire.
ALTER TABLE measures ADD COLUMN review_pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX measures_review ON measures (review_pending, expires_us);
-- Operator-managed allow-list entries (false-positive guards beside the shipped lists).
CREATE TABLE allowlist_entries (
    id TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    active BIGINT NOT NULL,
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX allowlist_active ON allowlist_entries (active);
