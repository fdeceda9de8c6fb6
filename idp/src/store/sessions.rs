//! SSO sessions (the `sid` of ID tokens and logout tokens).

use super::{Db, StoreError, flag, from_json, is_set, to_json};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub struct UserSession {
    pub id: String,
    pub realm_id: String,
    pub user_id: String,
    pub auth_time: OffsetDateTime,
    pub started_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// 「ログイン状態の保存」 was ticked: the realm's longer lifetimes apply.
    pub remember_me: bool,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// Authentication methods used (RFC 8176 values: `pwd`, `otp`, `hwk`, ...).
    pub amr: Vec<String>,
    /// SHA-256 of the cookie's secret part (see `flows::sessions`).
    pub cookie_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewUserSession {
    pub id: String,
    pub realm_id: String,
    pub user_id: String,
    pub remember_me: bool,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub amr: Vec<String>,
    pub cookie_hash: String,
}

pub trait SessionStore {
    fn create_session(
        &self,
        session: NewUserSession,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<UserSession, StoreError>> + Send;
    fn session_by_id(&self, id: &str)
    -> impl Future<Output = Result<Option<UserSession>, StoreError>> + Send;
    fn touch_session(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn sessions_of(&self, user_id: &str)
    -> impl Future<Output = Result<Vec<UserSession>, StoreError>> + Send;
    fn delete_session(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The member authenticated again in this session (`prompt=login`, `max_age`).
    /// A fresh login in an existing session: its `auth_time` and what the login proved (`amr`).
    fn reauthenticate_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        remember_me: bool,
        amr: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records that `client_id` received tokens in this session.
    fn add_session_client(
        &self,
        session_id: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn session_clients(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    realm_id: String,
    user_id: String,
    auth_time: i64,
    started_at: i64,
    last_seen_at: i64,
    remember_me: i16,
    ip_address: Option<String>,
    user_agent: Option<String>,
    amr: String,
    cookie_hash: String,
}

impl TryFrom<SessionRow> for UserSession {
    type Error = StoreError;
    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        Ok(Self {
            amr: from_json("user_sessions.amr", &row.amr)?,
            id: row.id,
            realm_id: row.realm_id,
            user_id: row.user_id,
            auth_time: from_millis(row.auth_time),
            started_at: from_millis(row.started_at),
            last_seen_at: from_millis(row.last_seen_at),
            remember_me: is_set(row.remember_me),
            ip_address: row.ip_address,
            user_agent: row.user_agent,
            cookie_hash: row.cookie_hash,
        })
    }
}

const SELECT: &str = "SELECT id, realm_id, user_id, auth_time, started_at, last_seen_at, \
     remember_me, ip_address, user_agent, amr, cookie_hash FROM user_sessions";

impl SessionStore for Db {
    async fn create_session(
        &self,
        new: NewUserSession,
        now: OffsetDateTime,
    ) -> Result<UserSession, StoreError> {
        let session = UserSession {
            id: new.id,
            realm_id: new.realm_id,
            user_id: new.user_id,
            auth_time: now,
            started_at: now,
            last_seen_at: now,
            remember_me: new.remember_me,
            ip_address: new.ip_address,
            user_agent: new.user_agent,
            amr: new.amr,
            cookie_hash: new.cookie_hash,
        };
        sqlx::query(
            "INSERT INTO user_sessions (id, realm_id, user_id, auth_time, started_at, \
             last_seen_at, remember_me, ip_address, user_agent, amr, cookie_hash) \
             VALUES ($1, $2, $3, $4, $4, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&session.id)
        .bind(&session.realm_id)
        .bind(&session.user_id)
        .bind(to_millis(now))
        .bind(flag(session.remember_me))
        .bind(&session.ip_address)
        .bind(&session.user_agent)
        .bind(to_json(&session.amr))
        .bind(&session.cookie_hash)
        .execute(self.pool())
        .await?;
        Ok(session)
    }

    async fn session_by_id(&self, id: &str) -> Result<Option<UserSession>, StoreError> {
        sqlx::query_as::<_, SessionRow>(&format!("{SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(UserSession::try_from)
            .transpose()
    }

    async fn touch_session(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(to_millis(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn sessions_of(&self, user_id: &str) -> Result<Vec<UserSession>, StoreError> {
        sqlx::query_as::<_, SessionRow>(&format!("{SELECT} WHERE user_id = $1 ORDER BY last_seen_at DESC"))
            .bind(user_id)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(UserSession::try_from)
            .collect()
    }

    async fn delete_session(&self, id: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM user_sessions WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn reauthenticate_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        remember_me: bool,
        amr: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE user_sessions SET auth_time = $1, last_seen_at = $1, remember_me = $2, amr = $3 \
             WHERE id = $4",
        )
        .bind(to_millis(now))
        .bind(flag(remember_me))
        .bind(to_json(&amr))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn add_session_client(&self, session_id: &str, client_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_clients (session_id, client_id) VALUES ($1, $2) \
             ON CONFLICT (session_id, client_id) DO NOTHING",
        )
        .bind(session_id)
        .bind(client_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn session_clients(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT client_id FROM session_clients WHERE session_id = $1 ORDER BY client_id",
        )
        .bind(session_id)
        .fetch_all(self.pool())
        .await?)
    }
}
