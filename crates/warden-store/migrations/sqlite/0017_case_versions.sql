-- The versions of one kind of object in the order they were written: the TAXII threats
-- collection pages through the versions of cases. (Writers hold SQLite's write lock, so the
-- next number is the largest one plus one.)
ALTER TABLE object_versions ADD COLUMN seq BIGINT;
UPDATE object_versions SET seq = rowid;
CREATE INDEX object_versions_seq ON object_versions (seq);
CREATE INDEX object_versions_kind ON object_versions (subject_type, seq);
