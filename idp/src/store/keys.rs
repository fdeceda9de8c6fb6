//! Realm signing keys. The private half is stored sealed; the store never sees it in the clear.

use super::{Db, StoreError, from_json, to_json};
use shared_crypto::keys::{Algorithm, Jwk};
use shared_runtime::db::{from_millis, to_millis};
use std::fmt;
use std::future::Future;
use time::OffsetDateTime;

/// Where a key stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens, and verifies.
    Active,
    /// Only verifies: tokens it signed stay valid until they expire.
    Passive,
    /// Neither signs nor verifies; kept for the record.
    Retired,
}

impl KeyStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
            Self::Retired => "retired",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "passive" => Some(Self::Passive),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq)]
pub struct StoredKey {
    pub kid: String,
    pub realm_id: String,
    pub algorithm: Algorithm,
    /// PKCS#8, sealed under the master key.
    pub sealed_private_key: String,
    pub public_jwk: Jwk,
    pub status: KeyStatus,
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

pub trait KeyStore {
    /// The realm's keys that still verify (active and passive), newest first.
    fn live_keys(&self, realm_id: &str) -> impl Future<Output = Result<Vec<StoredKey>, StoreError>> + Send;
    /// Makes `key` the active key of its algorithm; the previous active key becomes passive.
    fn rotate_key(&self, key: StoredKey) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Retires a passive key: tokens it signed stop verifying.
    fn retire_key(&self, realm_id: &str, kid: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    realm_id: String,
    algorithm: String,
    private_key: String,
    public_jwk: String,
    status: String,
    created_at: i64,
}

impl TryFrom<KeyRow> for StoredKey {
    type Error = StoreError;
    fn try_from(row: KeyRow) -> Result<Self, StoreError> {
        Ok(Self {
            algorithm: row.algorithm.parse().map_err(|_| StoreError::corrupt("realm_keys.algorithm"))?,
            status: KeyStatus::parse(&row.status).ok_or_else(|| StoreError::corrupt("realm_keys.status"))?,
            public_jwk: from_json("realm_keys.public_jwk", &row.public_jwk)?,
            kid: row.kid,
            realm_id: row.realm_id,
            sealed_private_key: row.private_key,
            created_at: from_millis(row.created_at),
        })
    }
}

impl KeyStore for Db {
    async fn live_keys(&self, realm_id: &str) -> Result<Vec<StoredKey>, StoreError> {
        sqlx::query_as::<_, KeyRow>(
            "SELECT kid, realm_id, algorithm, private_key, public_jwk, status, created_at \
             FROM realm_keys WHERE realm_id = $1 AND status IN ('active', 'passive') \
             ORDER BY created_at DESC, kid",
        )
        .bind(realm_id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(StoredKey::try_from)
        .collect()
    }

    async fn rotate_key(&self, key: StoredKey) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE realm_keys SET status = 'passive' \
             WHERE realm_id = $1 AND algorithm = $2 AND status = 'active'",
        )
        .bind(&key.realm_id)
        .bind(key.algorithm.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO realm_keys (kid, realm_id, algorithm, private_key, public_jwk, status, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.kid)
        .bind(&key.realm_id)
        .bind(key.algorithm.as_str())
        .bind(&key.sealed_private_key)
        .bind(to_json(&key.public_jwk))
        .bind(KeyStatus::Active.as_str())
        .bind(to_millis(key.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retire_key(&self, realm_id: &str, kid: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE realm_keys SET status = 'retired' \
             WHERE realm_id = $1 AND kid = $2 AND status = 'passive'",
        )
        .bind(realm_id)
        .bind(kid)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
