-- Whether a later change of the same block followed. The current version of every block
-- (TAXII's default, `match[version]=last`) is then a range of a partial index, not a search
-- past every superseded change of the oldest blocks (hundreds of thousands at national size).
ALTER TABLE block_changes ADD COLUMN superseded BIGINT NOT NULL DEFAULT 0;
UPDATE block_changes SET superseded = 1 WHERE EXISTS (
    SELECT 1 FROM block_changes d
    WHERE d.measure_id = block_changes.measure_id AND d.serial > block_changes.serial
);
CREATE INDEX block_changes_current ON block_changes (serial) WHERE superseded = 0;
