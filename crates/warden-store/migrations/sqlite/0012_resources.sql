-- The resource registry: what each organisation declares it holds or sponsors, and the
-- authorities' decisions on those claims.
CREATE TABLE resource_claims (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX resource_claims_status ON resource_claims (status, kind);
CREATE INDEX resource_claims_org ON resource_claims (org_id);
