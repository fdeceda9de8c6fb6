-- Brute-force detection: Keycloak's login failures, counted per member and device.
-- (SQLite twin of the PostgreSQL migration.)
--
-- `subject` is the member's user id, or for a user ID that does not exist `unknown:` followed by
-- a keyed hash of the typed ID (lower case), so guesses at unknown IDs lock exactly as guesses at
-- real ones and the locked message tells nobody whether an account exists. `device` is '' for
-- every browser without the member's trusted-device cookie, else the device id that cookie names:
-- whoever merely knows a user ID can lock only the '' row, never the member's own devices.
-- `version` grows with every write; updates compare it, so concurrent failures all count.
CREATE TABLE login_failures (
    realm_id            TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    subject             TEXT NOT NULL,
    device              TEXT NOT NULL,
    num_failures        BIGINT NOT NULL,
    last_failure_at     BIGINT,
    last_ip             TEXT,
    temporary_lockouts  BIGINT NOT NULL,
    locked_until        BIGINT,
    permanently_locked  INTEGER NOT NULL CHECK (permanently_locked IN (0, 1)),
    version             BIGINT NOT NULL,
    PRIMARY KEY (realm_id, subject, device)
);
