//! Portal sessions and the state of a login in progress, on Redis or in process
//! (`shared_runtime::ephemeral`). The browser holds only a random session id in an HttpOnly
//! cookie; tokens stay on the server.

use serde::{Deserialize, Serialize};
use shared_runtime::ephemeral::{Ephemeral, EphemeralError, EphemeralStore};
use std::fmt;
use std::time::Duration;

/// A session ends after this long without a request (the IdP's SSO session may last longer; the
/// member then signs in again without typing anything).
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// And after this long whatever happens.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// A login started at the IdP must come back within this.
pub const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// How often a session's idle timer is written back: not on every request.
const TOUCH_EVERY_SECS: i64 = 60;

/// A token issued by the IdP: kept for the calls that need it, never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// Who is signed in, to which kenpo, and the IdP's tokens for them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortalSession {
    pub kenpo_id: String,
    pub member_id: String,
    /// The IdP's `sub` and `sid`: a back-channel logout names one of them.
    pub subject: String,
    pub idp_sid: Option<String>,
    pub id_token: Token,
    pub access_token: Token,
    pub refresh_token: Option<Token>,
    /// Unix seconds.
    pub access_expires_at: i64,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen: i64,
    /// Every form carries it; compared in constant time.
    pub csrf: String,
}

impl PortalSession {
    pub fn is_expired(&self, now: i64) -> bool {
        now - self.created_at >= secs(ABSOLUTE) || now - self.last_seen >= secs(IDLE)
    }

    /// Whether the member proved who they are within `window` (sensitive downloads).
    pub fn authenticated_within(&self, window: Duration, now: i64) -> bool {
        now - self.auth_time <= secs(window)
    }
}

/// A login between the redirect to the IdP and its answer, keyed by `state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginState {
    pub kenpo_id: String,
    pub nonce: String,
    pub pkce_verifier: Token,
    /// A path of this portal, checked before it was stored.
    pub return_to: String,
    /// Set when the login asked for a fresh authentication (`max_age`): its bound in seconds.
    pub max_age: Option<u64>,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] EphemeralError),
    #[error("stored session unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// The sessions, over whichever ephemeral store was configured.
#[derive(Debug, Clone)]
pub struct Sessions(Ephemeral);

impl Sessions {
    pub fn new(store: Ephemeral) -> Self {
        Self(store)
    }

    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }

    pub async fn ping(&self) -> Result<(), SessionError> {
        Ok(self.0.ping().await?)
    }

    pub async fn create(&self, session: &PortalSession) -> Result<String, SessionError> {
        let id = random_token();
        self.0.put(&session_key(&id), &serde_json::to_vec(session)?, IDLE).await?;
        Ok(id)
    }

    /// The live session of `id`: `None` when unknown, expired, or ended by the IdP since.
    pub async fn get(&self, id: &str, issuer: &str, now: i64) -> Result<Option<PortalSession>, SessionError> {
        let Some(bytes) = self.0.get(&session_key(id)).await? else { return Ok(None) };
        let mut session: PortalSession = serde_json::from_slice(&bytes)?;
        if session.is_expired(now) || self.ended_at_idp(&session, issuer).await? {
            self.0.delete(&session_key(id)).await?;
            return Ok(None);
        }
        if now - session.last_seen >= TOUCH_EVERY_SECS {
            session.last_seen = now;
            self.save(id, &session).await?;
        }
        Ok(Some(session))
    }

    pub async fn save(&self, id: &str, session: &PortalSession) -> Result<(), SessionError> {
        Ok(self.0.put(&session_key(id), &serde_json::to_vec(session)?, IDLE).await?)
    }

    pub async fn delete(&self, id: &str) -> Result<(), SessionError> {
        Ok(self.0.delete(&session_key(id)).await?)
    }

    /// Marks the IdP session `sid` (or every session of `sub`, when the logout token names no
    /// session) as ended: each portal session it backs is refused from its next request on.
    pub async fn end_at_idp(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
        now: i64,
    ) -> Result<(), SessionError> {
        let mark = now.to_string();
        match (sid, sub) {
            (Some(sid), _) => self.0.put(&ended_key(issuer, "sid", sid), mark.as_bytes(), ABSOLUTE).await?,
            (None, Some(sub)) => {
                self.0.put(&ended_key(issuer, "sub", sub), mark.as_bytes(), ABSOLUTE).await?
            }
            (None, None) => {}
        }
        Ok(())
    }

    async fn ended_at_idp(&self, session: &PortalSession, issuer: &str) -> Result<bool, SessionError> {
        if let Some(sid) = &session.idp_sid
            && self.0.get(&ended_key(issuer, "sid", sid)).await?.is_some()
        {
            return Ok(true);
        }
        let Some(at) = self.0.get(&ended_key(issuer, "sub", &session.subject)).await? else {
            return Ok(false);
        };
        let at: i64 = std::str::from_utf8(&at).ok().and_then(|s| s.parse().ok()).unwrap_or(i64::MAX);
        Ok(session.created_at <= at)
    }

    /// Remembers a logout token's `jti`; false when it was seen before (a replay).
    pub async fn first_use_of_logout_token(&self, issuer: &str, jti: &str) -> Result<bool, SessionError> {
        Ok(self.0.put_if_absent(&ended_key(issuer, "jti", jti), b"1", Duration::from_secs(600)).await?)
    }

    pub async fn put_login(&self, state: &str, login: &LoginState) -> Result<(), SessionError> {
        Ok(self.0.put(&login_key(state), &serde_json::to_vec(login)?, LOGIN_TTL).await?)
    }

    /// Taken once: a replayed callback finds nothing.
    pub async fn take_login(&self, state: &str) -> Result<Option<LoginState>, SessionError> {
        match self.0.take(&login_key(state)).await? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }
}

/// 256 random bits, URL-safe: a session id or a CSRF token.
pub fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn session_key(id: &str) -> String {
    format!("session:{}", digest(id))
}

fn login_key(state: &str) -> String {
    format!("login:{}", digest(state))
}

fn ended_key(issuer: &str, kind: &str, value: &str) -> String {
    format!("ended-{kind}:{}", digest(&format!("{issuer}\n{value}")))
}

/// Keys carry a digest, never the id itself: a Redis dump does not hand out live sessions.
fn digest(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex_lower(&Sha256::digest(s.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_runtime::ephemeral::MemoryStore;

    fn session(now: i64) -> PortalSession {
        PortalSession {
            kenpo_id: "k".into(),
            member_id: "m".into(),
            subject: "sub-1".into(),
            idp_sid: Some("sid-1".into()),
            id_token: Token::new("id"),
            access_token: Token::new("secret-access"),
            refresh_token: None,
            access_expires_at: now + 300,
            auth_time: now,
            created_at: now,
            last_seen: now,
            csrf: "c".into(),
        }
    }

    fn sessions() -> Sessions {
        Sessions::new(Ephemeral::Memory(MemoryStore::new()))
    }

    #[test]
    fn tokens_never_print() {
        assert!(!format!("{:?}", session(0)).contains("secret-access"));
    }

    #[tokio::test]
    async fn a_session_idle_too_long_is_gone() -> Result<(), SessionError> {
        let store = sessions();
        let id = store.create(&session(1_000)).await?;
        assert!(store.get(&id, "iss", 1_000 + 60).await?.is_some());
        let idle = secs(IDLE);
        assert!(store.get(&id, "iss", 1_060 + idle).await?.is_none());
        Ok(())
    }

    #[tokio::test]
    async fn a_back_channel_logout_by_sid_or_sub_ends_the_session() -> Result<(), SessionError> {
        let store = sessions();
        let by_sid = store.create(&session(1_000)).await?;
        store.end_at_idp("iss", Some("sid-1"), Some("sub-1"), 1_010).await?;
        assert!(store.get(&by_sid, "iss", 1_020).await?.is_none());

        let by_sub = store.create(&PortalSession { idp_sid: None, ..session(1_000) }).await?;
        store.end_at_idp("iss", None, Some("sub-1"), 1_010).await?;
        assert!(store.get(&by_sub, "iss", 1_020).await?.is_none());
        let later = store.create(&PortalSession { idp_sid: None, ..session(1_030) }).await?;
        assert!(store.get(&later, "iss", 1_040).await?.is_some(), "a login after the logout stands");
        assert!(store.get(&later, "other-issuer", 1_040).await?.is_some());
        Ok(())
    }

    #[tokio::test]
    async fn a_login_state_is_taken_once_and_a_logout_token_used_once() -> Result<(), SessionError> {
        let store = sessions();
        let login = LoginState {
            kenpo_id: "k".into(),
            nonce: "n".into(),
            pkce_verifier: Token::new("v"),
            return_to: "/".into(),
            max_age: None,
        };
        store.put_login("state", &login).await?;
        assert!(store.take_login("state").await?.is_some());
        assert!(store.take_login("state").await?.is_none());
        assert!(store.first_use_of_logout_token("iss", "jti-1").await?);
        assert!(!store.first_use_of_logout_token("iss", "jti-1").await?);
        Ok(())
    }
}
