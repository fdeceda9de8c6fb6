//! Ending an SSO session: OIDC RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.
//!
//! Ending a session revokes every grant made in it (so its access and refresh tokens stop
//! working) and queues a logout token for each client that signed in through it. A redirect
//! back to the client happens only for a registered `post_logout_redirect_uri` vouched for by a
//! valid `id_token_hint`; anything else ends the session and shows our logged-out page.

use super::FlowError;
use super::access::{Hint, id_token_hint};
use super::tokens::Ctx;
use crate::domain::ClientId;
use crate::store::{BackchannelStore, ClientStore, Delivery, GrantStore, SessionStore, UserSession};
use shared_crypto::{jws, random};

/// The event a logout token carries (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The parameters of a logout request.
#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

/// Where the browser goes after logging out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Back to the client: the registered URI, with `state`.
    Redirect(String),
    /// Our logged-out page.
    LoggedOut,
}

/// Logs out: the cookie's session, or the one the hint names, and decides where to go next.
pub async fn logout(
    ctx: Ctx<'_>,
    request: &LogoutRequest,
    cookie_session: Option<UserSession>,
) -> Result<After, FlowError> {
    let hint = match &request.id_token_hint {
        Some(token) => id_token_hint(ctx, token).await?,
        None => None,
    };
    let session = match (cookie_session, &hint) {
        (Some(session), _) => Some(session),
        (None, Some(Hint { sid: Some(sid), sub, .. })) => {
            ctx.db.session_by_id(sid).await?.filter(|s| &s.user_id == sub && s.realm_id == ctx.realm.id)
        }
        (None, _) => None,
    };
    if let Some(session) = &session {
        end_session(ctx, session).await?;
    }
    Ok(redirect_target(ctx, request, hint.as_ref()).await?.map_or(After::LoggedOut, After::Redirect))
}

/// Ends every session of the member (a password reset, a disabled account): whoever held one is
/// out, and the member's clients are told. A session that cannot be ended is logged and the
/// others still end. Returns how many ended; the caller wakes the back-channel delivery.
pub async fn end_all_sessions(ctx: Ctx<'_>, user_id: &str) -> Result<usize, FlowError> {
    end_other_sessions(ctx, user_id, None).await
}

/// Ends every session of the member but `keep` (「全てのデバイスからサインアウトする」 on a
/// credential change made from one of them).
pub async fn end_other_sessions(ctx: Ctx<'_>, user_id: &str, keep: Option<&str>) -> Result<usize, FlowError> {
    let mut ended = 0;
    for session in ctx.db.sessions_of(user_id).await? {
        if Some(session.id.as_str()) == keep {
            continue;
        }
        match end_session(ctx, &session).await {
            Ok(()) => ended += 1,
            Err(e) => tracing::warn!(error = %e, session = %session.id, "session not ended"),
        }
    }
    Ok(ended)
}

/// Ends a session: its grants revoked, its clients told, the session gone.
pub async fn end_session(ctx: Ctx<'_>, session: &UserSession) -> Result<(), FlowError> {
    for client_id in ctx.db.session_clients(&session.id).await? {
        let Ok(parsed) = ClientId::parse(&client_id) else { continue };
        let Some(client) = ctx.db.client_by_client_id(&ctx.realm.id, &parsed).await? else { continue };
        let Some(uri) = &client.backchannel_logout_uri else { continue };
        let iat = ctx.now.unix_timestamp();
        let claims = serde_json::json!({
            "iss": ctx.issuer,
            "sub": session.user_id,
            "aud": client.client_id.as_str(),
            "iat": iat,
            "exp": iat + 120,
            "jti": random::token_with_bytes(16),
            "sid": session.id,
            "events": { BACKCHANNEL_EVENT: {} },
        });
        let ring =
            ctx.keys.signing(ctx.db, ctx.master, &ctx.realm.id, client.id_token_signing_alg, ctx.now).await?;
        let token = jws::sign(ring.active(), Some("logout+jwt"), claims.to_string().as_bytes());
        ctx.db
            .enqueue_logout(&Delivery {
                id: uuid::Uuid::now_v7().to_string(),
                realm_id: ctx.realm.id.clone(),
                client_id: client.client_id.to_string(),
                uri: uri.clone(),
                logout_token: token,
                attempts: 0,
                next_attempt_at: ctx.now,
            })
            .await?;
    }
    ctx.db.revoke_session_grants(&session.id, ctx.now).await?;
    ctx.db.delete_session(&session.id).await?;
    Ok(())
}

/// The registered post-logout URI with `state`, when the hint vouches for it.
async fn redirect_target(
    ctx: Ctx<'_>,
    request: &LogoutRequest,
    hint: Option<&Hint>,
) -> Result<Option<String>, FlowError> {
    let (Some(uri), Some(hint)) = (&request.post_logout_redirect_uri, hint) else { return Ok(None) };
    if request.client_id.as_ref().is_some_and(|c| c != &hint.client_id) {
        return Ok(None);
    }
    let Ok(client_id) = ClientId::parse(&hint.client_id) else { return Ok(None) };
    let Some(client) = ctx.db.client_by_client_id(&ctx.realm.id, &client_id).await? else { return Ok(None) };
    if !client.post_logout_redirect_uris.iter().any(|r| r.as_str() == uri) {
        return Ok(None);
    }
    let mut target = url::Url::parse(uri).map_err(|e| FlowError::invalid("post_logout_redirect_uri", e))?;
    if let Some(state) = &request.state {
        target.query_pairs_mut().append_pair("state", state);
    }
    Ok(Some(target.to_string()))
}
