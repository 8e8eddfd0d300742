-- The province an audit entry is about (its case's, measure's, report's, appeal's, look-up's
-- or enforcement record's), so a provincial authority's auditors read their jurisdiction's
-- trail. Not part of the hash: it selects entries, it does not describe them. Entries
-- written before it have none and are read by the national bodies' auditors.
ALTER TABLE audit_log ADD COLUMN province TEXT;
CREATE INDEX audit_province ON audit_log (province, seq);
CREATE INDEX audit_actor_org ON audit_log (actor_org, seq);
