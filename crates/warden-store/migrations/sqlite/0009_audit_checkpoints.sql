-- Signed checkpoints of the audit chain: the head (sequence and hash) at a time, signed with
-- the platform key. Rewriting the chain after a checkpoint no longer matches its signature.
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
