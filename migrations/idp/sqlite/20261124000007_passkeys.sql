-- Passkeys (2-3, Q21): a passwordless sign-in names only its WebAuthn credential id, so the
-- credential must be found by that id. `webauthn_credential_id` is the id in base64url, set for
-- `webauthn` credentials and NULL for every other type. It is unique across all realms: an
-- authenticator answering with an id already registered (to anyone) is refused, as WebAuthn
-- §7.1 step 22 asks, so one id can never name two members.
ALTER TABLE credentials ADD COLUMN webauthn_credential_id TEXT;
CREATE UNIQUE INDEX credentials_webauthn_credential_id_key ON credentials (webauthn_credential_id);
