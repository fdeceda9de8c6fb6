-- Audiences a client's access tokens are also for (Keycloak's "Audience" protocol mapper,
-- `oidc-audience-mapper`): the resource servers that take them, as a JSON array of strings. A
-- resource server named here may introspect the client's tokens (RFC 7662), and checks that it
-- is named (RFC 9068 §4), so a token meant for one service is refused by another.
ALTER TABLE clients ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]';
