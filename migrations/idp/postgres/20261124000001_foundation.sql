-- Foundation schema of the identity provider.
-- Column types are the ones both backends share through sqlx's Any driver, so the stores run one
-- SQL text on PostgreSQL and SQLite: timestamps are Unix epoch milliseconds (UTC) in BIGINT, flags
-- are 0/1 integers, and structured values are JSON text.

-- A realm is one kenpo (health insurance society): its members, clients, keys and settings.
CREATE TABLE realms (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    host         TEXT,
    enabled      SMALLINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    settings     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    CONSTRAINT realms_name_key UNIQUE (name),
    CONSTRAINT realms_host_key UNIQUE (host)
);

-- Signing keys. The private half is PKCS#8 sealed under the master key (AES-256-GCM).
-- 'active' signs; 'passive' only verifies (published in JWKS after a rotation); 'retired' is kept
-- for the audit trail and neither signs nor verifies.
CREATE TABLE realm_keys (
    kid          TEXT PRIMARY KEY,
    realm_id     TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    algorithm    TEXT NOT NULL,
    private_key  TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'passive', 'retired')),
    created_at   BIGINT NOT NULL
);
CREATE INDEX realm_keys_realm_idx ON realm_keys (realm_id, status);
CREATE UNIQUE INDEX realm_keys_one_active_key ON realm_keys (realm_id, algorithm) WHERE status = 'active';

CREATE TABLE clients (
    id                        TEXT PRIMARY KEY,
    realm_id                  TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    client_id                 TEXT NOT NULL,
    name                      TEXT,
    enabled                   SMALLINT NOT NULL CHECK (enabled IN (0, 1)),
    confidential              SMALLINT NOT NULL CHECK (confidential IN (0, 1)),
    secret_hash               TEXT,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    backchannel_logout_uri    TEXT,
    grant_types               TEXT NOT NULL,
    pkce_required             SMALLINT NOT NULL CHECK (pkce_required IN (0, 1)),
    id_token_signing_alg      TEXT NOT NULL,
    created_at                BIGINT NOT NULL,
    CONSTRAINT clients_client_id_key UNIQUE (realm_id, client_id),
    CONSTRAINT clients_secret_matches_type CHECK ((confidential = 1) = (secret_hash IS NOT NULL))
);

-- Members. `username` is the user ID (ユーザID), lower case; `issued_username` is the 仮ID the
-- kenpo issued, kept so a re-import finds the member after they chose their own ID.
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    realm_id         TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    username         TEXT NOT NULL,
    issued_username  TEXT,
    email            TEXT,
    email_verified   SMALLINT NOT NULL CHECK (email_verified IN (0, 1)),
    display_name     TEXT NOT NULL,
    birthdate        TEXT,
    relationship     TEXT CHECK (relationship IN ('insured', 'dependant')),
    temporary_id     SMALLINT NOT NULL CHECK (temporary_id IN (0, 1)),
    enabled          SMALLINT NOT NULL CHECK (enabled IN (0, 1)),
    required_actions TEXT NOT NULL,
    locale           TEXT,
    created_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (realm_id, username);
CREATE UNIQUE INDEX users_issued_username_key ON users (realm_id, issued_username);
CREATE UNIQUE INDEX users_email_key ON users (realm_id, lower(email));

-- Keycloak's credential model: what proves who a member is. secret_data is sealed where it is a
-- secret (TOTP seeds); password hashes are stored as their self-describing format.
CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type            TEXT NOT NULL,
    user_label      TEXT,
    secret_data     TEXT NOT NULL,
    credential_data TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX credentials_user_idx ON credentials (user_id, type);
CREATE UNIQUE INDEX credentials_user_label_key ON credentials (user_id, type, user_label);
CREATE UNIQUE INDEX credentials_one_password_key ON credentials (user_id) WHERE type = 'password';

-- SSO sessions. Durable, so a Redis restart logs nobody out.
CREATE TABLE user_sessions (
    id           TEXT PRIMARY KEY,
    realm_id     TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time    BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    remember_me  SMALLINT NOT NULL CHECK (remember_me IN (0, 1)),
    ip_address   TEXT,
    user_agent   TEXT,
    amr          TEXT NOT NULL
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);

-- Login events, with Keycloak's type names. Never passwords or codes.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    realm_id   TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    time       BIGINT NOT NULL,
    type       TEXT NOT NULL,
    client_id  TEXT,
    user_id    TEXT,
    session_id TEXT,
    ip_address TEXT,
    error      TEXT,
    details    TEXT NOT NULL
);
CREATE INDEX events_realm_time_idx ON events (realm_id, time);
CREATE INDEX events_user_idx ON events (realm_id, user_id, time);
