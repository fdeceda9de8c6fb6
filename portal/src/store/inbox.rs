//! MYメール: messages and the inboxes they were delivered to. An inbox is the member a login
//! signs in as; everything a member reads here is selected by their own member id, so a message
//! of someone else's is simply not found. A delivery the member deleted keeps its row, marked
//! `deleted_at`, so the kenpo's counts stay true; every read of the member's skips it.

use super::notices::Listed;
use super::{Db, StoreError};
use crate::domain::{MemberId, MessageId};
use crate::tenant::MailCategory;
use std::future::Future;

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The kenpo, as it wrote it (plain text).
    Kenpo { subject: String, body: String },
    /// The portal, announcing new information of an update mail's category in the
    /// catalogue's words (`inbox.system.<category>.subject` and `.body`), in the reader's
    /// language; like the mails, never with medical content.
    System(MailCategory),
}

/// A message in one member's inbox. Times are epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub content: Content,
    pub sent_at: i64,
    pub read_at: Option<i64>,
}

/// A message the kenpo sent, as its list of sent messages shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub id: MessageId,
    pub subject: String,
    pub body: String,
    pub sent_at: i64,
    /// Inboxes it was delivered to (those whose member deleted it since included).
    pub recipients: i64,
    /// Of those, how many opened it.
    pub read: i64,
}

/// Whom a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'a> {
    /// Every inbox of the kenpo: each member with a login, and each household's insured.
    All,
    /// The inboxes these members read: their own when they have a login, else their household's
    /// (the insured's). Ids of other kenpos are ignored.
    Members(&'a [MemberId]),
}

/// A member's card: 記号・番号・枝番.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Card {
    pub symbol: String,
    pub number: String,
    pub branch: String,
}

pub trait InboxStore {
    /// Stores the message and delivers it to `audience`, in one transaction; the number of
    /// inboxes it reached.
    fn deliver(
        &self,
        kenpo_id: &str,
        content: &Content,
        audience: Audience<'_>,
        sent_at: i64,
    ) -> impl Future<Output = Result<(MessageId, u64), StoreError>> + Send;
    /// Which of `ids` are members of the kenpo.
    fn kenpo_members(
        &self,
        kenpo_id: &str,
        ids: &[MemberId],
    ) -> impl Future<Output = Result<Vec<MemberId>, StoreError>> + Send;
    /// The kenpo's members with these cards.
    fn members_by_card(
        &self,
        kenpo_id: &str,
        cards: &[Card],
    ) -> impl Future<Output = Result<Vec<(Card, MemberId)>, StoreError>> + Send;
    /// The member's messages sent at or after `since`, newest first.
    fn inbox(
        &self,
        member: &MemberId,
        since: i64,
        offset: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Listed<Message>, StoreError>> + Send;
    /// One message of the member's, sent at or after `since`.
    fn inbox_message(
        &self,
        member: &MemberId,
        id: &MessageId,
        since: i64,
    ) -> impl Future<Output = Result<Option<Message>, StoreError>> + Send;
    /// Marks the member's message read (the first time only).
    fn mark_read(
        &self,
        member: &MemberId,
        id: &MessageId,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// How many of the member's messages sent at or after `since` are unread.
    fn unread_count(
        &self,
        member: &MemberId,
        since: i64,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Deletes the kenpo's messages sent before `before` (and their deliveries).
    fn purge_messages_before(
        &self,
        kenpo_id: &str,
        before: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Removes the member's message from their inbox (it stays counted in the kenpo's list);
    /// `false` when they have no such message sent at or after `since`.
    fn delete_delivery(
        &self,
        member: &MemberId,
        id: &MessageId,
        since: i64,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The messages the kenpo wrote (not the portal's), newest first, with their counts.
    fn sent_messages(
        &self,
        kenpo_id: &str,
        offset: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Listed<SentMessage>, StoreError>> + Send;
    /// Deletes a message the kenpo wrote, from every inbox it went to: how many inboxes still
    /// held it, or `None` when the kenpo wrote no such message.
    fn recall_message(
        &self,
        kenpo_id: &str,
        id: &MessageId,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;
}

/// `$first, $first+1, …` for an `IN (…)` list.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Ids per statement: well under SQLite's and PostgreSQL's limits on bound parameters.
pub(super) const CHUNK: usize = 500;

/// A message: id, kenpo, sender, system kind, subject, body, sent at.
pub(super) const INSERT_MESSAGE: &str = "INSERT INTO inbox_messages \
     (id, kenpo_id, sender, system_kind, subject, body, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// The deliveries of message `$1` of kenpo `$2` to `n` members (`$3`…): a member with a login
/// reads their own inbox; one without reads through the household's insured. Two dependants of
/// one household make one delivery.
pub(super) fn deliveries_to_members(n: usize) -> String {
    format!(
        "INSERT INTO inbox_deliveries (member_id, message_id) \
         SELECT DISTINCT CASE WHEN m.subject IS NOT NULL THEN m.id ELSE i.id END, $1 \
         FROM members m LEFT JOIN members i ON i.household_id = m.household_id \
         AND i.relation = 'insured' \
         WHERE m.kenpo_id = $2 AND (m.subject IS NOT NULL OR i.id IS NOT NULL) \
         AND m.id IN ({}) ON CONFLICT DO NOTHING",
        placeholders(3, n)
    )
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    sender: String,
    system_kind: Option<String>,
    subject: String,
    body: String,
    sent_at: i64,
    read_at: Option<i64>,
}

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        let content = match (r.sender.as_str(), r.system_kind.as_deref()) {
            ("kenpo", _) => Content::Kenpo { subject: r.subject, body: r.body },
            ("system", Some(kind)) => Content::System(
                MailCategory::parse(kind).ok_or(StoreError::Corrupt("inbox_messages.system_kind"))?,
            ),
            _ => return Err(StoreError::Corrupt("inbox_messages.sender")),
        };
        Ok(Self { id: MessageId::from_db(r.id), content, sent_at: r.sent_at, read_at: r.read_at })
    }
}

const SELECT: &str = "SELECT m.id, m.sender, m.system_kind, m.subject, m.body, m.sent_at, d.read_at \
     FROM inbox_deliveries d JOIN inbox_messages m ON m.id = d.message_id";

impl InboxStore for Db {
    async fn deliver(
        &self,
        kenpo_id: &str,
        content: &Content,
        audience: Audience<'_>,
        sent_at: i64,
    ) -> Result<(MessageId, u64), StoreError> {
        let id = MessageId::new();
        let (sender, kind, subject, body) = match content {
            Content::Kenpo { subject, body } => ("kenpo", None, subject.as_str(), body.as_str()),
            Content::System(kind) => ("system", Some(kind.key()), "", ""),
        };
        let mut tx = self.pool().begin().await?;
        sqlx::query(INSERT_MESSAGE)
            .bind(id.as_str())
            .bind(kenpo_id)
            .bind(sender)
            .bind(kind)
            .bind(subject)
            .bind(body)
            .bind(sent_at)
            .execute(&mut *tx)
            .await?;
        let mut delivered = 0;
        match audience {
            Audience::All => {
                delivered = sqlx::query(
                    "INSERT INTO inbox_deliveries (member_id, message_id) SELECT m.id, $1 FROM members m \
                     WHERE m.kenpo_id = $2 AND (m.subject IS NOT NULL OR m.relation = 'insured')",
                )
                .bind(id.as_str())
                .bind(kenpo_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            Audience::Members(members) => {
                for chunk in members.chunks(CHUNK) {
                    let sql = deliveries_to_members(chunk.len());
                    let mut query = sqlx::query(&sql).bind(id.as_str()).bind(kenpo_id);
                    for m in chunk {
                        query = query.bind(m.as_str());
                    }
                    delivered += query.execute(&mut *tx).await?.rows_affected();
                }
            }
        }
        tx.commit().await?;
        Ok((id, delivered))
    }

    async fn kenpo_members(&self, kenpo_id: &str, ids: &[MemberId]) -> Result<Vec<MemberId>, StoreError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT id FROM members WHERE kenpo_id = $1 AND id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(kenpo_id);
            for m in chunk {
                query = query.bind(m.as_str());
            }
            found.extend(query.fetch_all(self.pool()).await?.into_iter().map(|(id,)| MemberId::from_db(id)));
        }
        Ok(found)
    }

    async fn members_by_card(
        &self,
        kenpo_id: &str,
        cards: &[Card],
    ) -> Result<Vec<(Card, MemberId)>, StoreError> {
        let mut found = Vec::new();
        for chunk in cards.chunks(CHUNK / 3) {
            let matches = (0..chunk.len())
                .map(|i| {
                    let n = 2 + i * 3;
                    format!("(h.symbol = ${n} AND h.number = ${} AND m.branch = ${})", n + 1, n + 2)
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!(
                "SELECT h.symbol, h.number, m.branch, m.id FROM members m JOIN households h ON h.id = m.household_id \
                 WHERE m.kenpo_id = $1 AND ({matches})"
            );
            let mut query = sqlx::query_as::<_, (String, String, String, String)>(&sql).bind(kenpo_id);
            for card in chunk {
                query = query.bind(&card.symbol).bind(&card.number).bind(&card.branch);
            }
            found.extend(query.fetch_all(self.pool()).await?.into_iter().map(
                |(symbol, number, branch, id)| (Card { symbol, number, branch }, MemberId::from_db(id)),
            ));
        }
        Ok(found)
    }

    async fn inbox(
        &self,
        member: &MemberId,
        since: i64,
        offset: i64,
        limit: i64,
    ) -> Result<Listed<Message>, StoreError> {
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM inbox_deliveries d JOIN inbox_messages m ON m.id = d.message_id \
             WHERE d.member_id = $1 AND d.deleted_at IS NULL AND m.sent_at >= $2",
        )
        .bind(member.as_str())
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        let items = sqlx::query_as::<_, MessageRow>(&format!(
            "{SELECT} WHERE d.member_id = $1 AND d.deleted_at IS NULL AND m.sent_at >= $2 ORDER BY m.sent_at DESC, m.id LIMIT $3 OFFSET $4"
        ))
        .bind(member.as_str())
        .bind(since)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Message::try_from)
        .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    async fn inbox_message(
        &self,
        member: &MemberId,
        id: &MessageId,
        since: i64,
    ) -> Result<Option<Message>, StoreError> {
        sqlx::query_as::<_, MessageRow>(&format!(
            "{SELECT} WHERE d.member_id = $1 AND d.message_id = $2 AND d.deleted_at IS NULL AND m.sent_at >= $3"
        ))
        .bind(member.as_str())
        .bind(id.as_str())
        .bind(since)
        .fetch_optional(self.pool())
        .await?
        .map(Message::try_from)
        .transpose()
    }

    async fn mark_read(&self, member: &MemberId, id: &MessageId, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE inbox_deliveries SET read_at = $1 WHERE member_id = $2 AND message_id = $3 AND read_at IS NULL",
        )
        .bind(now)
        .bind(member.as_str())
        .bind(id.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn unread_count(&self, member: &MemberId, since: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM inbox_deliveries d JOIN inbox_messages m ON m.id = d.message_id \
             WHERE d.member_id = $1 AND d.read_at IS NULL AND d.deleted_at IS NULL AND m.sent_at >= $2",
        )
        .bind(member.as_str())
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    async fn purge_messages_before(&self, kenpo_id: &str, before: i64) -> Result<u64, StoreError> {
        // Deliveries go with their message (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM inbox_messages WHERE kenpo_id = $1 AND sent_at < $2")
            .bind(kenpo_id)
            .bind(before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_delivery(
        &self,
        member: &MemberId,
        id: &MessageId,
        since: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE inbox_deliveries SET deleted_at = $1 WHERE member_id = $2 AND message_id = $3 \
             AND deleted_at IS NULL AND message_id IN (SELECT id FROM inbox_messages WHERE sent_at >= $4)",
        )
        .bind(now)
        .bind(member.as_str())
        .bind(id.as_str())
        .bind(since)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn sent_messages(
        &self,
        kenpo_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Listed<SentMessage>, StoreError> {
        let (total,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM inbox_messages WHERE kenpo_id = $1 AND sender = 'kenpo'")
                .bind(kenpo_id)
                .fetch_one(self.pool())
                .await?;
        let rows = sqlx::query_as::<_, (String, String, String, i64, i64, i64)>(
            "SELECT m.id, m.subject, m.body, m.sent_at, \
             (SELECT COUNT(*) FROM inbox_deliveries d WHERE d.message_id = m.id), \
             (SELECT COUNT(*) FROM inbox_deliveries d WHERE d.message_id = m.id AND d.read_at IS NOT NULL) \
             FROM inbox_messages m WHERE m.kenpo_id = $1 AND m.sender = 'kenpo' \
             ORDER BY m.sent_at DESC, m.id LIMIT $2 OFFSET $3",
        )
        .bind(kenpo_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .into_iter()
            .map(|(id, subject, body, sent_at, recipients, read)| SentMessage {
                id: MessageId::from_db(id),
                subject,
                body,
                sent_at,
                recipients,
                read,
            })
            .collect();
        Ok(Listed { items, total })
    }

    async fn recall_message(&self, kenpo_id: &str, id: &MessageId) -> Result<Option<u64>, StoreError> {
        let mut tx = self.pool().begin().await?;
        // It reads, then writes: on SQLite the write lock first, so a writer elsewhere is waited
        // for rather than refused.
        super::lock_for_writing(&mut tx, self.backend()).await?;
        let (held,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM inbox_deliveries WHERE message_id = $1 AND deleted_at IS NULL",
        )
        .bind(id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        // Deliveries go with their message (ON DELETE CASCADE).
        let done =
            sqlx::query("DELETE FROM inbox_messages WHERE kenpo_id = $1 AND id = $2 AND sender = 'kenpo'")
                .bind(kenpo_id)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            // Rolled back now, not when dropped: until then SQLite's write lock stays taken.
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(u64::try_from(held).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests;
