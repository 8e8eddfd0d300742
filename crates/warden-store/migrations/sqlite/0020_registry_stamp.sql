-- Servers poll the last write to the registry's claims to know when to rebuild their
-- attribution index. The audit trail's sequence is drawn in commit order, under the chain's
-- head lock, whichever server commits: the newest entry about a claim is that stamp, and this
-- index makes it a single lookup however long the trail.
CREATE INDEX audit_kind ON audit_log (subject_type, seq);
