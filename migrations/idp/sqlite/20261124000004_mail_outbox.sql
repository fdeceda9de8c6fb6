-- The mail outbox (SQLite twin of the PostgreSQL migration): every mail the IdP sends is queued
-- here first and delivered by a worker, so a mail server that is down still gets the mail later.

-- `message` is the formatted RFC 5322 message sealed under the master key (AES-256-GCM, the
-- associated data naming the row): mails carry reset links and user IDs. A row is pending while
-- it holds its message and a next attempt; once sent (or given up) both are cleared and the row
-- stays, without the secret, as the audit trail: who was mailed what kind of mail, when, and
-- how it went.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,
    realm_id        TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('verify-email', 'reset-password', 'username-reminder', 'first-login-done')),
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
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX mail_outbox_realm_idx ON mail_outbox (realm_id, created_at);
