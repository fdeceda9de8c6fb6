//! Login failures (Keycloak's `UserLoginFailureModel`), one row per member and device.
//!
//! A row changes only through [`LoginFailureStore::update_login_failure`]: read, let the caller
//! decide, write back only if nobody wrote in between (the row's `version`), else decide again
//! on what is there now. Two concurrent failures therefore both count, on either backend,
//! without `SELECT … FOR UPDATE` (which SQLite lacks).

use super::{Db, StoreError, flag, is_set};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;

/// How often an update re-reads and decides again when other writers keep winning.
const MAX_TRIES: usize = 32;

/// The failure record of a (subject, device).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginFailure {
    pub num_failures: u32,
    pub last_failure_at: Option<OffsetDateTime>,
    pub last_ip: Option<String>,
    pub temporary_lockouts: u32,
    pub locked_until: Option<OffsetDateTime>,
    pub permanently_locked: bool,
}

/// A record with the device it belongs to ('' for untrusted browsers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFailures {
    pub device: String,
    pub failure: LoginFailure,
}

pub trait LoginFailureStore {
    /// Reads the record of (`subject`, `device`) (the default when there is none), asks `decide`
    /// what to write, and writes it unless `decide` says `None`. If another writer changed the
    /// record meanwhile, reads and decides again, so `decide` must have no side effects.
    /// Returns what the last call of `decide` returned beside the record.
    fn update_login_failure<T, F>(
        &self,
        realm_id: &str,
        subject: &str,
        device: &str,
        decide: F,
    ) -> impl Future<Output = Result<T, StoreError>> + Send
    where
        T: Send,
        F: Fn(&LoginFailure) -> (Option<LoginFailure>, T) + Send + Sync;
    /// Forgets a record after a successful login (Keycloak's `clearFailures`). With
    /// `keep_permanent`, a permanent lock stays: that only an admin lifts.
    fn clear_login_failure(
        &self,
        realm_id: &str,
        subject: &str,
        device: &str,
        keep_permanent: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every record of `subject`, untrusted browsers ('') first.
    fn login_failures_of(
        &self,
        realm_id: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<DeviceFailures>, StoreError>> + Send;
    /// Deletes every record of `subject`, permanent locks included, and returns what it deleted.
    fn delete_login_failures_of(
        &self,
        realm_id: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<DeviceFailures>, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct Row {
    device: String,
    num_failures: i64,
    last_failure_at: Option<i64>,
    last_ip: Option<String>,
    temporary_lockouts: i64,
    locked_until: Option<i64>,
    permanently_locked: i16,
    version: i64,
}

impl Row {
    fn into_parts(self) -> (DeviceFailures, i64) {
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        let failure = LoginFailure {
            num_failures: count(self.num_failures),
            last_failure_at: self.last_failure_at.map(from_millis),
            last_ip: self.last_ip,
            temporary_lockouts: count(self.temporary_lockouts),
            locked_until: self.locked_until.map(from_millis),
            permanently_locked: is_set(self.permanently_locked),
        };
        (DeviceFailures { device: self.device, failure }, self.version)
    }
}

const COLUMNS: &str = "device, num_failures, last_failure_at, last_ip, temporary_lockouts, \
                       locked_until, permanently_locked, version";

impl Db {
    async fn read_failure(
        &self,
        realm_id: &str,
        subject: &str,
        device: &str,
    ) -> Result<Option<(LoginFailure, i64)>, StoreError> {
        let row = sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM login_failures WHERE realm_id = $1 AND subject = $2 AND device = $3"
        ))
        .bind(realm_id)
        .bind(subject)
        .bind(device)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|row| {
            let (found, version) = row.into_parts();
            (found.failure, version)
        }))
    }

    /// Writes `new` if the row is still at `version` (or still absent, for `None`); says
    /// whether it did.
    async fn write_failure(
        &self,
        key: (&str, &str, &str),
        version: Option<i64>,
        new: &LoginFailure,
    ) -> Result<bool, StoreError> {
        let (realm_id, subject, device) = key;
        let sql = match version {
            None => {
                "INSERT INTO login_failures (num_failures, last_failure_at, last_ip, \
                 temporary_lockouts, locked_until, permanently_locked, realm_id, subject, device, \
                 version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0) \
                 ON CONFLICT (realm_id, subject, device) DO NOTHING"
            }
            Some(_) => {
                "UPDATE login_failures SET num_failures = $1, last_failure_at = $2, last_ip = $3, \
                 temporary_lockouts = $4, locked_until = $5, permanently_locked = $6, \
                 version = version + 1 \
                 WHERE realm_id = $7 AND subject = $8 AND device = $9 AND version = $10"
            }
        };
        let mut query = sqlx::query(sql)
            .bind(i64::from(new.num_failures))
            .bind(new.last_failure_at.map(to_millis))
            .bind(new.last_ip.as_deref())
            .bind(i64::from(new.temporary_lockouts))
            .bind(new.locked_until.map(to_millis))
            .bind(flag(new.permanently_locked))
            .bind(realm_id)
            .bind(subject)
            .bind(device);
        if let Some(version) = version {
            query = query.bind(version);
        }
        Ok(query.execute(self.pool()).await?.rows_affected() == 1)
    }
}

impl LoginFailureStore for Db {
    async fn update_login_failure<T, F>(
        &self,
        realm_id: &str,
        subject: &str,
        device: &str,
        decide: F,
    ) -> Result<T, StoreError>
    where
        T: Send,
        F: Fn(&LoginFailure) -> (Option<LoginFailure>, T) + Send + Sync,
    {
        for _ in 0..MAX_TRIES {
            let (current, version) = match self.read_failure(realm_id, subject, device).await? {
                Some((failure, version)) => (failure, Some(version)),
                None => (LoginFailure::default(), None),
            };
            let (new, answer) = decide(&current);
            let Some(new) = new else { return Ok(answer) };
            if self.write_failure((realm_id, subject, device), version, &new).await? {
                return Ok(answer);
            }
        }
        Err(StoreError::Contended("login_failures"))
    }

    async fn clear_login_failure(
        &self,
        realm_id: &str,
        subject: &str,
        device: &str,
        keep_permanent: bool,
    ) -> Result<(), StoreError> {
        let sql = if keep_permanent {
            "DELETE FROM login_failures \
             WHERE realm_id = $1 AND subject = $2 AND device = $3 AND permanently_locked = 0"
        } else {
            "DELETE FROM login_failures WHERE realm_id = $1 AND subject = $2 AND device = $3"
        };
        sqlx::query(sql).bind(realm_id).bind(subject).bind(device).execute(self.pool()).await?;
        Ok(())
    }

    async fn login_failures_of(
        &self,
        realm_id: &str,
        subject: &str,
    ) -> Result<Vec<DeviceFailures>, StoreError> {
        let rows = sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM login_failures WHERE realm_id = $1 AND subject = $2 ORDER BY device"
        ))
        .bind(realm_id)
        .bind(subject)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|row| row.into_parts().0).collect())
    }

    async fn delete_login_failures_of(
        &self,
        realm_id: &str,
        subject: &str,
    ) -> Result<Vec<DeviceFailures>, StoreError> {
        let rows = sqlx::query_as::<_, Row>(&format!(
            "DELETE FROM login_failures WHERE realm_id = $1 AND subject = $2 RETURNING {COLUMNS}"
        ))
        .bind(realm_id)
        .bind(subject)
        .fetch_all(self.pool())
        .await?;
        let mut deleted: Vec<DeviceFailures> = rows.into_iter().map(|row| row.into_parts().0).collect();
        deleted.sort_by(|a, b| a.device.cmp(&b.device));
        Ok(deleted)
    }
}
