-- The kenpo's systems push files to POST /api/import/{kind} with a bearer token. Only the
-- token's SHA-256 is kept: a leaked database does not leak a usable token, and looking a token up
-- by its digest compares no secret byte by byte.
CREATE TABLE import_tokens (
    id           TEXT PRIMARY KEY,
    kenpo_id     TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    token_sha256 TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    CONSTRAINT import_tokens_digest_key UNIQUE (token_sha256)
);
CREATE INDEX import_tokens_kenpo ON import_tokens (kenpo_id);

-- The retention job deletes by kenpo and month; these keep it from scanning every kenpo's rows.
CREATE INDEX claims_kenpo_month ON claims (kenpo_id, service_month);
CREATE INDEX benefits_kenpo_month ON benefits (kenpo_id, paid_month);
CREATE INDEX prescriptions_kenpo_month ON prescriptions (kenpo_id, dispensed_month);
CREATE INDEX checkups_kenpo_date ON checkups (kenpo_id, exam_date);
