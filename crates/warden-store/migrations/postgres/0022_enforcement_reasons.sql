-- Art. 12: a measure may raise several enforcement records (its notice overdue, a failed
-- verification, the organisation's repeated failures), one for each reason.
ALTER TABLE enforcements ADD COLUMN reason TEXT NOT NULL DEFAULT 'overdue';
DROP INDEX enforcements_measure;
CREATE UNIQUE INDEX enforcements_measure_reason ON enforcements (measure_id, reason);
