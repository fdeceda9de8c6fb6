-- Update mails (spec §1 "Update mails", issue 8 item 6): when an import publishes new data (or
-- the kenpo issues a 資格情報のお知らせ), the household's login who opted in to the category and
-- has logged in gets one mail saying that something new is there, never what.
-- (SQLite twin of the PostgreSQL migration.)
--
-- A row is queued in the import's own transaction, so the data and its announcement are
-- published together or not at all, and it is delivered by a worker that retries with backoff
-- (a mail server that is down gets the mail later). The row holds no message: the mail is
-- written at delivery from the category alone (no names, amounts, institutions or dates exist
-- to leak), so nothing personal but the address is stored. A row is pending while it has a
-- next attempt; once sent (or given up) that is cleared and the row stays as the trail of who
-- was told what kind of news, when, and how it went.
--
-- At most one mail per category per publication: (publication_id, member_id, category) is
-- unique, so a retried enqueue never queues twice; a re-import of the same file changes no row
-- and so publishes nothing to anyone.
CREATE TABLE update_mails (
    id              TEXT PRIMARY KEY,
    kenpo_id        TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    -- What was published: the import's id (imports.id), or the 資格情報のお知らせ's id
    -- (qualification_notices.id) for category qualification_notice; hence no foreign key.
    publication_id  TEXT NOT NULL,
    -- The login the mail is for (the member with a subject whose household got new data).
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    -- tenant::MailCategory::key
    category        TEXT NOT NULL,
    locale          TEXT NOT NULL CHECK (locale IN ('ja', 'en')),
    -- The verified address of the member's latest login, at the time of publication.
    recipient       TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT,
    sent_at         BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    CONSTRAINT update_mails_once_per_publication UNIQUE (publication_id, member_id, category),
    CONSTRAINT update_mails_sent_is_done CHECK (sent_at IS NULL OR next_attempt_at IS NULL)
);
CREATE INDEX update_mails_due_idx ON update_mails (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX update_mails_member_idx ON update_mails (member_id);

-- The language of the member's latest login ('ja' or 'en'), so their mails are in it; NULL for
-- logins recorded before this column, which get Japanese.
ALTER TABLE member_logins ADD COLUMN locale TEXT;
