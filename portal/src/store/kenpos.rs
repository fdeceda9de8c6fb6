//! Kenpo tenants: which IdP realm signs a kenpo's members in, and at which host.

use super::{Db, StoreError};
use crate::tenant::Settings;
use shared_runtime::db::{to_millis, unique_violation};
use std::future::Future;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kenpo {
    pub id: String,
    /// The kenpo's realm at the IdP: the ID tokens' `iss`.
    pub issuer: String,
    pub client_id: String,
    pub host: Option<String>,
    pub display_name: String,
    pub settings: Settings,
    /// The client secret at the IdP, sealed with the portal's master key; `None` for the
    /// configured kenpo, whose secret is in the configuration.
    pub client_secret_sealed: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewKenpo {
    pub issuer: String,
    pub client_id: String,
    pub host: Option<String>,
    pub display_name: String,
    /// `None` keeps the secret already stored.
    pub client_secret_sealed: Option<String>,
}

pub trait KenpoStore {
    /// Creates the kenpo of `issuer`, or brings an existing one up to date.
    fn upsert_kenpo(
        &self,
        kenpo: NewKenpo,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Kenpo, StoreError>> + Send;
    fn kenpo_by_host(&self, host: &str) -> impl Future<Output = Result<Option<Kenpo>, StoreError>> + Send;
    fn kenpo_by_issuer(&self, issuer: &str)
    -> impl Future<Output = Result<Option<Kenpo>, StoreError>> + Send;
    fn kenpo(&self, id: &str) -> impl Future<Output = Result<Option<Kenpo>, StoreError>> + Send;
    /// Every kenpo, by display name.
    fn kenpos(&self) -> impl Future<Output = Result<Vec<Kenpo>, StoreError>> + Send;
    fn set_kenpo_settings(
        &self,
        id: &str,
        settings: &Settings,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The kenpo's own FAQ document in `locale`, if it has one.
    fn kenpo_faq(
        &self,
        id: &str,
        locale: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Replaces the kenpo's FAQ document in `locale`; `None` goes back to the portal's own.
    fn set_kenpo_faq(
        &self,
        id: &str,
        locale: &str,
        document: Option<&str>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

const COLUMNS: &str = "id, issuer, client_id, host, display_name, settings, client_secret_sealed";

#[derive(sqlx::FromRow)]
struct KenpoRow {
    id: String,
    issuer: String,
    client_id: String,
    host: Option<String>,
    display_name: String,
    settings: String,
    client_secret_sealed: Option<String>,
}

impl From<KenpoRow> for Kenpo {
    fn from(r: KenpoRow) -> Self {
        // Settings are checked when written; a document that no longer parses (an older or
        // newer binary's) falls back to the defaults rather than taking the portal down.
        let settings = Settings::parse(&r.settings).unwrap_or_else(|e| {
            tracing::error!(kenpo = %r.id, error = %e, "kenpo settings unreadable; using defaults");
            Settings::default()
        });
        Self {
            settings,
            id: r.id,
            issuer: r.issuer,
            client_id: r.client_id,
            host: r.host,
            display_name: r.display_name,
            client_secret_sealed: r.client_secret_sealed,
        }
    }
}

impl KenpoStore for Db {
    async fn upsert_kenpo(&self, new: NewKenpo, now: OffsetDateTime) -> Result<Kenpo, StoreError> {
        let row = sqlx::query_as::<_, KenpoRow>(&format!(
            "INSERT INTO kenpos (id, issuer, client_id, host, display_name, client_secret_sealed, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (issuer) DO UPDATE SET client_id = excluded.client_id, host = excluded.host, \
             display_name = excluded.display_name, \
             client_secret_sealed = COALESCE(excluded.client_secret_sealed, kenpos.client_secret_sealed), \
             updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        ))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&new.issuer)
        .bind(&new.client_id)
        .bind(&new.host)
        .bind(&new.display_name)
        .bind(&new.client_secret_sealed)
        .bind(to_millis(now))
        .fetch_one(self.pool())
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(c) if c.contains("host") => StoreError::HostTaken,
            _ => StoreError::Database(e),
        })?;
        Ok(row.into())
    }

    async fn kenpo_by_host(&self, host: &str) -> Result<Option<Kenpo>, StoreError> {
        Ok(sqlx::query_as::<_, KenpoRow>(&format!("SELECT {COLUMNS} FROM kenpos WHERE host = $1"))
            .bind(host)
            .fetch_optional(self.pool())
            .await?
            .map(Kenpo::from))
    }

    async fn kenpo_by_issuer(&self, issuer: &str) -> Result<Option<Kenpo>, StoreError> {
        Ok(sqlx::query_as::<_, KenpoRow>(&format!("SELECT {COLUMNS} FROM kenpos WHERE issuer = $1"))
            .bind(issuer)
            .fetch_optional(self.pool())
            .await?
            .map(Kenpo::from))
    }

    async fn kenpo(&self, id: &str) -> Result<Option<Kenpo>, StoreError> {
        Ok(sqlx::query_as::<_, KenpoRow>(&format!("SELECT {COLUMNS} FROM kenpos WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(Kenpo::from))
    }

    async fn kenpos(&self) -> Result<Vec<Kenpo>, StoreError> {
        let rows = sqlx::query_as::<_, KenpoRow>(&format!(
            "SELECT {COLUMNS} FROM kenpos ORDER BY display_name, issuer"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Kenpo::from).collect())
    }

    async fn set_kenpo_settings(
        &self,
        id: &str,
        settings: &Settings,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(settings)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))?;
        sqlx::query("UPDATE kenpos SET settings = $1, updated_at = $2 WHERE id = $3")
            .bind(json)
            .bind(to_millis(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn kenpo_faq(&self, id: &str, locale: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT document FROM kenpo_faqs WHERE kenpo_id = $1 AND locale = $2")
                .bind(id)
                .bind(locale)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(document,)| document))
    }

    async fn set_kenpo_faq(
        &self,
        id: &str,
        locale: &str,
        document: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let query = match document {
            Some(document) => sqlx::query(
                "INSERT INTO kenpo_faqs (kenpo_id, locale, document, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kenpo_id, locale) DO UPDATE SET document = excluded.document, \
                 updated_at = excluded.updated_at",
            )
            .bind(id)
            .bind(locale)
            .bind(document)
            .bind(to_millis(now)),
            None => sqlx::query("DELETE FROM kenpo_faqs WHERE kenpo_id = $1 AND locale = $2")
                .bind(id)
                .bind(locale),
        };
        query.execute(self.pool()).await?;
        Ok(())
    }
}
