//! Terms of use (利用規約), versioned per realm. Publishing a version makes every member accept
//! it at their next full login (3-9).

use super::{Db, StoreError};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;

/// One published version of a realm's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub version: i64,
    pub body_ja: String,
    pub body_en: String,
    pub published_at: OffsetDateTime,
}

pub trait TermsStore {
    /// Publishes the next version (one above the current, or 1) and returns it.
    fn publish_terms(
        &self,
        realm_id: &str,
        body_ja: &str,
        body_en: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Terms, StoreError>> + Send;
    /// The version in force: the highest published.
    fn current_terms(&self, realm_id: &str)
    -> impl Future<Output = Result<Option<Terms>, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct TermsRow {
    version: i64,
    body_ja: String,
    body_en: String,
    published_at: i64,
}

impl From<TermsRow> for Terms {
    fn from(row: TermsRow) -> Self {
        Self {
            version: row.version,
            body_ja: row.body_ja,
            body_en: row.body_en,
            published_at: from_millis(row.published_at),
        }
    }
}

impl TermsStore for Db {
    async fn publish_terms(
        &self,
        realm_id: &str,
        body_ja: &str,
        body_en: &str,
        now: OffsetDateTime,
    ) -> Result<Terms, StoreError> {
        // Two publishers racing for the same number: the primary key refuses the second.
        let mut tx = self.pool().begin().await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM terms_versions WHERE realm_id = $1")
                .bind(realm_id)
                .fetch_one(&mut *tx)
                .await?;
        let version = current.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO terms_versions (realm_id, version, body_ja, body_en, published_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(realm_id)
        .bind(version)
        .bind(body_ja)
        .bind(body_en)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Terms { version, body_ja: body_ja.to_owned(), body_en: body_en.to_owned(), published_at: now })
    }

    async fn current_terms(&self, realm_id: &str) -> Result<Option<Terms>, StoreError> {
        Ok(sqlx::query_as::<_, TermsRow>(
            "SELECT version, body_ja, body_en, published_at FROM terms_versions \
             WHERE realm_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(realm_id)
        .fetch_optional(self.pool())
        .await?
        .map(Terms::from))
    }
}
