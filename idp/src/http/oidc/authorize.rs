//! The authorization endpoint (OIDC Core §3.1.2): validates the request, then answers from the
//! browser's SSO session or hands over to the login journey (`http::login_actions`).

use crate::app::AppState;
use crate::flows::access::id_token_hint;
use crate::flows::authorize::{self, AuthRequest, AuthorizeError, PageError};
use crate::flows::mfa;
use crate::http::{login_actions, paths, web};
use crate::i18n::{self, Locale};
use crate::store::{Realm, UserSession, UserStore};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use std::net::SocketAddr;

pub fn routes() -> Router<AppState> {
    Router::new().route(paths::AUTH, get(authorize).post(authorize))
}

#[expect(clippy::too_many_arguments, reason = "axum extractors, one per part of the request")]
async fn authorize(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let params = authorize::collect_params(web::get_or_post_pairs(&method, query, &body));
    let ui_locales = params.as_ref().ok().and_then(|p| p.get("ui_locales").cloned());
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let locale = i18n::for_request(ui_locales.as_deref(), accept);
    let realm = match web::realm(&state, &realm_name, locale).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let (request, _client) = match authorize::validate(&state.db, &realm, params).await {
        Ok(found) => found,
        Err(AuthorizeError::Page(e)) => {
            let key = match e {
                PageError::MissingClientId => "error.missing_client",
                PageError::UnknownClient => "error.unknown_client",
                PageError::InvalidRedirectUri => "error.invalid_redirect_uri",
            };
            return web::message(&state, StatusCode::BAD_REQUEST, locale, &realm.display_name, key);
        }
        Err(AuthorizeError::Redirect(e)) => {
            let mut params = vec![("error", e.error), ("error_description", e.description.as_str())];
            if let Some(state) = &e.state {
                params.push(("state", state));
            }
            params.push(("iss", &issuer));
            return web::to_client(&e.redirect_uri, &params);
        }
    };
    let session = match web::current_session(&state, &realm, &jar).await {
        Ok(session) => session,
        Err(e) => return web::server_error(&state, locale, &e),
    };
    let reusable = match &session {
        Some(session) if !request.prompt_login => {
            match session_satisfies(&state, &realm, &issuer, &request, session).await {
                Ok(ok) => ok,
                Err(response) => return response,
            }
        }
        _ => false,
    };
    if let (true, Some(session)) = (reusable, &session) {
        return login_actions::login::resume_session(&state, &realm, jar, request, session, &peer, &headers)
            .await;
    }
    if request.prompt_none {
        return web::error_to_client(&request, &issuer, "login_required");
    }
    let mut request = request;
    if let (Some(session), None) = (&session, &request.login_hint) {
        // Re-authentication: the member signed in is the one to sign in again.
        match state.db.user_by_id(&realm.id, &session.user_id).await {
            Ok(user) => request.login_hint = user.map(|u| u.username.to_string()),
            Err(e) => return web::server_error(&state, locale, &e),
        }
    }
    login_actions::show_login(&state, &realm, jar, request, locale).await
}

/// Whether an existing session answers the request: recent enough for `max_age`, and the member
/// an `id_token_hint` names.
async fn session_satisfies(
    state: &AppState,
    realm: &Realm,
    issuer: &str,
    request: &AuthRequest,
    session: &UserSession,
) -> Result<bool, Response> {
    let now = state.clock.now();
    if let Some(max_age) = request.max_age
        && (now - session.auth_time).whole_seconds() > i64::try_from(max_age).unwrap_or(i64::MAX)
    {
        return Ok(false);
    }
    // A change the client asks for (kc_action) needs a recent authentication.
    let window = i64::from(realm.settings.reauthentication_window_seconds);
    if request.asks_for_change() && (now - session.auth_time).whole_seconds() > window {
        return Ok(false);
    }
    // A client asking for two factors gets a fresh login from a one-factor session.
    if mfa::demands_two_factors(&request.acr_values) && !mfa::has_two_factors(&session.amr) {
        return Ok(false);
    }
    if let Some(hint) = &request.id_token_hint {
        let ctx = state.ctx(realm, issuer);
        let hint = id_token_hint(ctx, hint).await.map_err(|e| web::server_error(state, Locale::Ja, &e))?;
        if hint.is_none_or(|h| h.sub != session.user_id) {
            return Ok(false);
        }
    }
    Ok(true)
}
