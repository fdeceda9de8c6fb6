//! The update-mail outbox, as the deliverer sees it: due rows, a lease so that of several
//! deliverers (replicas, or a wake-up racing the timer) exactly one sends a mail, and the outcome.
//! Rows are queued inside an import's transaction (`ImportTx::queue_update_mail`).

use super::{Db, StoreError, Subscriber};
use crate::domain::MemberId;
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;

/// A mail waiting to be sent. It holds no message: the mail is written from the category when
/// it is sent (see `mail::compose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueUpdateMail {
    pub id: String,
    pub kenpo_id: String,
    /// The login the mail is for.
    pub member_id: MemberId,
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
    /// Of `members`, those who opted in to `category` (`MailCategory::key`) and have logged in
    /// with a verified address, with the address and language of their latest login.
    fn mail_subscribers(
        &self,
        members: &[MemberId],
        category: &str,
    ) -> impl Future<Output = Result<Vec<Subscriber>, StoreError>> + Send;
    /// Of `members`, those who have logged in with a verified address, with the address and
    /// language of their latest login, opted in to anything or not: for a request to act (a
    /// survey reminder), not news.
    fn login_addresses(
        &self,
        members: &[MemberId],
    ) -> impl Future<Output = Result<Vec<Subscriber>, StoreError>> + Send;
    /// Queues a mail outside an import (a 資格情報のお知らせ); a mail already queued for the
    /// same publication, member and category is left as it is. Returns whether one was queued.
    fn queue_update_mail(
        &self,
        mail: NewUpdateMail<'_>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
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
    /// Records the mail as sent to `recipient`; the row stays as the trail.
    fn update_mail_sent(
        &self,
        id: &str,
        recipient: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a failed attempt: try again at `next_attempt_at`, or with `None` give up.
    fn update_mail_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes the kenpo's update mails queued before `before` (milliseconds) that are done
    /// (sent, withdrawn or given up); pending ones stay. Returns how many it deleted.
    fn purge_update_mails_before(
        &self,
        kenpo_id: &str,
        before: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// The kenpo's update mails, newest first.
    fn kenpo_update_mails(
        &self,
        kenpo_id: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<UpdateMailRecord>, StoreError>> + Send;
}

/// A mail to queue: what was published, for whom, where to.
#[derive(Debug, Clone, Copy)]
pub struct NewUpdateMail<'a> {
    pub kenpo_id: &'a str,
    pub publication: &'a str,
    pub category: &'a str,
    pub member: &'a MemberId,
    pub recipient: &'a str,
    pub locale: &'a str,
}

#[derive(sqlx::FromRow)]
struct SubscriberRow {
    member_id: String,
    email: String,
    locale: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: String,
    kenpo_id: String,
    member_id: String,
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

/// The latest verified login address of each of `members`, of those opted in to `opted_in` if
/// given.
async fn addresses(
    db: &Db,
    members: &[MemberId],
    opted_in: Option<&str>,
) -> Result<Vec<Subscriber>, StoreError> {
    let (join, first) = match opted_in {
        Some(_) => ("JOIN mail_opt_ins o ON o.member_id = l.member_id AND o.category = $1", 2),
        None => ("", 1),
    };
    let mut found = Vec::new();
    // In parts, well under either backend's limit on bound parameters.
    for chunk in members.chunks(super::inbox::CHUNK) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + first)).collect();
        let sql = format!(
            "SELECT l.member_id, l.email, l.locale FROM member_logins l {join} \
             WHERE l.email IS NOT NULL AND l.member_id IN ({}) ORDER BY l.member_id",
            list.join(", ")
        );
        let mut query = sqlx::query_as::<_, SubscriberRow>(&sql);
        if let Some(category) = opted_in {
            query = query.bind(category);
        }
        for member in chunk {
            query = query.bind(member.as_str());
        }
        found.extend(query.fetch_all(db.pool()).await?.into_iter().map(|r| Subscriber {
            member_id: MemberId::from_db(r.member_id),
            email: r.email,
            locale: r.locale,
        }));
    }
    Ok(found)
}

impl UpdateMailStore for Db {
    async fn mail_subscribers(
        &self,
        members: &[MemberId],
        category: &str,
    ) -> Result<Vec<Subscriber>, StoreError> {
        addresses(self, members, Some(category)).await
    }

    async fn login_addresses(&self, members: &[MemberId]) -> Result<Vec<Subscriber>, StoreError> {
        addresses(self, members, None).await
    }

    async fn queue_update_mail(
        &self,
        mail: NewUpdateMail<'_>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO update_mails (id, kenpo_id, publication_id, member_id, category, locale, \
             recipient, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8) \
             ON CONFLICT (publication_id, member_id, category) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(mail.kenpo_id)
        .bind(mail.publication)
        .bind(mail.member.as_str())
        .bind(mail.category)
        .bind(mail.locale)
        .bind(mail.recipient)
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn due_update_mails(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<DueUpdateMail>, StoreError> {
        let rows = sqlx::query_as::<_, DueRow>(
            "SELECT id, kenpo_id, member_id, category, locale, recipient, attempts FROM update_mails \
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
                member_id: MemberId::from_db(r.member_id),
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
        Ok(self.0.claim_due("update_mails", id, now, lease_until).await?)
    }

    async fn update_mail_sent(
        &self,
        id: &str,
        recipient: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE update_mails SET sent_at = $1, recipient = $2, attempts = attempts + 1, \
             next_attempt_at = NULL WHERE id = $3",
        )
        .bind(to_millis(now))
        .bind(recipient)
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

    async fn purge_update_mails_before(&self, kenpo_id: &str, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM update_mails WHERE kenpo_id = $1 AND created_at < $2 AND next_attempt_at IS NULL",
        )
        .bind(kenpo_id)
        .bind(before)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
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
