-- People administered in the console: one-time links (invitations and password resets; the
-- link holds a secret, the row its hash), each account's failed sign-ins and lock (shared by
-- every node), TOTP second factors (the secret sealed under the master key; the last time step
-- accepted, so that a code is used once), and when each API token was last used.
CREATE TABLE one_time_links (
    id_hash TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    purpose TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    used_us BIGINT
);
CREATE INDEX one_time_links_principal ON one_time_links (principal_id);
CREATE TABLE sign_in_failures (
    principal_id TEXT PRIMARY KEY REFERENCES principals (id),
    failures BIGINT NOT NULL,
    window_start_us BIGINT NOT NULL,
    locked_until_us BIGINT
);
CREATE TABLE second_factors (
    principal_id TEXT PRIMARY KEY REFERENCES principals (id),
    sealed_secret TEXT NOT NULL,
    confirmed_us BIGINT,
    last_step BIGINT NOT NULL
);
ALTER TABLE api_tokens ADD COLUMN last_used_us BIGINT;
