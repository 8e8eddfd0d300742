-- Art. 9 look-up requests: an authority (or the institution on its behalf) asks an
-- organisation who holds an address, a broadband account, a domain or a number; the
-- organisation answers within a time limit. Answers naming a member holder feed routing.
CREATE TABLE inquiries (
    id TEXT PRIMARY KEY,
    addressee_org TEXT NOT NULL REFERENCES organisations (id),
    authority_org TEXT NOT NULL REFERENCES organisations (id),
    asker_org TEXT NOT NULL REFERENCES organisations (id),
    province TEXT,
    status TEXT NOT NULL,
    overdue BIGINT NOT NULL,
    due_us BIGINT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_value TEXT NOT NULL,
    holder_org TEXT,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX inquiries_addressee ON inquiries (addressee_org, created_us);
CREATE INDEX inquiries_authority ON inquiries (authority_org, created_us);
CREATE INDEX inquiries_province ON inquiries (province, created_us);
CREATE INDEX inquiries_due ON inquiries (status, overdue, due_us);
CREATE INDEX inquiries_subject ON inquiries (subject_kind, subject_value, updated_us);
