//! The back-channel logout queue: deliveries survive restarts and are retried with backoff.

use super::{Db, StoreError};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub realm_id: String,
    pub client_id: String,
    pub uri: String,
    pub logout_token: String,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
}

pub trait BackchannelStore {
    fn enqueue_logout(&self, delivery: &Delivery) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn due_logouts(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Delivery>, StoreError>> + Send;
    /// Claims a due delivery for this deliverer until `lease_until`: of several deliverers
    /// (replicas, or a retry racing the worker) exactly one gets `true` and sends it.
    fn claim_logout(
        &self,
        id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn logout_delivered(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn logout_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    realm_id: String,
    client_id: String,
    uri: String,
    logout_token: String,
    attempts: i32,
    next_attempt_at: i64,
}

impl BackchannelStore for Db {
    async fn enqueue_logout(&self, d: &Delivery) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO backchannel_logouts (id, realm_id, client_id, uri, logout_token, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&d.id)
        .bind(&d.realm_id)
        .bind(&d.client_id)
        .bind(&d.uri)
        .bind(&d.logout_token)
        .bind(d.attempts)
        .bind(to_millis(d.next_attempt_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn due_logouts(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query_as::<_, DeliveryRow>(
            "SELECT id, realm_id, client_id, uri, logout_token, attempts, next_attempt_at \
             FROM backchannel_logouts WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(to_millis(now))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Delivery {
                id: r.id,
                realm_id: r.realm_id,
                client_id: r.client_id,
                uri: r.uri,
                logout_token: r.logout_token,
                attempts: r.attempts,
                next_attempt_at: from_millis(r.next_attempt_at),
            })
            .collect())
    }

    async fn claim_logout(
        &self,
        id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE backchannel_logouts SET next_attempt_at = $1 \
             WHERE id = $2 AND delivered_at IS NULL AND next_attempt_at <= $3",
        )
        .bind(to_millis(lease_until))
        .bind(id)
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn logout_delivered(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE backchannel_logouts SET delivered_at = $1, attempts = attempts + 1 WHERE id = $2",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn logout_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE backchannel_logouts SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
             WHERE id = $3",
        )
        .bind(error)
        .bind(to_millis(next_attempt_at))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
