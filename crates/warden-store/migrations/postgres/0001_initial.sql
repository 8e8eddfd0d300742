-- Warden schema 1 (PostgreSQL). Mirrors ../sqlite/0001_initial.sql column for column; the
-- conformance suite checks that both agree. Times are microseconds since the Unix epoch (UTC);
-- each object keeps its full JSON body and its version, and every version is kept in
-- object_versions.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    org_type TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);

CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    UNIQUE (kind, name)
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    category TEXT NOT NULL,
    subtype TEXT NOT NULL,
    province TEXT,
    assigned_to TEXT REFERENCES organisations (id),
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX cases_status ON cases (status, created_us);
CREATE INDEX cases_province ON cases (province, created_us);
CREATE INDEX cases_assigned ON cases (assigned_to, created_us);
CREATE INDEX cases_created ON cases (created_us, id);

-- Normalised indicators of each case: correlation finds open cases by value.
CREATE TABLE case_indicators (
    case_id TEXT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, value)
);
CREATE INDEX case_indicators_value ON case_indicators (kind, value);

CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    case_id TEXT REFERENCES cases (id),
    reporter_org TEXT NOT NULL REFERENCES organisations (id),
    category TEXT NOT NULL,
    province TEXT,
    self_handled BIGINT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX reports_case ON reports (case_id);
CREATE INDEX reports_reporter ON reports (reporter_org, created_us);

CREATE TABLE measures (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    notice_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    recipient_org TEXT NOT NULL REFERENCES organisations (id),
    deciding_org TEXT NOT NULL REFERENCES organisations (id),
    status TEXT NOT NULL,
    overdue BIGINT NOT NULL,
    block_status TEXT,
    target_kind TEXT,
    target_value TEXT,
    deadline_us BIGINT NOT NULL,
    expires_us BIGINT,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX measures_case ON measures (case_id);
CREATE INDEX measures_recipient ON measures (recipient_org, status);
CREATE INDEX measures_deadline ON measures (overdue, deadline_us);
CREATE INDEX measures_block ON measures (block_status, expires_us);

CREATE TABLE appeals (
    id TEXT PRIMARY KEY,
    measure_id TEXT NOT NULL REFERENCES measures (id),
    deciding_org TEXT NOT NULL REFERENCES organisations (id),
    status TEXT NOT NULL,
    reply_due_us BIGINT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX appeals_measure ON appeals (measure_id);
CREATE INDEX appeals_org ON appeals (deciding_org, status);

-- Every version of every object: nothing is overwritten without a trace.
CREATE TABLE object_versions (
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    PRIMARY KEY (subject_type, subject_id, version)
);

-- The audit trail: a hash chain, each entry's hash covering its predecessor's.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_us BIGINT NOT NULL,
    actor TEXT NOT NULL,
    actor_org TEXT,
    event TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit_log (subject_type, subject_id, seq);

-- One row; updating it serialises appends to the chain.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
