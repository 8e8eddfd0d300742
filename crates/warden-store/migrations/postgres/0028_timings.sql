-- How long each step of a case and of a notice took (Art. 4 timeliness), one narrow row per
-- case and per measure, kept by every commit that writes one: the timeliness report and the
-- dashboard aggregate these in SQL instead of reading every body. Durations are whole
-- milliseconds between the two instants, each rounded to the millisecond; NULL while the
-- later step has not happened.
CREATE TABLE case_timings (
    case_id TEXT PRIMARY KEY REFERENCES cases (id),
    opened_us BIGINT NOT NULL,
    province TEXT,
    assigned_to TEXT,
    category TEXT NOT NULL,
    -- Opened → determined; determined → decided.
    determine_ms BIGINT,
    decide_ms BIGINT
);
CREATE INDEX case_timings_opened ON case_timings (opened_us);
CREATE TABLE measure_timings (
    measure_id TEXT PRIMARY KEY REFERENCES measures (id),
    case_id TEXT NOT NULL REFERENCES cases (id),
    decided_us BIGINT NOT NULL,
    province TEXT,
    recipient_org TEXT NOT NULL,
    determining_org TEXT NOT NULL,
    overdue BIGINT NOT NULL,
    -- Decided → acknowledged; decided → first feedback; first feedback → first passed
    -- verification.
    acknowledge_ms BIGINT,
    report_ms BIGINT,
    verify_ms BIGINT
);
CREATE INDEX measure_timings_case ON measure_timings (case_id);
CREATE INDEX measure_timings_decided ON measure_timings (decided_us);

INSERT INTO case_timings
SELECT id, round(extract(epoch FROM (b ->> 'opened_at')::timestamptz) * 1000000)::bigint,
       province, assigned_to, category,
       round(extract(epoch FROM (b -> 'determination' ->> 'at')::timestamptz) * 1000)::bigint
         - round(extract(epoch FROM (b ->> 'opened_at')::timestamptz) * 1000)::bigint,
       round(extract(epoch FROM (b -> 'decision' ->> 'at')::timestamptz) * 1000)::bigint
         - round(extract(epoch FROM (b -> 'determination' ->> 'at')::timestamptz) * 1000)::bigint
FROM (SELECT id, province, assigned_to, category, body::jsonb AS b FROM cases) c;

INSERT INTO measure_timings
SELECT id, case_id, round(extract(epoch FROM decided) * 1000000)::bigint, b ->> 'province',
       recipient_org, b -> 'determining_org' ->> 'id', overdue,
       round(extract(epoch FROM (b ->> 'acknowledged_at')::timestamptz) * 1000)::bigint
         - round(extract(epoch FROM decided) * 1000)::bigint,
       round(extract(epoch FROM first_feedback) * 1000)::bigint
         - round(extract(epoch FROM decided) * 1000)::bigint,
       round(extract(epoch FROM first_pass) * 1000)::bigint
         - round(extract(epoch FROM first_feedback) * 1000)::bigint
FROM (
    SELECT id, case_id, recipient_org, overdue, b, (b ->> 'decided_at')::timestamptz AS decided,
           (b -> 'feedback' -> 0 ->> 'filed_at')::timestamptz AS first_feedback,
           (SELECT (v ->> 'at')::timestamptz
              FROM jsonb_array_elements(b -> 'verifications') WITH ORDINALITY AS e (v, i)
             WHERE v ->> 'result' = 'passed' ORDER BY i LIMIT 1) AS first_pass
    FROM (SELECT id, case_id, recipient_org, overdue, body::jsonb AS b FROM measures) m
) t;
