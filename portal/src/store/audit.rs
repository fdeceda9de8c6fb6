//! The kenpo's audit of health-data reads (要配慮個人情報): who read whose data, what and when,
//! with each person's card (記号・番号・枝番) and name as the kenpo knows them.

use super::{Db, StoreError};
use std::future::Future;

/// One recorded read. A member deleted since is shown by id only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ReadRecord {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// `member` (reader_id is a member's id) or `api_client` (reader_id is the kenpo system's
    /// client_id, and it has no card or name).
    pub reader_kind: String,
    pub reader_id: String,
    pub reader_card: Option<String>,
    pub reader_name: Option<String>,
    pub subject_id: String,
    pub subject_card: Option<String>,
    pub subject_name: Option<String>,
    pub what: String,
    pub detail: String,
}

pub trait AuditStore {
    /// The kenpo's reads in `[from, to)` (milliseconds), oldest first, at most `limit`.
    fn health_data_reads(
        &self,
        kenpo_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<ReadRecord>, StoreError>> + Send;
}

impl AuditStore for Db {
    async fn health_data_reads(
        &self,
        kenpo_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<ReadRecord>, StoreError> {
        let card = |m: &str, h: &str| format!("{h}.symbol || '-' || {h}.number || '-' || {m}.branch");
        let sql = format!(
            "SELECT r.at, r.reader_kind, r.reader_id, {} AS reader_card, rm.name AS reader_name, \
             r.subject_id, {} AS subject_card, sm.name AS subject_name, r.what, r.detail \
             FROM health_data_reads r \
             LEFT JOIN members rm ON rm.id = r.reader_id AND r.reader_kind = 'member' LEFT JOIN households rh ON rh.id = rm.household_id \
             LEFT JOIN members sm ON sm.id = r.subject_id LEFT JOIN households sh ON sh.id = sm.household_id \
             WHERE r.kenpo_id = $1 AND r.at >= $2 AND r.at < $3 ORDER BY r.at, r.id LIMIT $4",
            card("rm", "rh"),
            card("sm", "sh"),
        );
        Ok(sqlx::query_as::<_, ReadRecord>(&sql)
            .bind(kenpo_id)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }
}
