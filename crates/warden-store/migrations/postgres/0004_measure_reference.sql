-- The public reference number of each measure (WD-YYYYMMDD-XXXXXXXXXXXX), quoted by people
-- who appeal without an account.
ALTER TABLE measures ADD COLUMN reference TEXT;
CREATE UNIQUE INDEX measures_reference ON measures (reference);
