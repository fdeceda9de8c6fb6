//! Login events, named as Keycloak names them so its event tooling reads ours.

use super::filter::{Bind, Filtered};
use super::{Db, StoreError, from_json, to_json};
use shared_runtime::db::{from_millis, to_millis};
use std::collections::BTreeMap;
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

/// Declares the event types once: the variant and Keycloak's name for it.
macro_rules! event_types {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// Keycloak's event types (the subset we emit).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType { $($variant),* }

        impl EventType {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($name => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

event_types! {
    Login => "LOGIN",
    LoginError => "LOGIN_ERROR",
    Logout => "LOGOUT",
    CodeToToken => "CODE_TO_TOKEN",
    CodeToTokenError => "CODE_TO_TOKEN_ERROR",
    RefreshToken => "REFRESH_TOKEN",
    RefreshTokenError => "REFRESH_TOKEN_ERROR",
    ClientLogin => "CLIENT_LOGIN",
    ClientLoginError => "CLIENT_LOGIN_ERROR",
    UpdatePassword => "UPDATE_PASSWORD",
    UpdatePasswordError => "UPDATE_PASSWORD_ERROR",
    UpdateEmail => "UPDATE_EMAIL",
    UpdateEmailError => "UPDATE_EMAIL_ERROR",
    UpdateProfile => "UPDATE_PROFILE",
    UpdateProfileError => "UPDATE_PROFILE_ERROR",
    VerifyEmail => "VERIFY_EMAIL",
    VerifyEmailError => "VERIFY_EMAIL_ERROR",
    SendVerifyEmail => "SEND_VERIFY_EMAIL",
    SendVerifyEmailError => "SEND_VERIFY_EMAIL_ERROR",
    SendResetPassword => "SEND_RESET_PASSWORD",
    SendResetPasswordError => "SEND_RESET_PASSWORD_ERROR",
    ResetPassword => "RESET_PASSWORD",
    ResetPasswordError => "RESET_PASSWORD_ERROR",
    CustomRequiredAction => "CUSTOM_REQUIRED_ACTION",
    CustomRequiredActionError => "CUSTOM_REQUIRED_ACTION_ERROR",
    ExecuteActions => "EXECUTE_ACTIONS",
    // Kenpo's own: Keycloak has no user-ID reminder (3-4).
    SendUsernameReminder => "SEND_USERNAME_REMINDER",
    SendUsernameReminderError => "SEND_USERNAME_REMINDER_ERROR",
    UpdateTotp => "UPDATE_TOTP",
    RemoveTotp => "REMOVE_TOTP",
    // Keycloak 24's application-initiated `delete_credential` records this.
    RemoveCredential => "REMOVE_CREDENTIAL",
    Register => "REGISTER",
    UserDisabledByTemporaryLockout => "USER_DISABLED_BY_TEMPORARY_LOCKOUT",
    UserDisabledByPermanentLockout => "USER_DISABLED_BY_PERMANENT_LOCKOUT",
}

/// A recorded event. `details` never holds a password, code or token.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub realm_id: String,
    pub time: OffsetDateTime,
    pub kind: EventType,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    pub details: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    pub details: BTreeMap<String, String>,
}

/// Keycloak's event filters; results newest first.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub types: Vec<EventType>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip_address: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub first: u32,
    pub max: u32,
}

pub trait EventStore {
    fn record_event(
        &self,
        realm_id: &str,
        kind: EventType,
        event: NewEvent,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn events(
        &self,
        realm_id: &str,
        query: &EventQuery,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    realm_id: String,
    time: i64,
    #[sqlx(rename = "type")]
    kind: String,
    client_id: Option<String>,
    user_id: Option<String>,
    session_id: Option<String>,
    ip_address: Option<String>,
    error: Option<String>,
    details: String,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        Ok(Self {
            kind: EventType::parse(&row.kind)
                .ok_or_else(|| StoreError::corrupt(format!("events.type {:?}", row.kind)))?,
            details: from_json("events.details", &row.details)?,
            id: row.id,
            realm_id: row.realm_id,
            time: from_millis(row.time),
            client_id: row.client_id,
            user_id: row.user_id,
            session_id: row.session_id,
            ip_address: row.ip_address,
            error: row.error,
        })
    }
}

impl EventStore for Db {
    async fn record_event(
        &self,
        realm_id: &str,
        kind: EventType,
        event: NewEvent,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (id, realm_id, time, type, client_id, user_id, session_id, \
             ip_address, error, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(realm_id)
        .bind(to_millis(now))
        .bind(kind.as_str())
        .bind(&event.client_id)
        .bind(&event.user_id)
        .bind(&event.session_id)
        .bind(&event.ip_address)
        .bind(&event.error)
        .bind(to_json(&event.details))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn events(&self, realm_id: &str, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        let mut sql = Filtered::new(
            "SELECT id, realm_id, time, type, client_id, user_id, session_id, ip_address, \
             error, details FROM events WHERE realm_id = ?",
            vec![Bind::Text(realm_id.to_owned())],
        );
        if !query.types.is_empty() {
            let marks = vec!["?"; query.types.len()].join(", ");
            let kinds = query.types.iter().map(|k| Bind::Text(k.as_str().to_owned()));
            sql.push(&format!(" AND type IN ({marks})"), kinds.collect());
        }
        if let Some(user) = &query.user_id {
            sql.push(" AND user_id = ?", vec![Bind::Text(user.clone())]);
        }
        if let Some(client) = &query.client_id {
            sql.push(" AND client_id = ?", vec![Bind::Text(client.clone())]);
        }
        if let Some(ip) = &query.ip_address {
            sql.push(" AND ip_address = ?", vec![Bind::Text(ip.clone())]);
        }
        if let Some(from) = query.from {
            sql.push(" AND time >= ?", vec![Bind::Int(to_millis(from))]);
        }
        if let Some(to) = query.to {
            sql.push(" AND time <= ?", vec![Bind::Int(to_millis(to))]);
        }
        sql.push(" ORDER BY time DESC, id DESC", Vec::new());
        sql.page(query.first, query.max);
        sql.query_as::<EventRow>().fetch_all(self.pool()).await?.into_iter().map(Event::try_from).collect()
    }
}
