-- Bulletins to members and publications to the public (Art. 6).
CREATE TABLE bulletins (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    issuer_org TEXT NOT NULL REFERENCES organisations (id),
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX bulletins_kind ON bulletins (kind, created_us);
