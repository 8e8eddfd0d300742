-- Checkpoints are numbered and each is signed over the previous one's digest, so a missing
-- or reordered checkpoint shows. Those signed before this carry no link (prev = ''); they
-- keep their numbers in the order they were made.
ALTER TABLE audit_checkpoints ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_checkpoints ADD COLUMN prev TEXT NOT NULL DEFAULT '';
UPDATE audit_checkpoints SET number = (SELECT COUNT(*) FROM audit_checkpoints c WHERE c.seq <= audit_checkpoints.seq);
CREATE UNIQUE INDEX audit_checkpoint_number ON audit_checkpoints (number);

-- What the checkpoint job found when the trail since the last checkpoint did not verify:
-- one row per first broken entry, seen again on each later run.
CREATE TABLE audit_alerts (
    first_broken BIGINT PRIMARY KEY,
    problem TEXT NOT NULL,
    detected_us BIGINT NOT NULL,
    last_seen_us BIGINT NOT NULL
);
