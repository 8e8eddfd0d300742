-- Feed indicators, narrowed: who brought an indicator first and last, and when, is a batch
-- (an import's write at one moment) referenced by number, instead of three UUIDs and two
-- timestamps on every row. A bulk import writes about a fifth of the bytes it did.
CREATE TABLE feed_batches (
    n INTEGER PRIMARY KEY,
    import_id TEXT NOT NULL REFERENCES imports (id),
    at_us BIGINT NOT NULL
);
INSERT INTO feed_batches (import_id, at_us)
    SELECT first_import, first_seen_us FROM feed_indicators
    UNION
    SELECT last_import, last_seen_us FROM feed_indicators;
-- Batch numbers are not declared as foreign keys: only the store writes them, with the batch
-- in the same transaction, and a check per row would cost a lookup per indicator.
CREATE TABLE feed_sightings (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    sightings BIGINT NOT NULL,
    first_batch BIGINT NOT NULL,
    last_batch BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
INSERT INTO feed_sightings (kind, value, sightings, first_batch, last_batch)
    SELECT f.kind, f.value, f.sightings, a.n, b.n
    FROM feed_indicators f
    JOIN feed_batches a ON a.import_id = f.first_import AND a.at_us = f.first_seen_us
    JOIN feed_batches b ON b.import_id = f.last_import AND b.at_us = f.last_seen_us;
DROP TABLE feed_indicators;
-- What each batch brought first (and so how many rows a batch added): batch numbers only grow,
-- so new rows append at the index's end.
CREATE INDEX feed_sightings_first ON feed_sightings (first_batch);
