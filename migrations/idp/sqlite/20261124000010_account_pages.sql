-- The self-service account pages (3-5): a new address is verified before it replaces the old
-- one, by a link mailed to the new address, so the action tokens' kinds gain 'update-email'.
-- (SQLite twin of the PostgreSQL migration: SQLite cannot change a CHECK constraint, so the
-- table is rebuilt with its rows.)
CREATE TABLE action_tokens_new (
    token_hash  TEXT PRIMARY KEY,
    realm_id    TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('reset-credentials', 'verify-email', 'update-email')),
    email       TEXT,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL
);
INSERT INTO action_tokens_new (token_hash, realm_id, user_id, kind, email, expires_at, used_at, created_at)
SELECT token_hash, realm_id, user_id, kind, email, expires_at, used_at, created_at FROM action_tokens;
DROP TABLE action_tokens;
ALTER TABLE action_tokens_new RENAME TO action_tokens;
CREATE INDEX action_tokens_user_idx ON action_tokens (user_id, kind);
