-- What a node's start and the deadline job read stays an index range at national size
-- (millions of measures), instead of a sort or a scan of every measure.
-- The blocks in force in id order: a starting node pages through them.
CREATE INDEX measures_listed ON measures (id) WHERE block_status = 'active';
-- Notices still awaiting their recipient, by deadline: the deadline job's query.
CREATE INDEX measures_awaiting ON measures (deadline_us, id)
    WHERE overdue = 0 AND status IN ('issued', 'delivered', 'acknowledged', 'reopened');
-- Notices newest first (the notice lists), a page at a time.
CREATE INDEX measures_created ON measures (created_us, id);
-- Notices and overdue notices per recipient and province, kept by every commit of a measure:
-- the compliance figures without counting millions of measures on each read.
CREATE TABLE measure_tallies (
    recipient_org TEXT NOT NULL REFERENCES organisations (id),
    province TEXT NOT NULL,
    notices BIGINT NOT NULL,
    overdue BIGINT NOT NULL,
    PRIMARY KEY (recipient_org, province)
);
INSERT INTO measure_tallies (recipient_org, province, notices, overdue)
SELECT recipient_org, COALESCE(body::jsonb ->> 'province', ''), COUNT(*), SUM(overdue)
FROM measures GROUP BY recipient_org, COALESCE(body::jsonb ->> 'province', '');
