-- (SQLite twin of the PostgreSQL migration.) お知らせ (kenpo-wide notices) and MYメール (each member's inbox), spec §2.10. Types as in the
-- foundation: TEXT ids, BIGINT epoch milliseconds.

-- A notice of the kenpo's, shown to its signed-in members from `published_at` until
-- `expires_at` (none: until the kenpo deletes it). The body is plain text: paragraphs split by
-- blank lines, https URLs made links when shown; never HTML.
CREATE TABLE notices (
    id           TEXT PRIMARY KEY,
    kenpo_id     TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    category     TEXT NOT NULL CHECK (category IN ('important', 'health_insurance', 'checkups', 'other')),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    expires_at   BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX notices_kenpo_published ON notices (kenpo_id, published_at);

-- A notice's files (PDF and images, checked by content and size when sent). Kept in the
-- database: they are few and small, and go with their notice when it is deleted.
CREATE TABLE notice_attachments (
    id         TEXT PRIMARY KEY,
    notice_id  TEXT NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    file_name  TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    content    BLOB NOT NULL
);
CREATE INDEX notice_attachments_notice ON notice_attachments (notice_id, position);

-- A MYメール message: from the kenpo (subject and body as sent) or from the portal itself
-- (`system_kind` names the catalogue's text, shown in the reader's language).
CREATE TABLE inbox_messages (
    id          TEXT PRIMARY KEY,
    kenpo_id    TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    sender      TEXT NOT NULL CHECK (sender IN ('kenpo', 'system')),
    system_kind TEXT,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    sent_at     BIGINT NOT NULL
);
-- The retention job deletes by kenpo and age.
CREATE INDEX inbox_messages_kenpo_sent ON inbox_messages (kenpo_id, sent_at);

-- Who a message went to, one row per inbox: the member a login signs in as (a dependant without
-- a login of their own reads through the household's, the insured's). A message sent to every
-- member is one message and many deliveries; read state is per inbox.
CREATE TABLE inbox_deliveries (
    member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL REFERENCES inbox_messages (id) ON DELETE CASCADE,
    read_at    BIGINT,
    PRIMARY KEY (member_id, message_id)
);
CREATE INDEX inbox_deliveries_message ON inbox_deliveries (message_id);
