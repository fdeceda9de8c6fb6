//! Using tokens this realm issued: verifying access tokens (userinfo), introspection (RFC 7662)
//! and revocation (RFC 7009). A token's grant must still be live, so revoking a grant (code or
//! refresh-token replay, logout, RFC 7009) ends its access tokens at once.

use super::FlowError;
use super::claims;
use super::tokens::{Ctx, TokenError, sha256_b64};
use crate::ephemeral::EphemeralStore;
use crate::store::{Client, Grant, GrantStore, UserStore};
use serde::Serialize;
use serde_json::{Map, Value};

/// Why a bearer token was refused (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("the access token is invalid, expired or revoked")]
    InvalidToken,
    #[error("the token does not carry the openid scope")]
    InsufficientScope,
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl From<crate::store::StoreError> for BearerError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Token(e.into())
    }
}

/// A verified access token: its claims and, for a member's token, its live grant.
#[derive(Debug)]
pub struct Access {
    pub claims: Map<String, Value>,
    /// `None` for a client's own (client_credentials) token.
    pub grant: Option<Grant>,
}

impl Access {
    /// The client the token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.claims.get("client_id").and_then(Value::as_str)
    }

    /// Whether the token names `client_id` in `aud` (a string, or an array of them).
    pub fn is_for(&self, client_id: &str) -> bool {
        match self.claims.get("aud") {
            Some(Value::String(aud)) => aud == client_id,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
            _ => false,
        }
    }
}

fn revoked_jti_key(jti: &str) -> String {
    format!("revoked-jti:{jti}")
}

/// Verifies signature, type, issuer, expiry and that the grant is live.
pub async fn verify(ctx: Ctx<'_>, token: &str) -> Result<Access, BearerError> {
    let verified = ctx
        .keys
        .verify(ctx.db, &ctx.realm.id, token)
        .await
        .map_err(TokenError::from)?
        .ok_or(BearerError::InvalidToken)?;
    if verified.header.typ.as_deref() != Some("at+jwt") {
        return Err(BearerError::InvalidToken);
    }
    let claims: Map<String, Value> =
        serde_json::from_slice(&verified.payload).map_err(|_| BearerError::InvalidToken)?;
    let live = claims.get("iss").and_then(Value::as_str) == Some(ctx.issuer)
        && claims.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp > ctx.now.unix_timestamp());
    if !live {
        return Err(BearerError::InvalidToken);
    }
    let Some(grant_id) = claims.get("grant").and_then(Value::as_str) else {
        // A client's own token: its client must still be enabled, and its jti not revoked.
        let jti = claims.get("jti").and_then(Value::as_str).ok_or(BearerError::InvalidToken)?;
        let client_id = claims.get("client_id").and_then(Value::as_str).ok_or(BearerError::InvalidToken)?;
        let client = ctx.lookups.client(ctx.db, &ctx.realm.id, client_id).await.map_err(TokenError::from)?;
        let revoked = ctx.ephemeral.get(&revoked_jti_key(jti)).await.map_err(TokenError::from)?;
        if client.is_none() || revoked.is_some() {
            return Err(BearerError::InvalidToken);
        }
        return Ok(Access { claims, grant: None });
    };
    let grant = ctx
        .db
        .grant_by_id(grant_id)
        .await?
        .filter(|g| !g.is_revoked() && g.realm_id == ctx.realm.id)
        .ok_or(BearerError::InvalidToken)?;
    Ok(Access { claims, grant: Some(grant) })
}

/// OIDC Core §5.3: the member's claims by the token's scope.
pub async fn userinfo(ctx: Ctx<'_>, token: &str) -> Result<Map<String, Value>, BearerError> {
    let access = verify(ctx, token).await?;
    let grant = access.grant.ok_or(BearerError::InsufficientScope)?;
    let scopes: Vec<&str> = grant.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return Err(BearerError::InsufficientScope);
    }
    let user_id = grant.user_id.as_deref().ok_or(BearerError::InsufficientScope)?;
    let user = ctx
        .db
        .user_by_id(&ctx.realm.id, user_id)
        .await?
        .filter(|u| u.enabled)
        .ok_or(BearerError::InvalidToken)?;
    let mut out = Map::new();
    out.insert("sub".to_owned(), user.id.clone().into());
    out.extend(claims::for_user(&user, &scopes, &grant.auth.userinfo_claims));
    Ok(out)
}

/// RFC 7662's answer. Inactive tokens say only that.
#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

/// RFC 7662: access tokens by verification, refresh tokens by their stored hash. A client sees
/// only its own tokens, and the access tokens of another client's own (client_credentials)
/// grant that name it in `aud` while that client still lists it among its audiences: a resource
/// server checking the tokens it is given (the portal, for the kenpo's systems). A member's
/// token is never shown to a client but its own.
pub async fn introspect(ctx: Ctx<'_>, client: &Client, token: &str) -> Result<Introspection, TokenError> {
    let inactive = Introspection { active: false, claims: Map::new() };
    if token.contains('.') {
        let access = match verify(ctx, token).await {
            Ok(access) => access,
            Err(BearerError::InvalidToken | BearerError::InsufficientScope) => return Ok(inactive),
            Err(BearerError::Token(e)) => return Err(e),
        };
        let caller = client.client_id.as_str();
        let shown = access.client_id() == Some(caller) || is_audience_of(ctx, &access, caller).await?;
        if !shown {
            return Ok(inactive);
        }
        let mut claims = access.claims;
        claims.remove("grant");
        claims.insert("token_type".to_owned(), "Bearer".into());
        return Ok(Introspection { active: true, claims });
    }
    let grant = ctx.db.refresh_token_grant(&sha256_b64(token), ctx.now).await?;
    Ok(match grant {
        Some(grant) if !grant.is_revoked() && grant.client_id == client.client_id.as_str() => {
            let mut claims = Map::new();
            claims.insert("client_id".to_owned(), grant.client_id.into());
            claims.insert("scope".to_owned(), grant.scope.into());
            claims.insert("token_type".to_owned(), "refresh_token".into());
            if let Some(sub) = grant.user_id {
                claims.insert("sub".to_owned(), sub.into());
            }
            Introspection { active: true, claims }
        }
        _ => inactive,
    })
}

/// Whether `caller` may see `access` as its audience: a client's own token (no member behind
/// it) naming `caller` in `aud`, of a client that lists `caller` among its audiences now, so
/// taking the audience away, or a client registered later under an old name, shows nothing.
async fn is_audience_of(ctx: Ctx<'_>, access: &Access, caller: &str) -> Result<bool, TokenError> {
    if access.grant.is_some() || !access.is_for(caller) {
        return Ok(false);
    }
    let Some(issuer) = access.client_id() else { return Ok(false) };
    let client = ctx.lookups.client(ctx.db, &ctx.realm.id, issuer).await?;
    Ok(client.is_some_and(|c| c.audiences.iter().any(|a| a == caller)))
}

/// RFC 7009: revoking either token revokes its grant, and so every token issued from it. Tokens
/// of other clients, and unknown tokens, are ignored (the answer is the same).
pub async fn revoke(ctx: Ctx<'_>, client: &Client, token: &str) -> Result<(), TokenError> {
    let grant = if token.contains('.') {
        match verify(ctx, token).await {
            Ok(access) if access.client_id() != Some(client.client_id.as_str()) => None,
            Ok(Access { grant: Some(grant), .. }) => Some(grant),
            Ok(Access { grant: None, claims }) => {
                // A self-contained token: deny its jti until it would have expired anyway.
                let jti = claims.get("jti").and_then(Value::as_str).unwrap_or_default();
                let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or_default();
                let left = u64::try_from(exp - ctx.now.unix_timestamp()).unwrap_or(0).max(1);
                let ttl = std::time::Duration::from_secs(left + 60);
                ctx.ephemeral.put(&revoked_jti_key(jti), b"1", ttl).await?;
                None
            }
            Err(BearerError::Token(e)) => return Err(e),
            Err(_) => None,
        }
    } else {
        ctx.db.refresh_token_grant(&sha256_b64(token), ctx.now).await?
    };
    if let Some(grant) = grant.filter(|g| g.client_id == client.client_id.as_str()) {
        ctx.db.revoke_grant(&grant.id, ctx.now).await?;
    }
    Ok(())
}

/// What a valid `id_token_hint` says: who, for which client, in which session.
#[derive(Debug)]
pub struct Hint {
    pub sub: String,
    pub client_id: String,
    pub sid: Option<String>,
}

/// An ID token of ours, by signature and issuer; expiry is not checked (a hint may be old).
pub async fn id_token_hint(ctx: Ctx<'_>, token: &str) -> Result<Option<Hint>, FlowError> {
    let Some(verified) = ctx.keys.verify(ctx.db, &ctx.realm.id, token).await? else {
        return Ok(None);
    };
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&verified.payload) else { return Ok(None) };
    if claims["iss"] != ctx.issuer || verified.header.typ.as_deref() == Some("at+jwt") {
        return Ok(None);
    }
    let (Some(sub), Some(aud)) = (claims["sub"].as_str(), claims["aud"].as_str()) else { return Ok(None) };
    Ok(Some(Hint {
        sub: sub.to_owned(),
        client_id: aud.to_owned(),
        sid: claims["sid"].as_str().map(str::to_owned),
    }))
}
