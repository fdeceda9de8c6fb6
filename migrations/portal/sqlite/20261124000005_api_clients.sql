-- What each of a kenpo's systems may do through the kenpo API. The systems sign in at the
-- kenpo's IdP realm with client_credentials; the portal, not the IdP, decides which of its
-- operations a client may call, and reads the grants at every call so a revoke holds at once.
CREATE TABLE api_grants (
    kenpo_id   TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    role       TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (kenpo_id, client_id, role)
);
