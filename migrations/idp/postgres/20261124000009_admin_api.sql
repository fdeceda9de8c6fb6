-- The admin REST API (Keycloak's /admin/realms/...).

-- Keycloak's `realm-management` client roles, granted to the realm's staff (users) and to
-- service accounts (clients using client_credentials). A role is read from here on every
-- admin call, so revoking it takes effect at once, not when a token expires.
CREATE TABLE admin_roles (
    realm_id       TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    -- 'user' (a users.id) or 'client' (a clients.client_id: its service account).
    principal_kind TEXT NOT NULL CHECK (principal_kind IN ('user', 'client')),
    principal_id   TEXT NOT NULL,
    role           TEXT NOT NULL,
    PRIMARY KEY (realm_id, principal_kind, principal_id, role)
);

-- Admin events (Keycloak's AdminEventRepresentation): every call of the admin API, who made
-- it and on what. Reads of members' data are kept too (operation_type 'READ'), so the kenpo
-- can answer who looked at whose account. `representation` never holds a password or secret.
CREATE TABLE admin_events (
    id              TEXT PRIMARY KEY,
    realm_id        TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    time            BIGINT NOT NULL,
    operation_type  TEXT NOT NULL,
    resource_type   TEXT NOT NULL,
    resource_path   TEXT NOT NULL,
    representation  TEXT,
    error           TEXT,
    auth_client_id  TEXT,
    auth_user_id    TEXT,
    auth_ip_address TEXT
);
CREATE INDEX admin_events_realm_time_idx ON admin_events (realm_id, time);
