//! Links mailed to a member (Keycloak's action tokens): 「メールアドレスの確認」 and
//! 「パスワードをリセット」. Only the token's SHA-256 is stored. A token works once, until it
//! expires, and a newer token of the same kind voids the older ones.

use super::{Db, StoreError};
use shared_runtime::db::to_millis;
use std::future::Future;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    ResetCredentials,
    VerifyEmail,
    /// A new address, mailed to itself: it replaces the member's address only when followed
    /// (3-5), so a typo never takes the member's mail away.
    UpdateEmail,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResetCredentials => "reset-credentials",
            Self::VerifyEmail => "verify-email",
            Self::UpdateEmail => "update-email",
        }
    }
}

/// A token to store: only its hash, whose it is, and until when.
#[derive(Debug, Clone)]
pub struct NewActionToken<'a> {
    pub realm_id: &'a str,
    pub user_id: &'a str,
    pub kind: ActionKind,
    pub token_hash: &'a str,
    pub email: Option<&'a str>,
    pub expires_at: OffsetDateTime,
}

/// A live token: whose it is, and for verification the address it was sent to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ActionToken {
    pub user_id: String,
    pub email: Option<String>,
}

pub trait ActionTokenStore {
    /// Stores a new token and voids the member's unused tokens of the same kind.
    fn issue_action_token(
        &self,
        token: NewActionToken<'_>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The token, if it is live: unused, unexpired, of this kind and realm. Does not use it.
    fn live_action_token(
        &self,
        realm_id: &str,
        kind: ActionKind,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<ActionToken>, StoreError>> + Send;
    /// Uses the token: of two concurrent users, exactly one gets it.
    fn use_action_token(
        &self,
        realm_id: &str,
        kind: ActionKind,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<ActionToken>, StoreError>> + Send;
}

const LIVE: &str = "realm_id = $1 AND kind = $2 AND token_hash = $3 AND used_at IS NULL AND expires_at > $4";

impl ActionTokenStore for Db {
    async fn issue_action_token(
        &self,
        token: NewActionToken<'_>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let NewActionToken { realm_id, user_id, kind, token_hash, email, expires_at } = token;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE action_tokens SET used_at = $1 WHERE user_id = $2 AND kind = $3 AND used_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(user_id)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO action_tokens (token_hash, realm_id, user_id, kind, email, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash)
        .bind(realm_id)
        .bind(user_id)
        .bind(kind.as_str())
        .bind(email)
        .bind(to_millis(expires_at))
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn live_action_token(
        &self,
        realm_id: &str,
        kind: ActionKind,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ActionToken>, StoreError> {
        Ok(sqlx::query_as::<_, ActionToken>(&format!(
            "SELECT user_id, email FROM action_tokens WHERE {LIVE}"
        ))
        .bind(realm_id)
        .bind(kind.as_str())
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_optional(self.pool())
        .await?)
    }

    async fn use_action_token(
        &self,
        realm_id: &str,
        kind: ActionKind,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ActionToken>, StoreError> {
        Ok(sqlx::query_as::<_, ActionToken>(&format!(
            "UPDATE action_tokens SET used_at = $4 WHERE {LIVE} RETURNING user_id, email"
        ))
        .bind(realm_id)
        .bind(kind.as_str())
        .bind(token_hash)
        .bind(to_millis(now))
        .fetch_optional(self.pool())
        .await?)
    }
}
