//! Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4 and §2.6): a JWT the
//! IdP posts when a member's session ends there. Signed with the IdP's published keys
//! (`jwt`); every claim rule of §2.6 is checked here.

use super::{Metadata, RpError, jwt};
use serde::Deserialize;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Tokens issued longer ago than this are refused, even unexpired (replays of old tokens).
const MAX_AGE_SECS: i64 = 300;
const CLOCK_SKEW_SECS: i64 = 60;

/// Whose session ended: `sid` names one IdP session, `sub` all of a member's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutClaims {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    aud: Option<serde_json::Value>,
    iat: Option<i64>,
    exp: Option<i64>,
    jti: Option<String>,
    sub: Option<String>,
    sid: Option<String>,
    events: Option<serde_json::Map<String, serde_json::Value>>,
    nonce: Option<serde_json::Value>,
}

pub(super) fn verify(
    token: &str,
    metadata: &Metadata,
    client_id: &str,
    now: i64,
) -> Result<LogoutClaims, RpError> {
    let refuse = RpError::LogoutToken;
    let (_, claims): (_, Claims) = jwt::verified(token, metadata).map_err(refuse)?;
    if claims.iss.as_deref() != Some(metadata.issuer().as_str()) {
        return Err(refuse("wrong issuer"));
    }
    let audience_ok = match &claims.aud {
        Some(serde_json::Value::String(aud)) => aud == client_id,
        Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse("not for this client"));
    }
    let iat = claims.iat.ok_or(refuse("no iat"))?;
    if iat > now + CLOCK_SKEW_SECS || now - iat > MAX_AGE_SECS {
        return Err(refuse("issued at an unacceptable time"));
    }
    if claims.exp.is_some_and(|exp| exp + CLOCK_SKEW_SECS < now) {
        return Err(refuse("expired"));
    }
    let jti = claims.jti.filter(|j| !j.is_empty()).ok_or(refuse("no jti"))?;
    if !claims.events.as_ref().and_then(|e| e.get(EVENT)).is_some_and(serde_json::Value::is_object) {
        return Err(refuse("not a back-channel logout event"));
    }
    if claims.nonce.is_some() {
        return Err(refuse("a logout token carries no nonce"));
    }
    if claims.sub.is_none() && claims.sid.is_none() {
        return Err(refuse("names neither sub nor sid"));
    }
    Ok(LogoutClaims { sub: claims.sub, sid: claims.sid, jti })
}
