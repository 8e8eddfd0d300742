-- How long each step of a case and of a notice took (Art. 4 timeliness), one narrow row per
-- case and per measure, kept by every commit that writes one: the timeliness report and the
-- dashboard aggregate these in SQL instead of reading every body. Durations are whole
-- milliseconds between the two instants, each rounded to the millisecond; NULL while the
-- later step has not happened.
CREATE TABLE case_timings (
    case_id TEXT PRIMARY KEY REFERENCES cases (id),
    opened_us INTEGER NOT NULL,
    province TEXT,
    assigned_to TEXT,
    category TEXT NOT NULL,
    -- Opened → determined; determined → decided.
    determine_ms INTEGER,
    decide_ms INTEGER
);
CREATE INDEX case_timings_opened ON case_timings (opened_us);
CREATE TABLE measure_timings (
    measure_id TEXT PRIMARY KEY REFERENCES measures (id),
    case_id TEXT NOT NULL REFERENCES cases (id),
    decided_us INTEGER NOT NULL,
    province TEXT,
    recipient_org TEXT NOT NULL,
    determining_org TEXT NOT NULL,
    overdue INTEGER NOT NULL,
    -- Decided → acknowledged; decided → first feedback; first feedback → first passed
    -- verification.
    acknowledge_ms INTEGER,
    report_ms INTEGER,
    verify_ms INTEGER
);
CREATE INDEX measure_timings_case ON measure_timings (case_id);
CREATE INDEX measure_timings_decided ON measure_timings (decided_us);

INSERT INTO case_timings
SELECT id, CAST(round(unixepoch(json_extract(body, '$.opened_at'), 'subsec') * 1000000) AS INTEGER),
       province, assigned_to, category,
       CAST(round(unixepoch(json_extract(body, '$.determination.at'), 'subsec') * 1000) AS INTEGER)
         - CAST(round(unixepoch(json_extract(body, '$.opened_at'), 'subsec') * 1000) AS INTEGER),
       CAST(round(unixepoch(json_extract(body, '$.decision.at'), 'subsec') * 1000) AS INTEGER)
         - CAST(round(unixepoch(json_extract(body, '$.determination.at'), 'subsec') * 1000) AS INTEGER)
FROM cases;

INSERT INTO measure_timings
SELECT id, case_id, CAST(round(unixepoch(decided, 'subsec') * 1000000) AS INTEGER), province,
       recipient_org, determining_org, overdue,
       CAST(round(unixepoch(acknowledged, 'subsec') * 1000) AS INTEGER)
         - CAST(round(unixepoch(decided, 'subsec') * 1000) AS INTEGER),
       CAST(round(unixepoch(first_feedback, 'subsec') * 1000) AS INTEGER)
         - CAST(round(unixepoch(decided, 'subsec') * 1000) AS INTEGER),
       CAST(round(unixepoch(first_pass, 'subsec') * 1000) AS INTEGER)
         - CAST(round(unixepoch(first_feedback, 'subsec') * 1000) AS INTEGER)
FROM (
    SELECT id, case_id, recipient_org, overdue,
           json_extract(body, '$.province') AS province,
           json_extract(body, '$.determining_org.id') AS determining_org,
           json_extract(body, '$.decided_at') AS decided,
           json_extract(body, '$.acknowledged_at') AS acknowledged,
           json_extract(body, '$.feedback[0].filed_at') AS first_feedback,
           (SELECT json_extract(value, '$.at') FROM json_each(body, '$.verifications')
             WHERE json_extract(value, '$.result') = 'passed' ORDER BY key LIMIT 1) AS first_pass
    FROM measures
);
