-- The OpenID provider's durable state: grants and what descends from them.

-- A grant is one authorization: a code exchanged, or a client_credentials request. Access and
-- refresh tokens carry its id; revoking the grant revokes all of them (code reuse, refresh
-- token reuse, logout, RFC 7009 revocation).
CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    realm_id    TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id  TEXT,
    scope       TEXT NOT NULL,
    -- The authentication the tokens speak of, JSON: auth_time, acr, amr, requested claims.
    auth        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX grants_session_idx ON grants (session_id);
CREATE INDEX grants_user_idx ON grants (user_id);

-- Refresh tokens are stored as SHA-256 hashes. Rotation marks the presented token used; a used
-- token presented again revokes its grant (RFC 9700 §4.14.2).
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX refresh_tokens_grant_idx ON refresh_tokens (grant_id);

-- The SSO cookie carries <sid>.<secret>; only the secret's hash is stored, and `sid` (which
-- appears in ID tokens) is not enough to use the session.
ALTER TABLE user_sessions ADD COLUMN cookie_hash TEXT NOT NULL DEFAULT '';

-- Which clients a session signed in to: they are told when it ends (back-channel logout).
CREATE TABLE session_clients (
    session_id  TEXT NOT NULL REFERENCES user_sessions (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

-- Back-channel logout deliveries, durable so a client that is down still hears of the logout.
CREATE TABLE backchannel_logouts (
    id              TEXT PRIMARY KEY,
    realm_id        TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    uri             TEXT NOT NULL,
    logout_token    TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX backchannel_logouts_due_idx ON backchannel_logouts (next_attempt_at) WHERE delivered_at IS NULL;

-- A client's public keys for private_key_jwt (a JWK Set, JSON), when it authenticates so.
ALTER TABLE clients ADD COLUMN jwks TEXT;

-- Refresh-token rotation is per client (on by default); without it a refresh token is reused
-- until it expires.
ALTER TABLE clients ADD COLUMN rotate_refresh_tokens SMALLINT NOT NULL DEFAULT 1 CHECK (rotate_refresh_tokens IN (0, 1));
