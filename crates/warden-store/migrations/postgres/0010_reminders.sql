-- Reminders before a deadline: once a quarter of a notice's time is left and the recipient
-- has not reported back, it is reminded once.
ALTER TABLE measures ADD COLUMN remind_us BIGINT;
ALTER TABLE measures ADD COLUMN remind_pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX measures_remind ON measures (remind_pending, remind_us);
