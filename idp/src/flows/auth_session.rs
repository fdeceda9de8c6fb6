//! A login in progress, one per browser tab (Keycloak's authentication session): the client's
//! request, the tab's CSRF token and browser binding, and — once the password is right — who is
//! logging in and what they still owe. Kept in the ephemeral store under the tab id; losing it
//! costs the member a fresh start from the client, never an account.

use super::FlowError;
use super::authorize::AuthRequest;
use super::mfa::passkey::Waiting;
use crate::domain::{AuthMethod, RequiredAction};
use crate::ephemeral::{Ephemeral, EphemeralStore};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;

/// How long a tab may sit between two steps. Each step restarts the clock.
pub const LIFETIME: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthSession {
    pub request: AuthRequest,
    /// Every form of the tab carries it (`csrf_token`).
    pub csrf: String,
    /// The `KENPO_AUTH` cookie of the browser that opened the tab.
    pub browser: String,
    /// The language the member picked with the switch, over `ui_locales` and the browser's.
    #[serde(default)]
    pub locale: Option<String>,
    /// Set once the member proved who they are.
    #[serde(default)]
    pub member: Option<Authenticated>,
    /// A message for the login page after a recovery step (catalogue key), with the address
    /// it speaks of.
    #[serde(default)]
    pub notice: Option<Notice>,
    /// The passkey ceremony the tab's page started (the sign-in on the login page, the second
    /// factor, a registration), waiting for the browser's answer. Kept here, on the server, so
    /// the page never holds the challenge's state.
    #[serde(default)]
    pub passkey: Option<Waiting>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Authenticated {
    pub user_id: String,
    /// Unix seconds of the authentication (the ID token's `auth_time`).
    pub auth_time: i64,
    pub remember_me: bool,
    pub amr: Vec<String>,
    /// The SSO session this login reuses, when it came from one.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Whether this tab has mailed the verification link (it is sent once on arrival; the
    /// member asks for more with 「再送信」).
    #[serde(default)]
    pub verification_sent: bool,
    /// The second factor this login must pass before anything else (see `flows::mfa::due`).
    #[serde(default)]
    pub factor: Option<AuthMethod>,
    /// The authenticator-app seed the setup page shows, sealed to the member, until a code
    /// proves the app holds it (a reload shows the same QR code).
    #[serde(default)]
    pub totp_seed: Option<String>,
    /// Whether this tab has mailed a login code (sent once on arrival; then by 「再送信」).
    #[serde(default)]
    pub email_code_sent: bool,
    /// Whether the change the client asked for (`kc_action`) is made.
    #[serde(default)]
    pub requested_done: bool,
    /// Whether the member turned the change down (「戻る」): the client hears
    /// `kc_action_status=cancelled`, as Keycloak says it.
    #[serde(default)]
    pub requested_cancelled: bool,
}

impl Authenticated {
    pub fn new(user_id: String, now: OffsetDateTime, remember_me: bool, amr: Vec<String>) -> Self {
        Self {
            user_id,
            auth_time: now.unix_timestamp(),
            remember_me,
            amr,
            session_id: None,
            verification_sent: false,
            factor: None,
            totp_seed: None,
            email_code_sent: false,
            requested_done: false,
            requested_cancelled: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notice {
    pub key: String,
    #[serde(default)]
    pub email: Option<String>,
}

impl AuthSession {
    /// The change the client asked for (`kc_action`), while it is still to be made.
    pub fn requested(&self) -> Option<RequiredAction> {
        let done = self.member.as_ref().is_some_and(|m| m.requested_done);
        self.request.kc_action.filter(|_| !done)
    }

    /// The credential the client asked to delete (`kc_action=delete_credential:{id}`), while the
    /// member has not answered the confirmation page.
    pub fn deletion_pending(&self) -> Option<&str> {
        let done = self.member.as_ref().is_some_and(|m| m.requested_done);
        self.request.delete_credential.as_deref().filter(|_| !done)
    }

    /// What the client is told of the change it asked for (`kc_action_status`), if it asked.
    pub fn action_status(&self) -> Option<&'static str> {
        if !self.request.asks_for_change() {
            return None;
        }
        let cancelled = self.member.as_ref().is_some_and(|m| m.requested_cancelled);
        Some(if cancelled { "cancelled" } else { "success" })
    }
}

fn key(tab_id: &str) -> String {
    format!("login:{tab_id}")
}

pub async fn load(store: &Ephemeral, tab_id: &str) -> Result<Option<AuthSession>, FlowError> {
    if tab_id.is_empty() || tab_id.len() > 64 {
        return Ok(None);
    }
    Ok(store.get(&key(tab_id)).await?.and_then(|raw| serde_json::from_slice(&raw).ok()))
}

pub async fn save(store: &Ephemeral, tab_id: &str, session: &AuthSession) -> Result<(), FlowError> {
    let json = serde_json::to_vec(session).map_err(|e| FlowError::invalid("auth session", e))?;
    Ok(store.put(&key(tab_id), &json, LIFETIME).await?)
}

/// Ends the tab. Of two concurrent finishers, exactly one gets `true` (one code per login).
pub async fn finish(store: &Ephemeral, tab_id: &str) -> Result<bool, FlowError> {
    Ok(store.take(&key(tab_id)).await?.is_some())
}
