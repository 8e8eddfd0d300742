-- Signed notices (Art. 8) and the authorities' signing keys. Private keys are stored only
-- encrypted under the platform's master key, which is not in the database.

CREATE TABLE signing_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    retired_us BIGINT,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX signing_keys_org ON signing_keys (org_id, retired_us);

CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    measure_id TEXT NOT NULL REFERENCES measures (id),
    recipient_org TEXT NOT NULL REFERENCES organisations (id),
    notice_type TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX notices_measure ON notices (measure_id, created_us);
CREATE INDEX notices_recipient ON notices (recipient_org, created_us);
