//! Access tokens of the kenpo's own systems (RFC 9068 JWTs, from the client_credentials grant at
//! the kenpo's realm), which the kenpo API takes as bearer tokens. Checked here against the
//! IdP's keys and for the portal as audience; then asked of the IdP (`Rp::verify_client_token`)
//! whether it still holds them active. The portal's own grants (`store::ApiClientStore`) decide
//! what the client may do.

use super::{Metadata, RpError, jwt};
use serde::Deserialize;

const CLOCK_SKEW_SECS: i64 = 60;

/// The client a verified token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    pub client_id: String,
    pub expires_at: i64,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    client_id: Option<String>,
    /// A string or an array of them (RFC 7519 §4.1.3).
    aud: Option<serde_json::Value>,
    /// Present on a member's token (their IdP session), which the kenpo API never takes.
    sid: Option<serde_json::Value>,
    grant: Option<serde_json::Value>,
}

/// Verifies `token` as an access token for `audience` (the portal's client at the realm).
pub(super) fn verify(
    token: &str,
    metadata: &Metadata,
    audience: &str,
    now: i64,
) -> Result<ClientToken, RpError> {
    let refuse = RpError::AccessToken;
    let (typ, claims): (_, Claims) = jwt::verified(token, metadata).map_err(refuse)?;
    // RFC 9068 §4: the type tells an access token from an ID token signed by the same keys.
    if !matches!(typ.as_deref(), Some("at+jwt" | "application/at+jwt")) {
        return Err(refuse("not an access token"));
    }
    if claims.iss.as_deref() != Some(metadata.issuer().as_str()) {
        return Err(refuse("wrong issuer"));
    }
    let exp = claims.exp.ok_or(refuse("no exp"))?;
    if exp + CLOCK_SKEW_SECS < now {
        return Err(refuse("expired"));
    }
    if claims.iat.is_some_and(|iat| iat > now + CLOCK_SKEW_SECS) {
        return Err(refuse("issued in the future"));
    }
    if claims.sid.is_some() || claims.grant.is_some() {
        return Err(refuse("a member's token, not a client's"));
    }
    let for_us = match &claims.aud {
        Some(serde_json::Value::String(aud)) => aud == audience,
        Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !for_us {
        return Err(refuse("the token is not for the portal (aud)"));
    }
    let client_id = claims.client_id.filter(|c| !c.is_empty()).ok_or(refuse("no client_id"))?;
    Ok(ClientToken { client_id, expires_at: exp })
}
