//! Login, logout and the IdP's back-channel logout, translated from HTTP into `flows::auth`.

use super::member::{self, Signed, Visitor, is_https, login_cookie_name, removal, session_cookie_name};
use crate::app::AppState;
use crate::error::AppError;
use crate::flows::auth::{self, AuthError, Callback};
use crate::oidc::RpError;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

pub const LOGIN: &str = "/auth/login";
pub const CALLBACK: &str = "/auth/callback";
pub const LOGOUT: &str = "/auth/logout";
pub const BACKCHANNEL_LOGOUT: &str = "/auth/backchannel-logout";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LOGIN, get(login))
        .route(CALLBACK, get(callback))
        .route(LOGOUT, get(confirm_logout).post(logout))
        .route(BACKCHANNEL_LOGOUT, post(backchannel_logout))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
    /// Set by pages that want a fresh authentication (sensitive downloads).
    fresh: Option<String>,
}

/// 「ログイン」: off to the IdP, with this browser bound to the login by a cookie.
async fn login(
    State(state): State<AppState>,
    visitor: Visitor,
    jar: CookieJar,
    Query(q): Query<LoginQuery>,
) -> Response {
    let https = is_https(&state);
    let fresh = q.fresh.as_deref() == Some("1");
    let rp = match state.rp(&visitor.kenpo).await {
        Ok(rp) => rp,
        Err(e) => {
            return AppError::from(AuthError::from(e)).render(visitor.locale, &visitor.kenpo.display_name);
        }
    };
    let started = auth::begin(
        &rp,
        &state.sessions,
        &visitor.kenpo,
        q.return_to.as_deref(),
        fresh,
        visitor.locale.code(),
    )
    .await;
    match started {
        Ok((url, login_state)) => {
            let jar = jar.add(member::cookie(login_cookie_name(https), login_state, https));
            (jar, Redirect::to(url.as_str())).into_response()
        }
        Err(e) => AppError::from(e).render(visitor.locale, &visitor.kenpo.display_name),
    }
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    visitor: Visitor,
    jar: CookieJar,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let https = is_https(&state);
    let browser_state = jar.get(login_cookie_name(https)).map(|c| c.value().to_owned());
    let callback = Callback {
        state: q.state.as_deref().unwrap_or_default(),
        browser_state: browser_state.as_deref(),
        code: q.code.as_deref(),
        error: q.error.as_deref(),
        locale: visitor.locale.code(),
    };
    let now = state.clock.unix();
    let completed = match state.rp(&visitor.kenpo).await {
        Ok(rp) => auth::complete(&rp, &state.sessions, &state.db, &visitor.kenpo, callback, now).await,
        Err(e) => Err(e.into()),
    };
    match completed {
        Ok((session_id, return_to)) => {
            // The old session (if any) is replaced, never reused: a fresh id at each login.
            if let Some(old) = jar.get(session_cookie_name(https)) {
                state.sessions.delete(old.value()).await.ok();
            }
            let jar = jar.remove(removal(login_cookie_name(https), https)).add(member::cookie(
                session_cookie_name(https),
                session_id,
                https,
            ));
            (jar, Redirect::to(&return_to)).into_response()
        }
        Err(e) => {
            let jar = jar.remove(removal(login_cookie_name(https), https));
            (jar, AppError::from(e).render(visitor.locale, &visitor.kenpo.display_name)).into_response()
        }
    }
}

/// 「ログアウトしてもよろしいですか？」 (manual 2-2).
async fn confirm_logout(State(state): State<AppState>, signed: Option<Signed>) -> Response {
    let Some(signed) = signed else { return Redirect::to("/").into_response() };
    let chrome = signed.chrome();
    match state.templates.render("logout.html", signed.locale, &chrome, ()) {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::from(e).render(signed.locale, &signed.kenpo.display_name),
    }
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    csrf: String,
}

/// 「ログアウトする」: the portal session ends, then the IdP's (RP-initiated logout), which
/// brings the browser back to the top page showing 「ログイン」.
async fn logout(
    State(state): State<AppState>,
    signed: Option<Signed>,
    jar: CookieJar,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let Some(signed) = signed else { return Redirect::to("/").into_response() };
    // An unreadable form (a field twice, none at all) is treated like a wrong token.
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if !signed.holds_csrf(&token) {
        return AppError::Csrf.render(signed.locale, &signed.kenpo.display_name);
    }
    let https = is_https(&state);
    let jar = jar.remove(removal(session_cookie_name(https), https));
    let result = match state.rp(&signed.kenpo).await {
        Ok(rp) => {
            let session = &signed.who.session;
            auth::logout(&rp, &state.sessions, &signed.who.session_id, session, signed.locale.code()).await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(Some(url)) => (jar, Redirect::to(url.as_str())).into_response(),
        Ok(None) => (jar, Redirect::to("/")).into_response(),
        Err(e) => {
            // The portal session is gone either way; the IdP's may outlive it.
            tracing::warn!(error = %e, "IdP logout URL unavailable");
            (jar, Redirect::to("/")).into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct BackchannelForm {
    logout_token: Option<String>,
}

/// OpenID Connect Back-Channel Logout 1.0 §2.8: 200 when done, 400 with an OAuth error body
/// otherwise; never cached.
async fn backchannel_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<BackchannelForm>, FormRejection>,
) -> Response {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let Some(token) = form.ok().and_then(|Form(f)| f.logout_token) else {
        return (StatusCode::BAD_REQUEST, no_store, Json(oauth_error("logout_token is required")))
            .into_response();
    };
    // The host names the kenpo, and so the IdP realm whose keys must have signed the token.
    let done = match member::tenant(&state, &headers).await {
        Ok(kenpo) => match state.rp(&kenpo).await {
            Ok(rp) => auth::back_channel_logout(&rp, &state.sessions, &token, state.clock.unix()).await,
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(AuthError::Tenant(e.to_string())),
    };
    match done {
        Ok(()) => (StatusCode::OK, no_store).into_response(),
        Err(AuthError::Rp(RpError::LogoutToken(reason))) => {
            tracing::info!(reason, "back-channel logout token refused");
            (StatusCode::BAD_REQUEST, no_store, Json(oauth_error(reason))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout failed");
            (StatusCode::INTERNAL_SERVER_ERROR, no_store, Json(oauth_error("server_error"))).into_response()
        }
    }
}

fn oauth_error(description: &str) -> serde_json::Value {
    serde_json::json!({ "error": "invalid_request", "error_description": description })
}
