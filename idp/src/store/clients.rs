//! OAuth clients of a realm: the portal and the kenpo's other apps.

use super::{Db, StoreError, flag, from_json, is_set, meaning_of, to_json};
use crate::domain::{ClientId, RedirectUri};
use serde::{Deserialize, Serialize};
use shared_crypto::keys::{Algorithm, JwkSet};
use shared_runtime::db::{from_millis, to_millis};
use sqlx::AnyConnection;
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

/// The grants a client may use. The password grant and the implicit flow do not exist here
/// (RFC 9700 §2.4, §2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// Internal ID (Keycloak's `id`).
    pub id: String,
    pub realm_id: String,
    pub client_id: ClientId,
    pub name: Option<String>,
    pub enabled: bool,
    /// Confidential clients authenticate; public ones (mobile apps, SPAs) cannot keep a secret.
    pub confidential: bool,
    /// Keyed hash of the secret (see `shared_crypto::secret_hash`); `None` for public clients.
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    /// PKCE S256 is always required of public clients; this asks it of a confidential one too.
    pub pkce_required: bool,
    pub id_token_signing_alg: Algorithm,
    /// The client's public keys, when it authenticates with `private_key_jwt`.
    pub jwks: Option<JwkSet>,
    /// Each refresh hands out a new refresh token and retires the old one (reuse revokes).
    pub rotate_refresh_tokens: bool,
    /// The resource servers its access tokens are also for (`aud`), which may introspect them.
    pub audiences: Vec<String>,
    pub created_at: OffsetDateTime,
}

impl Client {
    /// Whether the client must send a PKCE challenge.
    pub fn requires_pkce(&self) -> bool {
        self.pkce_required || !self.confidential
    }
}

/// What creating a client takes. The secret is hashed by the caller; the store never sees it.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: ClientId,
    pub name: Option<String>,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub pkce_required: bool,
    pub id_token_signing_alg: Algorithm,
    pub jwks: Option<JwkSet>,
    pub rotate_refresh_tokens: bool,
    pub audiences: Vec<String>,
}

pub trait ClientStore {
    fn create_client(
        &self,
        realm_id: &str,
        client: NewClient,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Client, StoreError>> + Send;
    fn client_by_client_id(
        &self,
        realm_id: &str,
        client_id: &ClientId,
    ) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send;
    fn list_clients(&self, realm_id: &str) -> impl Future<Output = Result<Vec<Client>, StoreError>> + Send;
    /// By Keycloak's internal `id` (the admin API's `/clients/{id}`).
    fn client_by_id(
        &self,
        realm_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send;
    /// Saves every field the admin API may change (all but `id`, `realm_id`, `created_at`).
    fn update_client(&self, client: &Client) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether it existed.
    fn delete_client(
        &self,
        realm_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    realm_id: String,
    client_id: String,
    name: Option<String>,
    enabled: i16,
    confidential: i16,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: Option<String>,
    grant_types: String,
    pkce_required: i16,
    id_token_signing_alg: String,
    jwks: Option<String>,
    rotate_refresh_tokens: i16,
    audiences: String,
    created_at: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            realm_id: row.realm_id,
            client_id: ClientId::parse(&row.client_id).map_err(StoreError::corrupt)?,
            name: row.name,
            enabled: is_set(row.enabled),
            confidential: is_set(row.confidential),
            secret_hash: row.secret_hash,
            redirect_uris: from_json("clients.redirect_uris", &row.redirect_uris)?,
            post_logout_redirect_uris: from_json(
                "clients.post_logout_redirect_uris",
                &row.post_logout_redirect_uris,
            )?,
            backchannel_logout_uri: row.backchannel_logout_uri,
            grant_types: from_json("clients.grant_types", &row.grant_types)?,
            pkce_required: is_set(row.pkce_required),
            id_token_signing_alg: row
                .id_token_signing_alg
                .parse()
                .map_err(|_| StoreError::corrupt("clients.id_token_signing_alg"))?,
            jwks: row.jwks.as_deref().map(|j| from_json("clients.jwks", j)).transpose()?,
            rotate_refresh_tokens: is_set(row.rotate_refresh_tokens),
            audiences: from_json("clients.audiences", &row.audiences)?,
            created_at: from_millis(row.created_at),
        })
    }
}

const SELECT: &str = "SELECT id, realm_id, client_id, name, enabled, confidential, secret_hash, \
     redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, grant_types, \
     pkce_required, id_token_signing_alg, jwks, rotate_refresh_tokens, audiences, created_at FROM clients";

/// Inserts a client on `conn` (alone, or inside a migration's transaction).
pub(super) async fn insert_client(
    conn: &mut AnyConnection,
    realm_id: &str,
    new: NewClient,
    now: OffsetDateTime,
) -> Result<Client, StoreError> {
    let client = Client {
        id: Uuid::new_v4().to_string(),
        realm_id: realm_id.to_owned(),
        client_id: new.client_id,
        name: new.name,
        enabled: true,
        confidential: new.secret_hash.is_some(),
        secret_hash: new.secret_hash,
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        backchannel_logout_uri: new.backchannel_logout_uri,
        grant_types: new.grant_types,
        pkce_required: new.pkce_required,
        id_token_signing_alg: new.id_token_signing_alg,
        jwks: new.jwks,
        rotate_refresh_tokens: new.rotate_refresh_tokens,
        audiences: new.audiences,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO clients (id, realm_id, client_id, name, enabled, confidential, \
         secret_hash, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri, \
         grant_types, pkce_required, id_token_signing_alg, jwks, rotate_refresh_tokens, audiences, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&client.id)
    .bind(&client.realm_id)
    .bind(client.client_id.as_str())
    .bind(&client.name)
    .bind(flag(client.enabled))
    .bind(flag(client.confidential))
    .bind(&client.secret_hash)
    .bind(to_json(&client.redirect_uris))
    .bind(to_json(&client.post_logout_redirect_uris))
    .bind(&client.backchannel_logout_uri)
    .bind(to_json(&client.grant_types))
    .bind(flag(client.pkce_required))
    .bind(client.id_token_signing_alg.as_str())
    .bind(client.jwks.as_ref().map(to_json))
    .bind(flag(client.rotate_refresh_tokens))
    .bind(to_json(&client.audiences))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await
    .map_err(|e| meaning_of(e, &[("client_id", || StoreError::ClientIdTaken)]))?;
    Ok(client)
}

impl ClientStore for Db {
    async fn create_client(
        &self,
        realm_id: &str,
        new: NewClient,
        now: OffsetDateTime,
    ) -> Result<Client, StoreError> {
        let mut conn = self.pool().acquire().await?;
        insert_client(&mut conn, realm_id, new, now).await
    }

    async fn client_by_client_id(
        &self,
        realm_id: &str,
        client_id: &ClientId,
    ) -> Result<Option<Client>, StoreError> {
        sqlx::query_as::<_, ClientRow>(&format!("{SELECT} WHERE realm_id = $1 AND client_id = $2"))
            .bind(realm_id)
            .bind(client_id.as_str())
            .fetch_optional(self.pool())
            .await?
            .map(Client::try_from)
            .transpose()
    }

    async fn list_clients(&self, realm_id: &str) -> Result<Vec<Client>, StoreError> {
        sqlx::query_as::<_, ClientRow>(&format!("{SELECT} WHERE realm_id = $1 ORDER BY client_id"))
            .bind(realm_id)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    async fn client_by_id(&self, realm_id: &str, id: &str) -> Result<Option<Client>, StoreError> {
        sqlx::query_as::<_, ClientRow>(&format!("{SELECT} WHERE realm_id = $1 AND id = $2"))
            .bind(realm_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(Client::try_from)
            .transpose()
    }

    async fn update_client(&self, client: &Client) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE clients SET client_id = $1, name = $2, enabled = $3, confidential = $4, secret_hash = $5, \
             redirect_uris = $6, post_logout_redirect_uris = $7, backchannel_logout_uri = $8, \
             grant_types = $9, pkce_required = $10, id_token_signing_alg = $11, jwks = $12, \
             rotate_refresh_tokens = $13, audiences = $14 WHERE realm_id = $15 AND id = $16",
        )
        .bind(client.client_id.as_str())
        .bind(&client.name)
        .bind(flag(client.enabled))
        .bind(flag(client.confidential))
        .bind(&client.secret_hash)
        .bind(to_json(&client.redirect_uris))
        .bind(to_json(&client.post_logout_redirect_uris))
        .bind(&client.backchannel_logout_uri)
        .bind(to_json(&client.grant_types))
        .bind(flag(client.pkce_required))
        .bind(client.id_token_signing_alg.as_str())
        .bind(client.jwks.as_ref().map(to_json))
        .bind(flag(client.rotate_refresh_tokens))
        .bind(to_json(&client.audiences))
        .bind(&client.realm_id)
        .bind(&client.id)
        .execute(self.pool())
        .await
        .map_err(|e| meaning_of(e, &[("client_id", || StoreError::ClientIdTaken)]))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("client"));
        }
        Ok(())
    }

    async fn delete_client(&self, realm_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        // Its grants go too (and their refresh tokens by cascade), so no token it was given
        // stays usable; grants name the client by `client_id`, without a foreign key.
        sqlx::query(
            "DELETE FROM grants WHERE realm_id = $1 AND client_id IN \
             (SELECT client_id FROM clients WHERE realm_id = $1 AND id = $2)",
        )
        .bind(realm_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM admin_roles WHERE realm_id = $1 AND principal_kind = 'client' AND principal_id IN \
             (SELECT client_id FROM clients WHERE realm_id = $1 AND id = $2)",
        )
        .bind(realm_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM clients WHERE realm_id = $1 AND id = $2")
            .bind(realm_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
