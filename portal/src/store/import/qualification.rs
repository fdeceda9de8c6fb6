//! 資格情報のお知らせ issued by a member import (kenpo setting `qualification_notice_on_import`,
//! decided by `flows::qualification::on_import`), in the import's own transaction: the notice
//! and the member change it states commit together, or neither.

use super::{ImportTx, Tx};
use crate::domain::MemberId;
use crate::store::{NoticeSnapshot, StoreError};
use std::collections::HashMap;
use time::Date;

/// A notice an import issues.
#[derive(Debug, Clone)]
pub struct ImportNotice<'a> {
    pub member_id: &'a MemberId,
    pub issued_on: Date,
    pub reason: crate::domain::NoticeReason,
    pub snapshot: &'a NoticeSnapshot,
}

impl ImportTx {
    /// Each member's latest notice's snapshot (`None` for a notice recorded before snapshots
    /// were kept), for the kenpo's members who have a notice.
    pub async fn latest_notice_snapshots(
        &mut self,
        kenpo: &str,
    ) -> Result<HashMap<MemberId, Option<NoticeSnapshot>>, StoreError> {
        const SQL: &str = "SELECT member_id, snapshot FROM qualification_notices WHERE kenpo_id = $1 \
                           ORDER BY issued_on, created_at, id";
        let rows: Vec<(String, Option<String>)> =
            on_conn!(&mut self.tx, |conn| sqlx::query_as(SQL).bind(kenpo).fetch_all(&mut *conn).await?);
        let mut latest = HashMap::with_capacity(rows.len());
        for (member, snapshot) in rows {
            let snapshot = snapshot
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|_| StoreError::Corrupt("qualification_notices.snapshot"))?;
            // Oldest first: the last one written per member is the latest.
            latest.insert(MemberId::from_db(member), snapshot);
        }
        Ok(latest)
    }

    /// Records `notices`, not yet announced (the delivery job announces them).
    pub async fn record_import_notices(
        &mut self,
        kenpo: &str,
        notices: &[ImportNotice<'_>],
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO qualification_notices \
                           (id, kenpo_id, member_id, issued_on, reason, snapshot, created_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let now = self.now;
        for notice in notices {
            let snapshot = serde_json::to_string(notice.snapshot)
                .map_err(|_| StoreError::Corrupt("qualification_notices.snapshot"))?;
            let id = uuid::Uuid::new_v4().to_string();
            on_conn!(&mut self.tx, |conn| {
                sqlx::query(SQL)
                    .bind(&id)
                    .bind(kenpo)
                    .bind(notice.member_id.as_str())
                    .bind(notice.issued_on.to_string())
                    .bind(notice.reason.as_str())
                    .bind(&snapshot)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
            });
        }
        Ok(())
    }
}
