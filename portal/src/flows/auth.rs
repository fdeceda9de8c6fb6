//! Signing members in and out: the login round trip through the IdP, keeping the IdP's tokens
//! fresh, RP-initiated logout and the IdP's back-channel logout.

use crate::oidc::{Rp, RpError};
use crate::session::{LoginState, PortalSession, SessionError, Sessions, Token, random_token};
use crate::store::{Kenpo, MemberStore, PreferenceStore, StoreError};
use std::time::Duration;
use url::Url;

/// Sensitive downloads (e-Tax data, notices as PDF) want an authentication at most this old.
pub const FRESH_AUTH: Duration = Duration::from_secs(10 * 60);
/// The access token is refreshed this long before it expires.
const REFRESH_MARGIN_SECS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Rp(#[from] RpError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The callback's state is unknown: expired, replayed, or from another browser.
    #[error("unknown or expired login")]
    UnknownLogin,
    /// The IdP answered with an error (the member cancelled, say).
    #[error("the IdP refused the login: {0}")]
    Refused(String),
    /// The IdP user is not tied to any member of this kenpo.
    #[error("no member of this kenpo signs in as this user")]
    NotAMember,
    /// The request's kenpo could not be found.
    #[error("no kenpo for this request: {0}")]
    Tenant(String),
}

/// A path of this portal to return to after login, or the top page: never another site
/// (`//host`, `/\host`, absolute URLs), never control characters.
pub fn safe_return_path(asked: Option<&str>) -> String {
    match asked {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && p.len() <= 512
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Starts a login: the URL to send the browser to, and the `state` the browser must bring back
/// (the caller binds it to the browser with a cookie).
pub async fn begin(
    rp: &Rp,
    sessions: &Sessions,
    kenpo: &Kenpo,
    return_to: Option<&str>,
    fresh: bool,
    locale: &str,
) -> Result<(Url, String), AuthError> {
    let max_age = fresh.then_some(FRESH_AUTH);
    let start = rp.start(max_age, locale).await?;
    let login = LoginState {
        kenpo_id: kenpo.id.clone(),
        nonce: start.nonce,
        pkce_verifier: Token::new(start.pkce_verifier),
        return_to: safe_return_path(return_to),
        max_age: max_age.map(|d| d.as_secs()),
    };
    sessions.put_login(&start.state, &login).await?;
    Ok((start.url, start.state))
}

/// What the IdP's answer at the callback carried.
#[derive(Debug)]
pub struct Callback<'a> {
    pub state: &'a str,
    /// The state the browser's login cookie holds: it must be the same browser that started.
    pub browser_state: Option<&'a str>,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Finishes a login: a new portal session (its id for the cookie) and where to go.
pub async fn complete(
    rp: &Rp,
    sessions: &Sessions,
    db: &(impl MemberStore + PreferenceStore),
    kenpo: &Kenpo,
    callback: Callback<'_>,
    now: i64,
) -> Result<(String, String), AuthError> {
    if callback.browser_state != Some(callback.state) {
        return Err(AuthError::UnknownLogin);
    }
    let login = sessions.take_login(callback.state).await?.ok_or(AuthError::UnknownLogin)?;
    // A login started at one kenpo's host finishes there, with that kenpo's client.
    if login.kenpo_id != kenpo.id {
        return Err(AuthError::UnknownLogin);
    }
    if let Some(error) = callback.error {
        return Err(AuthError::Refused(error.chars().take(64).collect()));
    }
    let code = callback.code.ok_or(AuthError::UnknownLogin)?;
    let max_age = login.max_age.map(Duration::from_secs);
    let signed = rp.finish(code, &login.nonce, login.pkce_verifier.expose(), max_age, now).await?;
    let member =
        db.member_by_subject(&login.kenpo_id, &signed.subject).await?.ok_or(AuthError::NotAMember)?;
    db.record_login(&member.id, signed.email.as_deref(), now * 1000).await?;
    let session = PortalSession {
        kenpo_id: login.kenpo_id,
        member_id: member.id.to_string(),
        subject: signed.subject,
        idp_sid: signed.sid,
        id_token: Token::new(signed.id_token),
        access_token: Token::new(signed.access_token),
        refresh_token: signed.refresh_token.map(Token::new),
        access_expires_at: now + expires_in_secs(signed.expires_in),
        auth_time: signed.auth_time,
        created_at: now,
        last_seen: now,
        csrf: random_token(),
    };
    let id = sessions.create(&session).await?;
    Ok((id, login.return_to))
}

fn expires_in_secs(d: Option<Duration>) -> i64 {
    d.map_or(300, |d| i64::try_from(d.as_secs()).unwrap_or(300))
}

/// Keeps the IdP's access token fresh. A refresh the IdP refuses means the member's IdP session
/// is over (signed out elsewhere, disabled, expired): the portal session ends too.
pub async fn keep_fresh(
    rp: &Rp,
    sessions: &Sessions,
    id: &str,
    session: &mut PortalSession,
    now: i64,
) -> Result<bool, AuthError> {
    if now + REFRESH_MARGIN_SECS < session.access_expires_at {
        return Ok(true);
    }
    let Some(refresh_token) = session.refresh_token.clone() else {
        sessions.delete(id).await?;
        return Ok(false);
    };
    match rp.refresh(refresh_token.expose()).await {
        Ok(refreshed) => {
            session.access_token = Token::new(refreshed.access_token);
            if let Some(t) = refreshed.refresh_token {
                session.refresh_token = Some(Token::new(t));
            }
            session.access_expires_at = now + expires_in_secs(refreshed.expires_in);
            sessions.save(id, session).await?;
            Ok(true)
        }
        Err(RpError::SessionEnded) => {
            sessions.delete(id).await?;
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends the portal session; the URL of the IdP's logout to send the browser to next.
pub async fn logout(
    rp: &Rp,
    sessions: &Sessions,
    id: &str,
    session: &PortalSession,
    locale: &str,
) -> Result<Option<Url>, AuthError> {
    sessions.delete(id).await?;
    Ok(rp.logout_url(session.id_token.expose(), locale).await?)
}

/// The IdP says a session ended: every portal session it backs ends.
pub async fn back_channel_logout(
    rp: &Rp,
    sessions: &Sessions,
    token: &str,
    now: i64,
) -> Result<(), AuthError> {
    let claims = rp.verify_logout_token(token, now).await?;
    if !sessions.first_use_of_logout_token(rp.issuer(), &claims.jti).await? {
        return Err(RpError::LogoutToken("replayed").into());
    }
    sessions.end_at_idp(rp.issuer(), claims.sid.as_deref(), claims.sub.as_deref(), now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return_path(Some("/medical-expenses?year=2025")), "/medical-expenses?year=2025");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example/", "", "/a\nb", "evil"] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_path(None), "/");
    }
}
