-- The versions of one kind of object in the order they were written: the TAXII threats
-- collection pages through the versions of cases.
ALTER TABLE object_versions ADD COLUMN seq BIGSERIAL;
CREATE INDEX object_versions_kind ON object_versions (subject_type, seq);
