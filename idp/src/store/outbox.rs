//! The mail outbox: mails survive restarts and a mail server that is down, and are retried with
//! backoff. The message is stored sealed (see the migration); this store never sees it in clear.

use super::{Db, StoreError};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;

/// What a mail is for; each kind has its own sender and template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    VerifyEmail,
    ResetPassword,
    UsernameReminder,
    FirstLoginDone,
    /// A mailed one-time password (OTPメール認証, 2-4-5).
    LoginCode,
    /// The kenpo reset the member's second factors (3-8).
    SecondFactorsReset,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify-email",
            Self::ResetPassword => "reset-password",
            Self::UsernameReminder => "username-reminder",
            Self::FirstLoginDone => "first-login-done",
            Self::LoginCode => "login-code",
            Self::SecondFactorsReset => "second-factors-reset",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::VerifyEmail,
            Self::ResetPassword,
            Self::UsernameReminder,
            Self::FirstLoginDone,
            Self::LoginCode,
            Self::SecondFactorsReset,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

/// A mail waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMail {
    pub id: String,
    pub realm_id: String,
    pub kind: MailKind,
    /// The envelope sender (`MAIL FROM`), e.g. `no-reply@demo.example.jp`.
    pub sender: String,
    /// The envelope recipient (`RCPT TO`).
    pub recipient: String,
    /// The formatted message, sealed under the master key.
    pub sealed_message: String,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
}

/// A row of the outbox as the audit trail shows it: no message.
#[derive(Debug, Clone, PartialEq)]
pub struct MailRecord {
    pub id: String,
    pub kind: MailKind,
    pub sender: String,
    pub recipient: String,
    pub attempts: i32,
    /// `None` once sent or given up.
    pub next_attempt_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
}

pub trait OutboxStore {
    /// Queues a mail, due at its `next_attempt_at`.
    fn enqueue_mail(
        &self,
        mail: &QueuedMail,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Pending mails due at `now`, the longest waiting first.
    fn due_mails(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<QueuedMail>, StoreError>> + Send;
    /// Claims a due mail for this deliverer until `lease_until`: of several deliverers (replicas,
    /// or a wake-up racing the timer) exactly one gets `true` and sends it.
    fn claim_mail(
        &self,
        id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records the mail as sent and drops its sealed message; the row stays for the audit trail.
    fn mail_sent(&self, id: &str, now: OffsetDateTime)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a failed attempt: try again at `next_attempt_at`, or with `None` give up, which
    /// drops the sealed message too.
    fn mail_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The realm's outbox, newest first, without the messages.
    fn realm_mails(
        &self,
        realm_id: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<MailRecord>, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct QueuedRow {
    id: String,
    realm_id: String,
    kind: String,
    sender: String,
    recipient: String,
    message: Option<String>,
    attempts: i32,
    next_attempt_at: Option<i64>,
}

impl TryFrom<QueuedRow> for QueuedMail {
    type Error = StoreError;
    fn try_from(row: QueuedRow) -> Result<Self, StoreError> {
        let (Some(sealed_message), Some(next_attempt_at)) = (row.message, row.next_attempt_at) else {
            return Err(StoreError::corrupt(format!("mail_outbox {}: pending without a message", row.id)));
        };
        Ok(Self {
            kind: kind(&row.kind)?,
            id: row.id,
            realm_id: row.realm_id,
            sender: row.sender,
            recipient: row.recipient,
            sealed_message,
            attempts: row.attempts,
            next_attempt_at: from_millis(next_attempt_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: String,
    kind: String,
    sender: String,
    recipient: String,
    attempts: i32,
    next_attempt_at: Option<i64>,
    sent_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

impl TryFrom<RecordRow> for MailRecord {
    type Error = StoreError;
    fn try_from(row: RecordRow) -> Result<Self, StoreError> {
        Ok(Self {
            kind: kind(&row.kind)?,
            id: row.id,
            sender: row.sender,
            recipient: row.recipient,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at.map(from_millis),
            sent_at: row.sent_at.map(from_millis),
            last_error: row.last_error,
            created_at: from_millis(row.created_at),
        })
    }
}

fn kind(raw: &str) -> Result<MailKind, StoreError> {
    MailKind::parse(raw).ok_or_else(|| StoreError::corrupt(format!("mail_outbox.kind: {raw:?}")))
}

impl OutboxStore for Db {
    async fn enqueue_mail(&self, mail: &QueuedMail, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mail_outbox (id, realm_id, kind, sender, recipient, message, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&mail.id)
        .bind(&mail.realm_id)
        .bind(mail.kind.as_str())
        .bind(&mail.sender)
        .bind(&mail.recipient)
        .bind(&mail.sealed_message)
        .bind(mail.attempts)
        .bind(to_millis(mail.next_attempt_at))
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn due_mails(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<QueuedMail>, StoreError> {
        sqlx::query_as::<_, QueuedRow>(
            "SELECT id, realm_id, kind, sender, recipient, message, attempts, next_attempt_at \
             FROM mail_outbox WHERE next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(to_millis(now))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(QueuedMail::try_from)
        .collect()
    }

    async fn claim_mail(
        &self,
        id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self.0.claim_due("mail_outbox", id, now, lease_until).await?)
    }

    async fn mail_sent(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1, message = NULL, \
             next_attempt_at = NULL WHERE id = $2",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn mail_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let query = match next_attempt_at {
            Some(next) => sqlx::query(
                "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
                 WHERE id = $3",
            )
            .bind(error)
            .bind(to_millis(next)),
            None => sqlx::query(
                "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = NULL, \
                 message = NULL WHERE id = $2",
            )
            .bind(error),
        };
        query.bind(id).execute(self.pool()).await?;
        Ok(())
    }

    async fn realm_mails(&self, realm_id: &str, limit: u32) -> Result<Vec<MailRecord>, StoreError> {
        sqlx::query_as::<_, RecordRow>(
            "SELECT id, kind, sender, recipient, attempts, next_attempt_at, sent_at, last_error, created_at \
             FROM mail_outbox WHERE realm_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(realm_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(MailRecord::try_from)
        .collect()
    }
}
