-- Bulk feed imports, and what they brought in: each indicator once, its repeats (within and
-- across feeds) counted as sightings. Keyed by the indicator alone (no rowid), so an insert
-- writes one B-tree.
CREATE TABLE imports (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    started_us BIGINT NOT NULL,
    finished_us BIGINT,
    lines BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    new_indicators BIGINT NOT NULL
);
CREATE TABLE feed_indicators (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    sightings BIGINT NOT NULL,
    first_seen_us BIGINT NOT NULL,
    last_seen_us BIGINT NOT NULL,
    first_org TEXT NOT NULL REFERENCES organisations (id),
    first_import TEXT NOT NULL REFERENCES imports (id),
    last_import TEXT NOT NULL REFERENCES imports (id),
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
