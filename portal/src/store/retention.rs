//! Retention (spec §1: two years by default, older data deleted automatically): deletes a
//! kenpo's health data older than a cutoff month. The audit of reads (`health_data_reads`) is
//! never touched.

use super::{Db, StoreError};
use crate::domain::{KenpoId, Month};
use sqlx::Row as _;

/// Rows deleted, by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PurgeReport {
    pub claims: u64,
    pub prescriptions: u64,
    pub benefits: u64,
    pub checkups: u64,
}

impl Db {
    /// Deletes claims and prescriptions of service/dispensed months, benefits of paid months and
    /// checkups of exam dates before `cutoff`, in one transaction.
    pub async fn purge_older_than(&self, kenpo: &KenpoId, cutoff: Month) -> Result<PurgeReport, StoreError> {
        let month = cutoff.to_string();
        let first_day = format!("{month}-01");
        let mut tx = self.pool().begin().await?;
        let mut delete = async |sql: &str, bound: &str| -> Result<u64, StoreError> {
            let done = sqlx::query(sql).bind(kenpo.as_str()).bind(bound).execute(&mut *tx).await?;
            Ok(done.rows_affected())
        };
        let report = PurgeReport {
            prescriptions: delete(
                "DELETE FROM prescriptions WHERE kenpo_id = $1 AND dispensed_month < $2",
                &month,
            )
            .await?,
            claims: delete("DELETE FROM claims WHERE kenpo_id = $1 AND service_month < $2", &month).await?,
            benefits: delete("DELETE FROM benefits WHERE kenpo_id = $1 AND paid_month < $2", &month).await?,
            checkups: delete("DELETE FROM checkups WHERE kenpo_id = $1 AND exam_date < $2", &first_day)
                .await?,
        };
        tx.commit().await?;
        Ok(report)
    }

    /// Every kenpo with its `retention_months` setting (`None` when unset or not a number).
    pub async fn retention_settings(&self) -> Result<Vec<(KenpoId, Option<u32>)>, StoreError> {
        let rows = sqlx::query("SELECT id, settings FROM kenpos").fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let settings: String = row.try_get(1)?;
            let months = serde_json::from_str::<serde_json::Value>(&settings)
                .ok()
                .and_then(|v| v.get("retention_months")?.as_u64())
                .and_then(|m| u32::try_from(m).ok());
            out.push((KenpoId::from_db(row.try_get(0)?), months));
        }
        Ok(out)
    }
}
