-- A case's notices newest first, a page at a time (the case page): a range of this index
-- instead of reading and sorting every measure of a campaign's case. It also serves every
-- look-up by case, which the index it replaces served.
CREATE INDEX measures_case_created ON measures (case_id, created_us, id);
DROP INDEX measures_case;
