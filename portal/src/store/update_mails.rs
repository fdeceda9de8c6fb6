//! The update-mail outbox, as the deliverer sees it: due rows, a lease so that of several
//! deliverers (replicas, or a wake-up racing the timer) exactly one sends a mail, and the outcome.
//! Rows are queued inside an import's transaction (`ImportTx::queue_update_mail`).

use super::{Db, StoreError};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;

/// A mail waiting to be sent. It holds no message: the mail is written from the category when
/// it is sent (see `mail::compose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueUpdateMail {
    pub id: String,
    pub kenpo_id: String,
    /// `MailCategory::key`.
    pub category: String,
    /// `ja` or `en`.
    pub locale: String,
    pub recipient: String,
    pub attempts: i32,
}

/// A row of the outbox as the trail shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMailRecord {
    pub publication_id: String,
    pub member_id: String,
    pub category: String,
    pub recipient: String,
    pub attempts: i32,
    /// `None` once sent or given up.
    pub next_attempt_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

pub trait UpdateMailStore {
    /// Pending mails due at `now`, the longest waiting first.
    fn due_update_mails(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueUpdateMail>, StoreError>> + Send;
    /// Claims a due mail until `lease_until`: of several deliverers exactly one gets `true`.
    fn claim_update_mail(
        &self,
        id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records the mail as sent; the row stays as the trail.
    fn update_mail_sent(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a failed attempt: try again at `next_attempt_at`, or with `None` give up.
    fn update_mail_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The kenpo's update mails, newest first.
    fn kenpo_update_mails(
        &self,
        kenpo_id: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<UpdateMailRecord>, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: String,
    kenpo_id: String,
    category: String,
    locale: String,
    recipient: String,
    attempts: i32,
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    publication_id: String,
    member_id: String,
    category: String,
    recipient: String,
    attempts: i32,
    next_attempt_at: Option<i64>,
    sent_at: Option<i64>,
    last_error: Option<String>,
}

impl UpdateMailStore for Db {
    async fn due_update_mails(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<DueUpdateMail>, StoreError> {
        let rows = sqlx::query_as::<_, DueRow>(
            "SELECT id, kenpo_id, category, locale, recipient, attempts FROM update_mails \
             WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(to_millis(now))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| DueUpdateMail {
                id: r.id,
                kenpo_id: r.kenpo_id,
                category: r.category,
                locale: r.locale,
                recipient: r.recipient,
                attempts: r.attempts,
            })
            .collect())
    }

    async fn claim_update_mail(
        &self,
        id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "UPDATE update_mails SET next_attempt_at = $1 WHERE id = $2 AND next_attempt_at <= $3",
        )
        .bind(to_millis(lease_until))
        .bind(id)
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn update_mail_sent(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE update_mails SET sent_at = $1, attempts = attempts + 1, next_attempt_at = NULL \
             WHERE id = $2",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn update_mail_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE update_mails SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
             WHERE id = $3",
        )
        .bind(error)
        .bind(next_attempt_at.map(to_millis))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn kenpo_update_mails(
        &self,
        kenpo_id: &str,
        limit: u32,
    ) -> Result<Vec<UpdateMailRecord>, StoreError> {
        let rows = sqlx::query_as::<_, RecordRow>(
            "SELECT publication_id, member_id, category, recipient, attempts, next_attempt_at, sent_at, \
             last_error FROM update_mails WHERE kenpo_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(kenpo_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| UpdateMailRecord {
                publication_id: r.publication_id,
                member_id: r.member_id,
                category: r.category,
                recipient: r.recipient,
                attempts: r.attempts,
                next_attempt_at: r.next_attempt_at.map(from_millis),
                sent_at: r.sent_at.map(from_millis),
                last_error: r.last_error,
            })
            .collect())
    }
}
