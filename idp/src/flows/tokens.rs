//! Tokens: authorization codes, ID tokens, JWT access tokens (RFC 9068) and refresh tokens.

use super::FlowError;
use super::authorize::AuthRequest;
use super::claims;
use super::keys::KeyCache;
use crate::ephemeral::{Ephemeral, EphemeralStore};
use crate::store::{
    Client, Db, Grant, GrantAuth, GrantStore, GrantType, Realm, RefreshUse, SessionStore, User, UserSession,
    UserStore,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use shared_crypto::keys::Algorithm;
use shared_crypto::{MasterKey, jws, random};
use std::time::Duration as StdDuration;
use time::OffsetDateTime;

/// Codes live at most this long (FAPI 2.0: 60 s).
pub const CODE_LIFETIME: StdDuration = StdDuration::from_secs(60);
/// A used code is remembered this long, so its replay can revoke what it issued.
const USED_CODE_MEMORY: StdDuration = StdDuration::from_secs(600);

/// What the token flows work with: the stores, the keys, the realm and the time.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub ephemeral: &'a Ephemeral,
    pub master: &'a MasterKey,
    pub keys: &'a KeyCache,
    pub lookups: &'a super::lookup::Lookups,
    pub realm: &'a Realm,
    pub issuer: &'a str,
    /// The mail domain for realms that name none (`KENPO_IDP_MAIL_DOMAIN`).
    pub mail_domain: &'a str,
    pub now: OffsetDateTime,
}

/// RFC 6749 §5.2 errors of the token endpoint (and §4.1.2.1's subset elsewhere).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(String),
    #[error("the client is not allowed to use this grant type")]
    UnauthorizedClient,
    #[error("the grant type is not supported")]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(String),
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::Flow(_) => "server_error",
        }
    }
}

impl From<crate::store::StoreError> for TokenError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Flow(e.into())
    }
}

impl From<crate::ephemeral::EphemeralError> for TokenError {
    fn from(e: crate::ephemeral::EphemeralError) -> Self {
        Self::Flow(e.into())
    }
}

/// The token endpoint's answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// What a code stands for until it is exchanged.
#[derive(Debug, Serialize, Deserialize)]
struct CodeData {
    grant_id: String,
    client_id: String,
    redirect_uri: String,
    user_id: String,
    session_id: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth: GrantAuth,
    /// Unix seconds. The store's TTL removes the code too; this is the check that reads the
    /// flow's clock, so the rule is the same under a fixed clock in tests.
    expires_at: i64,
}

pub fn sha256_b64(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

fn code_key(code: &str) -> String {
    format!("code:{}", sha256_b64(code))
}

fn used_code_key(code: &str) -> String {
    format!("code-used:{}", sha256_b64(code))
}

/// Issues a code for an authenticated member's request. The code is 256 random bits; only its
/// hash is a key in the store.
pub async fn issue_code(
    ctx: Ctx<'_>,
    request: &AuthRequest,
    session: &UserSession,
) -> Result<String, FlowError> {
    let code = random::token();
    let data = CodeData {
        grant_id: uuid::Uuid::new_v4().to_string(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        user_id: session.user_id.clone(),
        session_id: session.id.clone(),
        scope: request.scope.join(" "),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth: GrantAuth {
            auth_time: session.auth_time.unix_timestamp(),
            acr: super::mfa::acr(&session.amr).to_owned(),
            amr: session.amr.clone(),
            id_token_claims: request.id_token_claims.clone(),
            userinfo_claims: request.userinfo_claims.clone(),
        },
        expires_at: ctx.now.unix_timestamp() + i64::try_from(CODE_LIFETIME.as_secs()).unwrap_or(60),
    };
    let json = serde_json::to_vec(&data).map_err(|e| FlowError::invalid("code", e))?;
    ctx.ephemeral.put(&code_key(&code), &json, CODE_LIFETIME).await?;
    Ok(code)
}

/// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6). A code is taken atomically;
/// presenting it again revokes every token issued from it.
pub async fn exchange_code(
    ctx: Ctx<'_>,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    if !client.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(TokenError::UnauthorizedClient);
    }
    let Some(raw) = ctx.ephemeral.take(&code_key(code)).await? else {
        if let Some(grant_id) = ctx.ephemeral.get(&used_code_key(code)).await? {
            let grant_id = String::from_utf8_lossy(&grant_id).into_owned();
            ctx.db.revoke_grant(&grant_id, ctx.now).await?;
            tracing::warn!(client = %client.client_id, "authorization code replayed: its grant is revoked");
            return Err(TokenError::InvalidGrant("the code was already used".to_owned()));
        }
        return Err(TokenError::InvalidGrant("the code is unknown or expired".to_owned()));
    };
    let data: CodeData = serde_json::from_slice(&raw).map_err(|e| FlowError::invalid("code", e))?;
    ctx.ephemeral.put(&used_code_key(code), data.grant_id.as_bytes(), USED_CODE_MEMORY).await?;
    if ctx.now.unix_timestamp() > data.expires_at {
        return Err(TokenError::InvalidGrant("the code has expired".to_owned()));
    }
    if data.client_id != client.client_id.as_str() {
        return Err(TokenError::InvalidGrant("the code was issued to another client".to_owned()));
    }
    if redirect_uri != Some(data.redirect_uri.as_str()) {
        return Err(TokenError::InvalidGrant(
            "redirect_uri does not match the authorization request".to_owned(),
        ));
    }
    match (&data.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let valid = (43..=128).contains(&verifier.len())
                && shared_crypto::ct_eq(sha256_b64(verifier).as_bytes(), challenge.as_bytes());
            if !valid {
                return Err(TokenError::InvalidGrant("code_verifier does not match".to_owned()));
            }
        }
        (Some(_), None) => return Err(TokenError::InvalidGrant("code_verifier is required".to_owned())),
        // RFC 9700 §2.1.1: no verifier unless a challenge was sent (PKCE downgrade).
        (None, Some(_)) => return Err(TokenError::InvalidGrant("no code_challenge was sent".to_owned())),
        (None, None) => {}
    }
    let Some(session) = ctx.db.session_by_id(&data.session_id).await? else {
        return Err(TokenError::InvalidGrant("the login session has ended".to_owned()));
    };
    let user = ctx
        .db
        .user_by_id(&ctx.realm.id, &data.user_id)
        .await?
        .filter(|u| u.enabled)
        .ok_or_else(|| TokenError::InvalidGrant("the account is not available".to_owned()))?;
    let grant = Grant {
        id: data.grant_id,
        realm_id: ctx.realm.id.clone(),
        client_id: client.client_id.to_string(),
        user_id: Some(user.id.clone()),
        session_id: Some(session.id.clone()),
        scope: data.scope,
        auth: data.auth,
        created_at: ctx.now,
        revoked_at: None,
    };
    ctx.db.create_grant(&grant).await?;
    ctx.db.add_session_client(&session.id, client.client_id.as_str()).await?;
    let refresh =
        if client.grant_types.contains(&GrantType::RefreshToken) { Refresh::New } else { Refresh::None };
    mint(ctx, client, &grant, Some(&user), Some(&session), data.nonce.as_deref(), refresh).await
}

/// The refresh_token grant (RFC 6749 §6), with rotation and replay detection (RFC 9700 §4.14.2).
pub async fn refresh(
    ctx: Ctx<'_>,
    client: &Client,
    token: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    if !client.grant_types.contains(&GrantType::RefreshToken) {
        return Err(TokenError::UnauthorizedClient);
    }
    // Rotating clients get the successor token from the same transaction that retires this one.
    let successor = client.rotate_refresh_tokens.then(random::token);
    let used = match &successor {
        Some(next) => ctx.db.rotate_refresh_token(&sha256_b64(token), &sha256_b64(next), ctx.now).await?,
        None => ctx.db.use_refresh_token(&sha256_b64(token), ctx.now).await?,
    };
    let grant = match used {
        RefreshUse::Valid(grant) => *grant,
        RefreshUse::Replayed { grant_id } => {
            ctx.db.revoke_grant(&grant_id, ctx.now).await?;
            tracing::warn!(client = %client.client_id, "refresh token replayed: its grant is revoked");
            return Err(TokenError::InvalidGrant("the refresh token was already used".to_owned()));
        }
        RefreshUse::Expired => {
            return Err(TokenError::InvalidGrant("the refresh token has expired".to_owned()));
        }
        RefreshUse::Unknown => {
            return Err(TokenError::InvalidGrant("the refresh token is unknown".to_owned()));
        }
    };
    if grant.client_id != client.client_id.as_str() {
        ctx.db.revoke_grant(&grant.id, ctx.now).await?;
        return Err(TokenError::InvalidGrant("the refresh token was issued to another client".to_owned()));
    }
    if grant.is_revoked() {
        return Err(TokenError::InvalidGrant("the grant has been revoked".to_owned()));
    }
    if let Some(asked) = scope {
        let granted: Vec<&str> = grant.scope.split(' ').collect();
        if let Some(extra) = asked.split(' ').find(|s| !s.is_empty() && !granted.contains(s)) {
            return Err(TokenError::InvalidScope(format!("{extra} was not granted")));
        }
    }
    let session = match &grant.session_id {
        Some(id) => Some(
            ctx.db
                .session_by_id(id)
                .await?
                .ok_or_else(|| TokenError::InvalidGrant("the login session has ended".to_owned()))?,
        ),
        None => None,
    };
    let user = match &grant.user_id {
        Some(id) => Some(
            ctx.db
                .user_by_id(&ctx.realm.id, id)
                .await?
                .filter(|u| u.enabled)
                .ok_or_else(|| TokenError::InvalidGrant("the account is not available".to_owned()))?,
        ),
        None => None,
    };
    let mut grant = grant;
    if let Some(asked) = scope {
        grant.scope = asked.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    }
    let refresh = successor.map_or(Refresh::None, Refresh::Stored);
    mint(ctx, client, &grant, user.as_ref(), session.as_ref(), None, refresh).await
}

/// What `mint` does about a refresh token.
enum Refresh {
    None,
    /// Make one and store it.
    New,
    /// Already stored (the rotation's successor): hand it out.
    Stored(String),
}

/// The client_credentials grant (RFC 6749 §4.4): a token for the client itself, no refresh token.
/// The token is self-contained (no grant row): nothing but the client stands behind it, it lives
/// minutes, and revoking it puts its `jti` on a deny-list in the ephemeral store for the rest of
/// its life (see `access::revoke`). This keeps the grant a machine-to-machine hot path asks for
/// free of database writes.
pub async fn client_credentials(
    ctx: Ctx<'_>,
    client: &Client,
    scope: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    if !client.confidential || !client.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(TokenError::UnauthorizedClient);
    }
    let scope: Vec<&str> =
        scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty() && *s != "openid").collect();
    let grant = Grant {
        id: uuid::Uuid::new_v4().to_string(),
        realm_id: ctx.realm.id.clone(),
        client_id: client.client_id.to_string(),
        user_id: None,
        session_id: None,
        scope: scope.join(" "),
        auth: GrantAuth {
            auth_time: ctx.now.unix_timestamp(),
            acr: "1".to_owned(),
            amr: Vec::new(),
            id_token_claims: Vec::new(),
            userinfo_claims: Vec::new(),
        },
        created_at: ctx.now,
        revoked_at: None,
    };
    mint(ctx, client, &grant, None, None, None, Refresh::None).await
}

/// Signs the tokens of a grant: an RFC 9068 access token, an ID token when the scope has
/// `openid` and a member is behind it, and a refresh token when asked.
async fn mint(
    ctx: Ctx<'_>,
    client: &Client,
    grant: &Grant,
    user: Option<&User>,
    session: Option<&UserSession>,
    nonce: Option<&str>,
    refresh: Refresh,
) -> Result<TokenResponse, TokenError> {
    let lifetime = i64::from(ctx.realm.settings.access_token_seconds);
    let iat = ctx.now.unix_timestamp();
    let sub = user.map_or_else(|| format!("service-account-{}", client.client_id), |u| u.id.clone());
    // RFC 9068 §3: `aud` names who the token is for: the client itself, and the resource
    // servers its audience mappers name (a string when it is only the client, as before).
    let aud = if client.audiences.is_empty() {
        serde_json::Value::from(client.client_id.as_str())
    } else {
        std::iter::once(client.client_id.as_str())
            .chain(client.audiences.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .into()
    };
    let mut access = serde_json::json!({
        "iss": ctx.issuer,
        "sub": sub,
        "aud": aud,
        "client_id": client.client_id.as_str(),
        "scope": grant.scope,
        "iat": iat,
        "exp": iat + lifetime,
        "jti": random::token_with_bytes(16),
    });
    // A token with a member behind it names its grant, which must still be live when it is
    // used; a client's own token stands alone.
    if user.is_some() {
        access["grant"] = grant.id.clone().into();
    }
    if let Some(session) = session {
        access["sid"] = session.id.clone().into();
        access["auth_time"] = grant.auth.auth_time.into();
        access["acr"] = grant.auth.acr.clone().into();
    }
    let access_ring = ctx.keys.signing(ctx.db, ctx.master, &ctx.realm.id, Algorithm::ES256, ctx.now).await?;
    let access_token = jws::sign(access_ring.active(), Some("at+jwt"), access.to_string().as_bytes());

    let scopes: Vec<&str> = grant.scope.split(' ').collect();
    let id_token = match (user, session) {
        (Some(user), Some(session)) if scopes.contains(&"openid") => {
            let ring = ctx
                .keys
                .signing(ctx.db, ctx.master, &ctx.realm.id, client.id_token_signing_alg, ctx.now)
                .await?;
            let mut id = serde_json::json!({
                "iss": ctx.issuer,
                "sub": user.id,
                "aud": client.client_id.as_str(),
                "azp": client.client_id.as_str(),
                "iat": iat,
                "exp": iat + lifetime,
                "auth_time": grant.auth.auth_time,
                "acr": grant.auth.acr,
                "amr": grant.auth.amr,
                "sid": session.id,
                "at_hash": at_hash(client.id_token_signing_alg, &access_token),
            });
            if let Some(nonce) = nonce {
                id["nonce"] = nonce.into();
            }
            if let Some(object) = id.as_object_mut() {
                object.extend(claims::for_user(user, &scopes, &grant.auth.id_token_claims));
            }
            Some(jws::sign(ring.active(), Some("JWT"), id.to_string().as_bytes()))
        }
        _ => None,
    };

    let refresh_token = match refresh {
        Refresh::None => None,
        Refresh::Stored(token) => Some(token),
        Refresh::New => {
            let token = random::token();
            let remember = session.is_some_and(|s| s.remember_me);
            let (idle, _) = super::sessions::lifetimes(ctx.realm, remember);
            ctx.db.store_refresh_token(&sha256_b64(&token), &grant.id, ctx.now, ctx.now + idle).await?;
            Some(token)
        }
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        refresh_token,
        id_token,
        scope: grant.scope.clone(),
    })
}

/// OIDC Core §3.1.3.6: the left half of the access token's hash, with the hash of the ID token's
/// algorithm (SHA-512 for Ed25519).
pub fn at_hash(alg: Algorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        Algorithm::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        Algorithm::ES256 | Algorithm::RS256 => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}
