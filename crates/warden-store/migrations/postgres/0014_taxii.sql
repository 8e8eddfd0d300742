-- TAXII 2.1: "added after" reads the change sequence by time.
CREATE INDEX block_changes_at ON block_changes (at_us, serial);
-- The status resource of each envelope POSTed to a TAXII collection.
CREATE TABLE taxii_statuses (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    created_us BIGINT NOT NULL,
    body TEXT NOT NULL
);
