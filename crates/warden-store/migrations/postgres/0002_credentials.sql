-- Credentials: API tokens (stored only as SHA-256 hashes, with a visible prefix) and
-- argon2 password hashes of people who sign in to the console.

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    prefix TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL UNIQUE,
    expires_us BIGINT,
    revoked_us BIGINT,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX api_tokens_principal ON api_tokens (principal_id);

CREATE TABLE passwords (
    principal_id TEXT PRIMARY KEY REFERENCES principals (id),
    hash TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
