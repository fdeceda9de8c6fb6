//! Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3,
//! OIDC Core §9): client_secret_basic, client_secret_post, private_key_jwt, and none for
//! public clients. Exactly one method per request.

use super::clients::secret_hasher;
use super::tokens::{Ctx, TokenError};
use crate::ephemeral::EphemeralStore;
use crate::store::Client;
use secrecy::{ExposeSecret, SecretString};
use shared_crypto::jws;
use shared_crypto::keys::Algorithm;
use std::time::Duration;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the request says who the client is, as the HTTP edge found it.
#[derive(Debug)]
pub enum Presented {
    /// `Authorization: Basic` (already form-decoded, RFC 6749 §2.3.1).
    Basic { client_id: String, secret: SecretString },
    /// `client_id` and `client_secret` in the body.
    Post { client_id: String, secret: SecretString },
    /// `client_assertion` (private_key_jwt).
    Assertion { client_id: Option<String>, assertion: String },
    /// `client_id` alone: a public client.
    None { client_id: String },
    /// Nothing, or more than one method.
    Invalid,
}

/// The authenticated client, or `invalid_client`.
pub async fn authenticate(ctx: Ctx<'_>, presented: Presented, endpoint: &str) -> Result<Client, TokenError> {
    match presented {
        Presented::Basic { client_id, secret } | Presented::Post { client_id, secret } => {
            let client = find(ctx, &client_id).await?;
            let hasher = secret_hasher(ctx.master);
            match &client.secret_hash {
                Some(stored) if hasher.verify(secret.expose_secret(), stored) => Ok(client),
                _ => Err(TokenError::InvalidClient),
            }
        }
        Presented::None { client_id } => {
            let client = find(ctx, &client_id).await?;
            if client.confidential { Err(TokenError::InvalidClient) } else { Ok(client) }
        }
        Presented::Assertion { client_id, assertion } => {
            assertion_client(ctx, client_id.as_deref(), &assertion, endpoint).await
        }
        Presented::Invalid => Err(TokenError::InvalidClient),
    }
}

/// An enabled client of the realm, or `invalid_client`.
async fn find(ctx: Ctx<'_>, id: &str) -> Result<Client, TokenError> {
    match ctx.lookups.client(ctx.db, &ctx.realm.id, id).await? {
        Some(client) => Ok(Client::clone(&client)),
        None => Err(TokenError::InvalidClient),
    }
}

/// RFC 7523 §3 with OIDC Core §9: iss = sub = client_id, aud is the issuer or the endpoint, not
/// expired, and each `jti` used once.
async fn assertion_client(
    ctx: Ctx<'_>,
    client_id: Option<&str>,
    assertion: &str,
    endpoint: &str,
) -> Result<Client, TokenError> {
    // Read the claimed issuer first (unverified) only to find whose keys to verify with.
    let claimed = unverified_claims(assertion).ok_or(TokenError::InvalidClient)?;
    let iss = claimed.get("iss").and_then(|v| v.as_str()).ok_or(TokenError::InvalidClient)?;
    if client_id.is_some_and(|id| id != iss) {
        return Err(TokenError::InvalidClient);
    }
    let client = find(ctx, iss).await?;
    let keys = client.jwks.as_ref().ok_or(TokenError::InvalidClient)?;
    let verified = jws::verify(assertion, keys, &[Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA])
        .map_err(|_| TokenError::InvalidClient)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&verified.payload).map_err(|_| TokenError::InvalidClient)?;
    let now = ctx.now.unix_timestamp();
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(a) => a == ctx.issuer || a == endpoint,
        serde_json::Value::Array(list) => list.iter().any(|a| a == ctx.issuer || a == endpoint),
        _ => false,
    };
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let valid = claims["iss"] == iss
        && claims["sub"] == iss
        && aud_ok
        && exp > now
        // At most an hour ahead, and not issued in the future (FAPI: 10 s of skew).
        && exp <= now + 3600
        && claims["iat"].as_i64().is_none_or(|iat| iat <= now + 10);
    let jti = claims["jti"].as_str().ok_or(TokenError::InvalidClient)?;
    if !valid {
        return Err(TokenError::InvalidClient);
    }
    let ttl = Duration::from_secs(u64::try_from(exp - now).unwrap_or(1).max(1));
    let first_use = ctx.ephemeral.put_if_absent(&format!("jti:{iss}:{jti}"), b"1", ttl).await?;
    if !first_use {
        return Err(TokenError::InvalidClient);
    }
    Ok(client)
}

fn unverified_claims(jwt: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}
