-- The kenpo's reset of a member's second factors (a lost phone, 3-8) tells the member by mail,
-- so the outbox's list of kinds gains 'second-factors-reset'. (SQLite twin of the PostgreSQL
-- migration: SQLite cannot change a CHECK constraint, so the table is rebuilt with its rows.)
CREATE TABLE mail_outbox_new (
    id              TEXT PRIMARY KEY,
    realm_id        TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('verify-email', 'reset-password', 'username-reminder', 'first-login-done',
                                    'login-code', 'second-factors-reset')),
    sender          TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    message         TEXT,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT,
    sent_at         BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    CONSTRAINT mail_outbox_pending_holds_its_message CHECK ((message IS NULL) = (next_attempt_at IS NULL)),
    CONSTRAINT mail_outbox_sent_is_cleared CHECK (sent_at IS NULL OR message IS NULL)
);
INSERT INTO mail_outbox_new
    (id, realm_id, kind, sender, recipient, message, attempts, next_attempt_at, sent_at, last_error, created_at)
SELECT id, realm_id, kind, sender, recipient, message, attempts, next_attempt_at, sent_at, last_error, created_at
FROM mail_outbox;
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_new RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX mail_outbox_realm_idx ON mail_outbox (realm_id, created_at);
