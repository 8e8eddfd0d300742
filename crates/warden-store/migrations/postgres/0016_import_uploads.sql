-- Feeds uploaded over HTTP (POST /api/v1/imports): the body is kept in the database in
-- chunks until the import has read it, so any server sharing the database can run (or,
-- after a crash, resume) the job; and every rejected line with its reason, for the sender.
ALTER TABLE imports ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN detail TEXT;
CREATE INDEX imports_org ON imports (org_id, started_us);
CREATE INDEX imports_status ON imports (status);
CREATE TABLE import_chunks (
    import_id TEXT NOT NULL REFERENCES imports (id),
    seq BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (import_id, seq)
);
CREATE TABLE import_rejects (
    import_id TEXT NOT NULL REFERENCES imports (id),
    n BIGINT NOT NULL,
    place TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (import_id, n)
);
