//! お知らせ: the kenpo's notices and their attached files. Members read only what is published
//! now (`published_at <= now < expires_at`), always within their own kenpo; the kenpo's API reads
//! and writes all of its own.

use super::{Db, StoreError};
use crate::domain::{AttachmentId, NoticeCategory, NoticeId};
use std::future::Future;

/// A notice as stored. Times are epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: NoticeId,
    pub fields: NoticeFields,
    /// Empty in lists; filled when one notice is read.
    pub attachments: Vec<AttachmentInfo>,
}

/// What the kenpo writes of a notice, already checked (`flows::notices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeFields {
    pub category: NoticeCategory,
    pub title: String,
    pub body: String,
    pub published_at: i64,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub id: AttachmentId,
    pub file_name: String,
    /// As its content showed (`infer`), never as the sender said.
    pub media_type: String,
    pub size_bytes: i64,
}

/// A file to attach, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub file_name: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

/// One page of a list, and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: i64,
}

pub trait NoticeStore {
    /// The kenpo's notices shown at `now`, newest first, of `category` when given.
    fn published_notices(
        &self,
        kenpo_id: &str,
        now: i64,
        category: Option<NoticeCategory>,
        offset: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Listed<Notice>, StoreError>> + Send;
    /// One of the kenpo's notices with its files' descriptions, whatever its window (the flow
    /// decides whether a member sees it).
    fn notice(
        &self,
        kenpo_id: &str,
        id: &NoticeId,
    ) -> impl Future<Output = Result<Option<Notice>, StoreError>> + Send;
    /// The file `attachment` of the kenpo's notice `notice`, with its content.
    fn attachment(
        &self,
        kenpo_id: &str,
        notice: &NoticeId,
        attachment: &AttachmentId,
    ) -> impl Future<Output = Result<Option<(AttachmentInfo, Vec<u8>)>, StoreError>> + Send;
    /// A page of the kenpo's notices, scheduled and expired too, newest first, with their files.
    fn kenpo_notices(
        &self,
        kenpo_id: &str,
        offset: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Listed<Notice>, StoreError>> + Send;
    /// Deletes the kenpo's notices (and their files) that expired before `expired_before`; how
    /// many. A notice without an expiry is never purged.
    fn purge_notices_expired_before(
        &self,
        kenpo_id: &str,
        expired_before: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn insert_notice(
        &self,
        kenpo_id: &str,
        fields: &NoticeFields,
        attachments: &[NewAttachment],
        now: i64,
    ) -> impl Future<Output = Result<NoticeId, StoreError>> + Send;
    /// Replaces the notice's fields, and its files when `attachments` is given. `false` when the
    /// kenpo has no such notice.
    fn update_notice(
        &self,
        kenpo_id: &str,
        id: &NoticeId,
        fields: &NoticeFields,
        attachments: Option<&[NewAttachment]>,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes the notice and its files; `false` when the kenpo has no such notice.
    fn delete_notice(
        &self,
        kenpo_id: &str,
        id: &NoticeId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: String,
    category: String,
    title: String,
    body: String,
    published_at: i64,
    expires_at: Option<i64>,
}

impl TryFrom<NoticeRow> for Notice {
    type Error = StoreError;
    fn try_from(r: NoticeRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: NoticeId::from_db(r.id),
            fields: NoticeFields {
                category: NoticeCategory::parse(&r.category)
                    .ok_or(StoreError::Corrupt("notices.category"))?,
                title: r.title,
                body: r.body,
                published_at: r.published_at,
                expires_at: r.expires_at,
            },
            attachments: Vec::new(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: String,
    notice_id: String,
    file_name: String,
    media_type: String,
    size_bytes: i64,
}

impl From<AttachmentRow> for AttachmentInfo {
    fn from(r: AttachmentRow) -> Self {
        Self {
            id: AttachmentId::from_db(r.id),
            file_name: r.file_name,
            media_type: r.media_type,
            size_bytes: r.size_bytes,
        }
    }
}

const COLUMNS: &str = "id, category, title, body, published_at, expires_at";
const ATTACHMENT_COLUMNS: &str = "a.id, a.notice_id, a.file_name, a.media_type, a.size_bytes";

impl Db {
    /// The files of these notices of the kenpo's, by notice, in their order.
    async fn attachments_of(&self, kenpo_id: &str, notices: &mut [Notice]) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        // A page of notices at most: well within the backends' limits on bound parameters.
        let ids = (0..notices.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM notice_attachments a JOIN notices n ON n.id = a.notice_id \
             WHERE n.kenpo_id = $1 AND n.id IN ({ids}) ORDER BY a.notice_id, a.position"
        );
        let mut query = sqlx::query_as::<_, AttachmentRow>(&sql).bind(kenpo_id);
        for n in notices.iter() {
            query = query.bind(n.id.as_str());
        }
        let rows = query.fetch_all(self.pool()).await?;
        for row in rows {
            if let Some(n) = notices.iter_mut().find(|n| n.id.as_str() == row.notice_id) {
                n.attachments.push(row.into());
            }
        }
        Ok(())
    }
}

async fn insert_attachments(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    notice: &NoticeId,
    attachments: &[NewAttachment],
) -> Result<(), StoreError> {
    for (position, a) in attachments.iter().enumerate() {
        sqlx::query(
            "INSERT INTO notice_attachments (id, notice_id, position, file_name, media_type, size_bytes, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(AttachmentId::new().as_str())
        .bind(notice.as_str())
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&a.file_name)
        .bind(&a.media_type)
        .bind(i64::try_from(a.content.len()).unwrap_or(i64::MAX))
        .bind(a.content.as_slice())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl NoticeStore for Db {
    async fn published_notices(
        &self,
        kenpo_id: &str,
        now: i64,
        category: Option<NoticeCategory>,
        offset: i64,
        limit: i64,
    ) -> Result<Listed<Notice>, StoreError> {
        // `$3 = ''` selects every category.
        const SHOWN: &str = "kenpo_id = $1 AND published_at <= $2 AND (expires_at IS NULL OR expires_at > $2) \
             AND ($3 = '' OR category = $3)";
        let category = category.map_or("", NoticeCategory::as_str);
        let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM notices WHERE {SHOWN}"))
            .bind(kenpo_id)
            .bind(now)
            .bind(category)
            .fetch_one(self.pool())
            .await?;
        let items = sqlx::query_as::<_, NoticeRow>(&format!(
            "SELECT {COLUMNS} FROM notices WHERE {SHOWN} ORDER BY published_at DESC, id LIMIT $4 OFFSET $5"
        ))
        .bind(kenpo_id)
        .bind(now)
        .bind(category)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Notice::try_from)
        .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    async fn notice(&self, kenpo_id: &str, id: &NoticeId) -> Result<Option<Notice>, StoreError> {
        let row = sqlx::query_as::<_, NoticeRow>(&format!(
            "SELECT {COLUMNS} FROM notices WHERE kenpo_id = $1 AND id = $2"
        ))
        .bind(kenpo_id)
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?;
        let Some(mut notice) = row.map(Notice::try_from).transpose()? else { return Ok(None) };
        notice.attachments = sqlx::query_as::<_, AttachmentRow>(&format!(
            "SELECT {ATTACHMENT_COLUMNS} FROM notice_attachments a WHERE a.notice_id = $1 ORDER BY a.position"
        ))
        .bind(id.as_str())
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(AttachmentInfo::from)
        .collect();
        Ok(Some(notice))
    }

    async fn attachment(
        &self,
        kenpo_id: &str,
        notice: &NoticeId,
        attachment: &AttachmentId,
    ) -> Result<Option<(AttachmentInfo, Vec<u8>)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            info: AttachmentRow,
            content: Vec<u8>,
        }
        let row = sqlx::query_as::<_, Row>(&format!(
            "SELECT {ATTACHMENT_COLUMNS}, a.content FROM notice_attachments a \
             JOIN notices n ON n.id = a.notice_id WHERE n.kenpo_id = $1 AND n.id = $2 AND a.id = $3"
        ))
        .bind(kenpo_id)
        .bind(notice.as_str())
        .bind(attachment.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| (r.info.into(), r.content)))
    }

    async fn kenpo_notices(
        &self,
        kenpo_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Listed<Notice>, StoreError> {
        let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notices WHERE kenpo_id = $1")
            .bind(kenpo_id)
            .fetch_one(self.pool())
            .await?;
        let mut notices = sqlx::query_as::<_, NoticeRow>(&format!(
            "SELECT {COLUMNS} FROM notices WHERE kenpo_id = $1 ORDER BY published_at DESC, id LIMIT $2 OFFSET $3"
        ))
        .bind(kenpo_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Notice::try_from)
        .collect::<Result<Vec<_>, _>>()?;
        self.attachments_of(kenpo_id, &mut notices).await?;
        Ok(Listed { items: notices, total })
    }

    async fn purge_notices_expired_before(
        &self,
        kenpo_id: &str,
        expired_before: i64,
    ) -> Result<u64, StoreError> {
        // Files go with their notice (ON DELETE CASCADE).
        let done = sqlx::query(
            "DELETE FROM notices WHERE kenpo_id = $1 AND expires_at IS NOT NULL AND expires_at < $2",
        )
        .bind(kenpo_id)
        .bind(expired_before)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn insert_notice(
        &self,
        kenpo_id: &str,
        fields: &NoticeFields,
        attachments: &[NewAttachment],
        now: i64,
    ) -> Result<NoticeId, StoreError> {
        let id = NoticeId::new();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO notices (id, kenpo_id, category, title, body, published_at, expires_at, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(id.as_str())
        .bind(kenpo_id)
        .bind(fields.category.as_str())
        .bind(&fields.title)
        .bind(&fields.body)
        .bind(fields.published_at)
        .bind(fields.expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_attachments(&mut tx, &id, attachments).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_notice(
        &self,
        kenpo_id: &str,
        id: &NoticeId,
        fields: &NoticeFields,
        attachments: Option<&[NewAttachment]>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE notices SET category = $1, title = $2, body = $3, published_at = $4, expires_at = $5, \
             updated_at = $6 WHERE kenpo_id = $7 AND id = $8",
        )
        .bind(fields.category.as_str())
        .bind(&fields.title)
        .bind(&fields.body)
        .bind(fields.published_at)
        .bind(fields.expires_at)
        .bind(now)
        .bind(kenpo_id)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(attachments) = attachments {
            sqlx::query("DELETE FROM notice_attachments WHERE notice_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            insert_attachments(&mut tx, id, attachments).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn delete_notice(&self, kenpo_id: &str, id: &NoticeId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM notices WHERE kenpo_id = $1 AND id = $2")
            .bind(kenpo_id)
            .bind(id.as_str())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests;
