//! Which kenpo API roles each of a kenpo's clients holds (`flows::kenpo_api`).

use super::{Db, StoreError};
use std::future::Future;

pub trait ApiGrantStore {
    /// The roles `client_id` holds at the kenpo, as stored (`ApiRole::parse` reads them).
    fn api_roles(
        &self,
        kenpo_id: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Grants a role; granting one already held changes nothing.
    fn grant_api_role(
        &self,
        kenpo_id: &str,
        client_id: &str,
        role: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Revokes a role; whether the client held it.
    fn revoke_api_role(
        &self,
        kenpo_id: &str,
        client_id: &str,
        role: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Every grant of the kenpo, as (client, role), ordered.
    fn api_grants(
        &self,
        kenpo_id: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
}

impl ApiGrantStore for Db {
    async fn api_roles(&self, kenpo_id: &str, client_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT role FROM api_grants WHERE kenpo_id = $1 AND client_id = $2 ORDER BY role",
        )
        .bind(kenpo_id)
        .bind(client_id)
        .fetch_all(self.pool())
        .await?)
    }

    async fn grant_api_role(
        &self,
        kenpo_id: &str,
        client_id: &str,
        role: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_grants (kenpo_id, client_id, role, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kenpo_id, client_id, role) DO NOTHING",
        )
        .bind(kenpo_id)
        .bind(client_id)
        .bind(role)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn revoke_api_role(&self, kenpo_id: &str, client_id: &str, role: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_grants WHERE kenpo_id = $1 AND client_id = $2 AND role = $3")
            .bind(kenpo_id)
            .bind(client_id)
            .bind(role)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn api_grants(&self, kenpo_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT client_id, role FROM api_grants WHERE kenpo_id = $1 ORDER BY client_id, role",
        )
        .bind(kenpo_id)
        .fetch_all(self.pool())
        .await?)
    }
}
