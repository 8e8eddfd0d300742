-- Emergencies (Art. 8, 13): the written notice follows a telephone call and is due by a set
-- time. `written_pending` is 1 while an emergency notice awaits delivery of its written form.
ALTER TABLE measures ADD COLUMN written_due_us BIGINT;
ALTER TABLE measures ADD COLUMN written_pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX measures_written ON measures (written_pending, written_due_us);
