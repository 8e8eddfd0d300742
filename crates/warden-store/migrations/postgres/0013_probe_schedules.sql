-- Verification probes that repeat: when each notice's next run is due.
ALTER TABLE measures ADD COLUMN probe_next_us BIGINT;
CREATE INDEX measures_probe ON measures (probe_next_us);
