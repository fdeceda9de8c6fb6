-- Foundation schema of the portal (SQLite twin of the PostgreSQL migration). Column types are the ones both backends share through sqlx's
-- Any driver (see migrations/idp): timestamps are Unix epoch milliseconds in BIGINT.

-- Each kenpo is a tenant: the host its members reach and the IdP realm that signs them in.
CREATE TABLE kenpos (
    id           TEXT PRIMARY KEY,
    issuer       TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    host         TEXT,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    CONSTRAINT kenpos_issuer_key UNIQUE (issuer),
    CONSTRAINT kenpos_host_key UNIQUE (host)
);
