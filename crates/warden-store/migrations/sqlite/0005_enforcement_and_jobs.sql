-- Enforcement records (Art. 12) and the lease table of background jobs: a job runs on one
-- server at a time, and a crashed server's lease expires.

CREATE TABLE enforcements (
    id TEXT PRIMARY KEY,
    measure_id TEXT NOT NULL REFERENCES measures (id),
    org_id TEXT NOT NULL REFERENCES organisations (id),
    authority_id TEXT NOT NULL REFERENCES organisations (id),
    province TEXT,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE UNIQUE INDEX enforcements_measure ON enforcements (measure_id);
CREATE INDEX enforcements_org ON enforcements (org_id, created_us);
CREATE INDEX enforcements_province ON enforcements (province, created_us);

CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    lease_owner TEXT,
    lease_until_us BIGINT,
    last_run_us BIGINT,
    next_run_us BIGINT NOT NULL
);
