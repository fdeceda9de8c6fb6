-- The hosted login journey: the member's chosen second-factor method, versioned terms of use,
-- and the single-use links mailed for email verification and password reset.

-- 認証方法 chosen at first login (2-1 step 9) or in the profile (Q18).
ALTER TABLE users ADD COLUMN auth_method TEXT CHECK (auth_method IN ('webauthn', 'otp', 'email-otp'));
-- The terms version the member last accepted; a newer published version is asked again (3-9).
ALTER TABLE users ADD COLUMN terms_accepted_version BIGINT;

-- Terms of use, one row per published version; the highest version is the current one.
CREATE TABLE terms_versions (
    realm_id     TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    body_ja      TEXT NOT NULL,
    body_en      TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (realm_id, version)
);

-- Links mailed to a member (Keycloak's action tokens). Only the SHA-256 of the token is kept;
-- a token is used at most once, and issuing a new one of the same kind voids the older ones.
-- `email` is the address a verification link was sent to: it proves nothing about another.
CREATE TABLE action_tokens (
    token_hash  TEXT PRIMARY KEY,
    realm_id    TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('reset-credentials', 'verify-email')),
    email       TEXT,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX action_tokens_user_idx ON action_tokens (user_id, kind);
