-- Console sessions, server-side: the cookie carries a random secret, the database only its
-- hash. A session ends by signing out (ended_us) or at its expiry; rows are kept.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    csrf TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    ended_us BIGINT
);
CREATE INDEX sessions_principal ON sessions (principal_id);
