//! Realms: one per kenpo.

use super::{Db, StoreError, flag, from_json, is_set, meaning_of, to_json};
use crate::domain::{AuthMethod, OtpPolicy, PasswordPolicy, RealmName, RequiredAction};
use serde::{Deserialize, Serialize};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

/// A kenpo's realm.
#[derive(Debug, Clone, PartialEq)]
pub struct Realm {
    pub id: String,
    pub name: RealmName,
    /// e.g. 「デモ健康保険組合加入者ページ」; also the TOTP issuer.
    pub display_name: String,
    /// The kenpo's portal host, e.g. `www.demo.portal.example.jp`.
    pub host: Option<String>,
    pub enabled: bool,
    pub settings: RealmSettings,
    pub created_at: OffsetDateTime,
}

/// Per-realm settings. Every field has a default, so settings written by an older version still
/// load after new ones are added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RealmSettings {
    /// An SSO session ends after this long without use.
    pub sso_session_idle_seconds: u32,
    /// An SSO session ends this long after login, however busy.
    pub sso_session_max_seconds: u32,
    /// The same two for 「ログイン状態の保存」 (remember me).
    pub remember_me_idle_seconds: u32,
    pub remember_me_max_seconds: u32,
    pub access_token_seconds: u32,
    /// Sensitive account changes skip re-authentication within this long of the last login.
    pub reauthentication_window_seconds: u32,
    pub brute_force: BruteForcePolicy,
    /// Default language of pages and mail.
    pub default_locale: String,
    /// Mail senders (FAQ Q19): `no-reply@`, `info@` and `webmaster@` of this domain.
    pub mail_domain: Option<String>,
    /// The required actions this realm runs; an action not listed is skipped at login (and
    /// stays owed, so enabling it later asks for it).
    pub required_actions: Vec<RequiredAction>,
    /// The second-factor methods members may choose (2-1 step 9).
    pub auth_methods: Vec<AuthMethod>,
    pub password_policy: PasswordPolicy,
    /// How long a 「メールアドレスの確認」 link stays valid.
    pub verify_email_link_seconds: u32,
    /// Authenticator-app codes, under Keycloak's flat `otpPolicy*` names.
    #[serde(flatten)]
    pub otp_policy: OtpPolicy,
}

impl Default for RealmSettings {
    fn default() -> Self {
        Self {
            sso_session_idle_seconds: 30 * 60,
            sso_session_max_seconds: 10 * 60 * 60,
            remember_me_idle_seconds: 30 * 24 * 60 * 60,
            remember_me_max_seconds: 30 * 24 * 60 * 60,
            access_token_seconds: 5 * 60,
            reauthentication_window_seconds: 5 * 60,
            brute_force: BruteForcePolicy::default(),
            default_locale: "ja".to_owned(),
            mail_domain: None,
            required_actions: RequiredAction::ALL.to_vec(),
            auth_methods: AuthMethod::ALL.to_vec(),
            password_policy: PasswordPolicy::default(),
            verify_email_link_seconds: 12 * 60 * 60,
            otp_policy: OtpPolicy::default(),
        }
    }
}

/// Keycloak's brute-force detection model and defaults, with permanent lockout after repeated
/// temporary ones (the manual's locked account that only the kenpo unlocks, Q5/Q6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BruteForcePolicy {
    pub enabled: bool,
    pub failure_factor: u32,
    pub wait_increment_seconds: u32,
    pub max_failure_wait_seconds: u32,
    pub max_delta_time_seconds: u32,
    pub quick_login_check_milliseconds: u32,
    pub minimum_quick_login_wait_seconds: u32,
    /// After this many temporary lockouts the account locks until an admin unlocks it;
    /// 0 means never.
    pub max_temporary_lockouts: u32,
    /// Failed logins one client address may make in an hour, across all user IDs, from browsers
    /// the member has not trusted; 0 means no limit. Not in Keycloak: it stops one machine from
    /// trying a few passwords on each of many IDs (password spraying), which per-account
    /// counting never sees.
    pub max_failures_per_address_per_hour: u32,
}

impl Default for BruteForcePolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            failure_factor: 5,
            wait_increment_seconds: 60,
            max_failure_wait_seconds: 15 * 60,
            max_delta_time_seconds: 12 * 60 * 60,
            quick_login_check_milliseconds: 1000,
            minimum_quick_login_wait_seconds: 60,
            max_temporary_lockouts: 3,
            max_failures_per_address_per_hour: 100,
        }
    }
}

/// What creating a realm takes.
#[derive(Debug, Clone)]
pub struct NewRealm {
    pub name: RealmName,
    pub display_name: String,
    pub host: Option<String>,
    pub settings: RealmSettings,
}

pub trait RealmStore {
    fn create_realm(
        &self,
        realm: NewRealm,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Realm, StoreError>> + Send;
    fn realm_by_name(
        &self,
        name: &RealmName,
    ) -> impl Future<Output = Result<Option<Realm>, StoreError>> + Send;
    fn realm_by_host(&self, host: &str) -> impl Future<Output = Result<Option<Realm>, StoreError>> + Send;
    fn list_realms(&self) -> impl Future<Output = Result<Vec<Realm>, StoreError>> + Send;
    fn update_realm_settings(
        &self,
        realm_id: &str,
        settings: &RealmSettings,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct RealmRow {
    id: String,
    name: String,
    display_name: String,
    host: Option<String>,
    enabled: i16,
    settings: String,
    created_at: i64,
}

impl TryFrom<RealmRow> for Realm {
    type Error = StoreError;
    fn try_from(row: RealmRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            name: RealmName::parse(&row.name).map_err(StoreError::corrupt)?,
            display_name: row.display_name,
            host: row.host,
            enabled: is_set(row.enabled),
            settings: from_json("realms.settings", &row.settings)?,
            created_at: from_millis(row.created_at),
        })
    }
}

const SELECT: &str = "SELECT id, name, display_name, host, enabled, settings, created_at FROM realms";

impl RealmStore for Db {
    async fn create_realm(&self, new: NewRealm, now: OffsetDateTime) -> Result<Realm, StoreError> {
        let realm = Realm {
            id: Uuid::new_v4().to_string(),
            name: new.name,
            display_name: new.display_name,
            host: new.host,
            enabled: true,
            settings: new.settings,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO realms (id, name, display_name, host, enabled, settings, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&realm.id)
        .bind(realm.name.as_str())
        .bind(&realm.display_name)
        .bind(&realm.host)
        .bind(flag(realm.enabled))
        .bind(to_json(&realm.settings))
        .bind(to_millis(now))
        .execute(self.pool())
        .await
        .map_err(|e| {
            meaning_of(e, &[("name", || StoreError::RealmNameTaken), ("host", || StoreError::RealmHostTaken)])
        })?;
        Ok(realm)
    }

    async fn realm_by_name(&self, name: &RealmName) -> Result<Option<Realm>, StoreError> {
        sqlx::query_as::<_, RealmRow>(&format!("{SELECT} WHERE name = $1"))
            .bind(name.as_str())
            .fetch_optional(self.pool())
            .await?
            .map(Realm::try_from)
            .transpose()
    }

    async fn realm_by_host(&self, host: &str) -> Result<Option<Realm>, StoreError> {
        sqlx::query_as::<_, RealmRow>(&format!("{SELECT} WHERE host = $1"))
            .bind(host)
            .fetch_optional(self.pool())
            .await?
            .map(Realm::try_from)
            .transpose()
    }

    async fn list_realms(&self) -> Result<Vec<Realm>, StoreError> {
        sqlx::query_as::<_, RealmRow>(&format!("{SELECT} ORDER BY name"))
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(Realm::try_from)
            .collect()
    }

    async fn update_realm_settings(
        &self,
        realm_id: &str,
        settings: &RealmSettings,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE realms SET settings = $1 WHERE id = $2")
            .bind(to_json(settings))
            .bind(realm_id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("realm"));
        }
        Ok(())
    }
}
