//! SSO sessions: the browser's cookie `<sid>.<secret>`, of which only the secret's SHA-256 is
//! stored. `sid` appears in ID and logout tokens, so it must not be enough to use the session.

use super::FlowError;
use crate::store::{NewUserSession, Realm, SessionStore, User, UserSession};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use shared_crypto::{ct_eq, random};
use time::{Duration, OffsetDateTime};

/// The SSO cookie's name, scoped to `/realms/{realm}/`.
pub const COOKIE: &str = "KENPO_SESSION";

/// Writes to `last_seen_at` at most this often, so every page view is not a database write.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// A session just started, with the cookie value to set.
#[derive(Debug)]
pub struct Started {
    pub session: UserSession,
    pub cookie: SecretString,
}

/// Who and how, for a new session.
#[derive(Debug, Clone)]
pub struct Login {
    pub remember_me: bool,
    pub amr: Vec<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The idle and maximum lifetimes that apply to a session.
pub fn lifetimes(realm: &Realm, remember_me: bool) -> (Duration, Duration) {
    let s = &realm.settings;
    let (idle, max) = if remember_me {
        (s.remember_me_idle_seconds, s.remember_me_max_seconds)
    } else {
        (s.sso_session_idle_seconds, s.sso_session_max_seconds)
    };
    (Duration::seconds(i64::from(idle)), Duration::seconds(i64::from(max)))
}

pub async fn start(
    store: &impl SessionStore,
    realm: &Realm,
    user: &User,
    login: Login,
    now: OffsetDateTime,
) -> Result<Started, FlowError> {
    let sid = random::token_with_bytes(16);
    let secret = random::token();
    let session = store
        .create_session(
            NewUserSession {
                id: sid.clone(),
                realm_id: realm.id.clone(),
                user_id: user.id.clone(),
                remember_me: login.remember_me,
                ip_address: login.ip_address,
                user_agent: login.user_agent,
                amr: login.amr,
                cookie_hash: hash(&secret),
            },
            now,
        )
        .await?;
    Ok(Started { session, cookie: SecretString::from(format!("{sid}.{secret}")) })
}

/// The live session the cookie stands for, if any. An expired one is deleted.
pub async fn resume(
    store: &impl SessionStore,
    realm: &Realm,
    cookie: &str,
    now: OffsetDateTime,
) -> Result<Option<UserSession>, FlowError> {
    let Some((sid, secret)) = cookie.split_once('.') else { return Ok(None) };
    let Some(session) = store.session_by_id(sid).await? else { return Ok(None) };
    if session.realm_id != realm.id || !ct_eq(hash(secret).as_bytes(), session.cookie_hash.as_bytes()) {
        return Ok(None);
    }
    let (idle, max) = lifetimes(realm, session.remember_me);
    if now - session.last_seen_at > idle || now - session.started_at > max {
        store.delete_session(&session.id).await?;
        return Ok(None);
    }
    if now - session.last_seen_at > TOUCH_EVERY {
        store.touch_session(&session.id, now).await?;
    }
    Ok(Some(session))
}
