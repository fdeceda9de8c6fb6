//! Grants and refresh tokens: what an authorization left behind, and how it is revoked.

use super::{Db, StoreError, from_json, to_json};
use serde::{Deserialize, Serialize};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;

/// The authentication a grant's tokens speak of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantAuth {
    /// Unix seconds of the authentication (`auth_time`).
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    /// Claims the client asked for in the ID token by the `claims` parameter.
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    /// Claims asked for from userinfo by the `claims` parameter.
    #[serde(default)]
    pub userinfo_claims: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub id: String,
    pub realm_id: String,
    pub client_id: String,
    /// `None` for client_credentials.
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub scope: String,
    pub auth: GrantAuth,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Grant {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshUse {
    /// Valid: marked used now if the client rotates; here is its grant.
    Valid(Box<Grant>),
    /// Already used (rotated away): a replay, so the caller revokes the grant.
    Replayed {
        grant_id: String,
    },
    Expired,
    Unknown,
}

pub trait GrantStore {
    fn create_grant(&self, grant: &Grant) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn grant_by_id(&self, id: &str) -> impl Future<Output = Result<Option<Grant>, StoreError>> + Send;
    /// Revokes the grant; says whether it was live.
    fn revoke_grant(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Revokes every grant of an SSO session (logout).
    fn revoke_session_grants(
        &self,
        session_id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn store_refresh_token(
        &self,
        token_hash: &str,
        grant_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The grant of a refresh token that is neither used nor expired, without using it.
    fn refresh_token_grant(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Grant>, StoreError>> + Send;
    /// Rotation in one transaction: claims the presented token (of two concurrent uses exactly
    /// one succeeds) and stores `new_hash` as its successor with the same lifetime, so a crash
    /// can never leave the grant with no live token, and the database commits once.
    fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<RefreshUse, StoreError>> + Send;
    /// Looks up a refresh token of a client that does not rotate: it stays valid until it
    /// expires or its grant is revoked.
    fn use_refresh_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<RefreshUse, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: String,
    realm_id: String,
    client_id: String,
    user_id: Option<String>,
    session_id: Option<String>,
    scope: String,
    auth: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(r: GrantRow) -> Result<Self, StoreError> {
        Ok(Self {
            auth: from_json("grants.auth", &r.auth)?,
            id: r.id,
            realm_id: r.realm_id,
            client_id: r.client_id,
            user_id: r.user_id,
            session_id: r.session_id,
            scope: r.scope,
            created_at: from_millis(r.created_at),
            revoked_at: r.revoked_at.map(from_millis),
        })
    }
}

const SELECT: &str = "SELECT id, realm_id, client_id, user_id, session_id, scope, auth, created_at, \
     revoked_at FROM grants";

#[derive(sqlx::FromRow)]
struct RefreshRow {
    grant_id: String,
    expires_at: i64,
    used_at: Option<i64>,
}

impl GrantStore for Db {
    async fn create_grant(&self, g: &Grant) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO grants (id, realm_id, client_id, user_id, session_id, scope, auth, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&g.id)
        .bind(&g.realm_id)
        .bind(&g.client_id)
        .bind(&g.user_id)
        .bind(&g.session_id)
        .bind(&g.scope)
        .bind(to_json(&g.auth))
        .bind(to_millis(g.created_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn grant_by_id(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        sqlx::query_as::<_, GrantRow>(&format!("{SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(Grant::try_from)
            .transpose()
    }

    async fn revoke_grant(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(to_millis(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_session_grants(&self, session_id: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done =
            sqlx::query("UPDATE grants SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL")
                .bind(to_millis(now))
                .bind(session_id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected())
    }

    async fn store_refresh_token(
        &self,
        token_hash: &str,
        grant_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(grant_id)
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn refresh_token_grant(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Grant>, StoreError> {
        sqlx::query_as::<_, GrantRow>(
            "SELECT g.id, g.realm_id, g.client_id, g.user_id, g.session_id, g.scope, g.auth, g.created_at, \
             g.revoked_at FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id \
             WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2",
        )
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_optional(self.pool())
        .await?
        .map(Grant::try_from)
        .transpose()
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
    ) -> Result<RefreshUse, StoreError> {
        let now_ms = to_millis(now);
        let mut tx = self.pool().begin().await?;
        let claimed: Option<String> = sqlx::query_scalar(
            "UPDATE refresh_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING grant_id",
        )
        .bind(now_ms)
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(grant_id) = claimed else {
            tx.rollback().await?;
            return self.why_not_valid(old_hash, now_ms).await;
        };
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at) \
             SELECT $1, grant_id, $2, $2 + (expires_at - created_at) FROM refresh_tokens WHERE token_hash = $3",
        )
        .bind(new_hash)
        .bind(now_ms)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?;
        let grant = sqlx::query_as::<_, GrantRow>(&format!("{SELECT} WHERE id = $1"))
            .bind(&grant_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        match grant {
            Some(row) => Ok(RefreshUse::Valid(Box::new(Grant::try_from(row)?))),
            None => Ok(RefreshUse::Unknown),
        }
    }

    async fn use_refresh_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<RefreshUse, StoreError> {
        let now_ms = to_millis(now);
        let grant_id: Option<String> = sqlx::query_scalar(
            "SELECT grant_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        let Some(grant_id) = grant_id else { return self.why_not_valid(token_hash, now_ms).await };
        match self.grant_by_id(&grant_id).await? {
            Some(grant) => Ok(RefreshUse::Valid(Box::new(grant))),
            None => Ok(RefreshUse::Unknown),
        }
    }
}

impl Db {
    async fn why_not_valid(&self, token_hash: &str, now_ms: i64) -> Result<RefreshUse, StoreError> {
        let row = sqlx::query_as::<_, RefreshRow>(
            "SELECT grant_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            None => RefreshUse::Unknown,
            Some(r) if r.used_at.is_some() => RefreshUse::Replayed { grant_id: r.grant_id },
            Some(r) if r.expires_at <= now_ms => RefreshUse::Expired,
            Some(_) => RefreshUse::Unknown,
        })
    }
}
