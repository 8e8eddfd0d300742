-- The versions of one kind of object in the order they were written (the rowid): the TAXII
-- threats collection pages through the versions of cases.
CREATE INDEX object_versions_kind ON object_versions (subject_type);
