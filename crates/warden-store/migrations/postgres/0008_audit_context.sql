-- Each audit entry also names the request that caused it and the SHA-256 of the object's
-- new state. Both are covered by the entry's hash when present.
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
ALTER TABLE audit_log ADD COLUMN state_hash TEXT;
