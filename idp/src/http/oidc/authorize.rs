//! The authorization endpoint and the login form it shows (OIDC Core §3.1.2).
//!
//! A request that may proceed is kept in the ephemeral store under a random tab id while the
//! member logs in. The form is bound to the browser by a cookie (SameSite=Lax, so a cross-site
//! POST cannot carry it) and to the page by a CSRF token.

use crate::app::AppState;
use crate::ephemeral::EphemeralStore;
use crate::flows::access::id_token_hint;
use crate::flows::authorize::{self, AuthRequest, AuthorizeError, PageError};
use crate::flows::brute_force::Lock;
use crate::flows::login::{self, Outcome};
use crate::flows::sessions::{self, Login};
use crate::flows::{tokens, trusted_device};
use crate::http::{paths, web};
use crate::i18n::{self, Locale};
use crate::pages::LoginPage;
use crate::store::{EventStore, EventType, NewEvent, Realm, SessionStore, UserSession};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use shared_crypto::{ct_eq, random};
use std::net::SocketAddr;
use std::time::Duration;

/// The cookie that binds a login form to the browser that asked for it.
const BROWSER_COOKIE: &str = "KENPO_AUTH";
/// How long a member may take over the login page.
const LOGIN_PAGE_LIFETIME: Duration = Duration::from_secs(30 * 60);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::AUTH, get(authorize).post(authorize))
        .route(paths::LOGIN_ACTION, post(authenticate))
}

/// A request waiting for its member to log in.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    request: AuthRequest,
    csrf: String,
    browser: String,
}

fn pending_key(tab_id: &str) -> String {
    format!("login:{tab_id}")
}

fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

async fn authorize(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
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
        return issue_code(&state, &realm, &issuer, &request, session).await;
    }
    if request.prompt_none {
        let mut params = vec![("error", "login_required")];
        if let Some(s) = &request.state {
            params.push(("state", s));
        }
        params.push(("iss", &issuer));
        return web::to_client(&request.redirect_uri, &params);
    }
    show_login(&state, &realm, jar, request, locale, None, "").await
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
    if let Some(hint) = &request.id_token_hint {
        let ctx = web::ctx(state, realm, issuer);
        let hint = id_token_hint(ctx, hint).await.map_err(|e| web::server_error(state, Locale::Ja, &e))?;
        if hint.is_none_or(|h| h.sub != session.user_id) {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn issue_code(
    state: &AppState,
    realm: &Realm,
    issuer: &str,
    request: &AuthRequest,
    session: &UserSession,
) -> Response {
    let ctx = web::ctx(state, realm, issuer);
    match tokens::issue_code(ctx, request, session).await {
        Ok(code) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(s) = &request.state {
                params.push(("state", s));
            }
            params.push(("iss", issuer));
            web::to_client(&request.redirect_uri, &params)
        }
        Err(e) => web::server_error(state, Locale::Ja, &e),
    }
}

/// Shows the login form, keeping the request under a new tab id.
async fn show_login(
    state: &AppState,
    realm: &Realm,
    jar: CookieJar,
    request: AuthRequest,
    locale: Locale,
    error: Option<&'static str>,
    username: &str,
) -> Response {
    let browser = match jar.get(BROWSER_COOKIE) {
        Some(cookie) if cookie.value().len() >= 32 => cookie.value().to_owned(),
        _ => random::token(),
    };
    let tab_id = random::token_with_bytes(16);
    let csrf = random::token();
    let username = if username.is_empty() {
        request.login_hint.clone().unwrap_or_default()
    } else {
        username.to_owned()
    };
    let portal_url =
        url::Url::parse(&request.redirect_uri).ok().map(|u| u.origin().ascii_serialization() + "/");
    let pending = Pending { request, csrf: csrf.clone(), browser: browser.clone() };
    let stored = match serde_json::to_vec(&pending) {
        Ok(json) => state
            .ephemeral
            .put(&pending_key(&tab_id), &json, LOGIN_PAGE_LIFETIME)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = stored {
        return web::server_error(state, locale, &e);
    }
    let action = format!("/realms/{}/login-actions/authenticate?tab_id={tab_id}", realm.name);
    let page = LoginPage {
        action: &action,
        csrf_token: &csrf,
        username: &username,
        error,
        portal_url: portal_url.as_deref().filter(|u| u.starts_with("http")),
    };
    // 200 with the message, as Keycloak answers: a 401 would need an HTTP authentication challenge.
    let response = web::page(state, StatusCode::OK, locale, &realm.display_name, "login.html", page);
    let cookie = Cookie::build((BROWSER_COOKIE, browser))
        .path(web::cookie_path(realm))
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Lax)
        .build();
    (jar.add(cookie), response).into_response()
}

#[derive(Debug, Deserialize)]
struct TabQuery {
    #[serde(default)]
    tab_id: String,
}

/// The login form's fields, Keycloak's names. Missing fields are empty, never a rejection.
#[derive(Debug, Default)]
struct LoginForm {
    username: String,
    password: String,
    remember_me: Option<String>,
    csrf_token: String,
}

impl LoginForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (key, value) in web::pairs(body) {
            match key.as_str() {
                "username" => form.username = value,
                "password" => form.password = value,
                "rememberMe" => form.remember_me = Some(value),
                "csrf_token" => form.csrf_token = value,
                _ => {}
            }
        }
        form
    }
}

async fn authenticate(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(tab): Query<TabQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = LoginForm::parse(&body);
    let browser_locale = web::browser_locale(&headers);
    let realm = match web::realm(&state, &realm_name, browser_locale).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let expired = || {
        web::message(&state, StatusCode::BAD_REQUEST, browser_locale, &realm.display_name, "error.expired")
    };
    let pending: Pending = match state.ephemeral.get(&pending_key(&tab.tab_id)).await {
        Ok(Some(raw)) => match serde_json::from_slice(&raw) {
            Ok(p) => p,
            Err(_) => return expired(),
        },
        Ok(None) => return expired(),
        Err(e) => return web::server_error(&state, browser_locale, &e),
    };
    let browser_ok =
        jar.get(BROWSER_COOKIE).is_some_and(|c| ct_eq(c.value().as_bytes(), pending.browser.as_bytes()));
    if !browser_ok || !ct_eq(form.csrf_token.as_bytes(), pending.csrf.as_bytes()) {
        return expired();
    }
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let locale = i18n::for_request(pending.request.ui_locales.as_deref(), accept);
    let now = state.clock.now();
    let event = |user_id: Option<String>, error: Option<&str>| NewEvent {
        client_id: Some(pending.request.client_id.clone()),
        user_id,
        ip_address: Some(peer.ip().to_string()),
        error: error.map(str::to_owned),
        ..NewEvent::default()
    };
    let device = jar.get(trusted_device::COOKIE).map(|c| c.value().to_owned());
    let attempt = login::Attempt {
        username: &form.username,
        password: form.password,
        device: device.as_deref(),
        ip: peer.ip(),
        now,
    };
    let outcome = login::check_password(
        &state.db,
        &state.ephemeral,
        &state.master_key,
        &state.hashing,
        &realm,
        attempt,
    )
    .await;
    let (user, device) = match outcome {
        Ok(Outcome::Authenticated { user, device_cookie }) => (user, device_cookie),
        Ok(refused @ (Outcome::Invalid | Outcome::Locked(_))) => {
            // A locked ID, known or not, gets the form again with one message (no oracle).
            let (error, message) = match refused {
                Outcome::Locked(Lock::Temporary { .. }) => ("user_temporarily_disabled", "login.locked"),
                Outcome::Locked(Lock::Permanent) => ("user_disabled", "login.locked"),
                _ => ("invalid_user_credentials", "login.invalid"),
            };
            audit(&state, &realm, EventType::LoginError, event(None, Some(error))).await;
            let _ = state.ephemeral.delete(&pending_key(&tab.tab_id)).await;
            return show_login(&state, &realm, jar, pending.request, locale, Some(message), &form.username)
                .await;
        }
        Ok(Outcome::TooManyFromAddress) => {
            audit(&state, &realm, EventType::LoginError, event(None, Some("too_many_failures_from_address")))
                .await;
            return web::message(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                locale,
                &realm.display_name,
                "lockout.too_many_attempts",
            );
        }
        Ok(Outcome::Disabled) => {
            audit(&state, &realm, EventType::LoginError, event(None, Some("user_disabled"))).await;
            return web::message(
                &state,
                StatusCode::FORBIDDEN,
                locale,
                &realm.display_name,
                "login.disabled",
            );
        }
        Err(e) => return web::server_error(&state, locale, &e),
    };
    let jar = jar.add(device_cookie(&state, &realm, device));
    if !user.required_actions.is_empty() {
        // The required-action pages (birth date, terms, ...) are not built yet: a member who
        // still owes them must not get a code.
        audit(
            &state,
            &realm,
            EventType::LoginError,
            event(Some(user.id.clone()), Some("resolve_required_actions")),
        )
        .await;
        let page =
            web::message(&state, StatusCode::FORBIDDEN, locale, &realm.display_name, "login.actions_pending");
        return (jar, page).into_response();
    }
    match state.ephemeral.take(&pending_key(&tab.tab_id)).await {
        Ok(Some(_)) => {}
        Ok(None) => return expired(),
        Err(e) => return web::server_error(&state, locale, &e),
    }
    // The same member signing in again keeps their session (and its sid); anyone else replaces it.
    let existing = match web::current_session(&state, &realm, &jar).await {
        Ok(session) => session,
        Err(e) => return web::server_error(&state, locale, &e),
    };
    let remember_me = form.remember_me.is_some();
    let (session, new_cookie) = match existing {
        Some(session) if session.user_id == user.id => {
            if let Err(e) = state.db.reauthenticate_session(&session.id, now, remember_me).await {
                return web::server_error(&state, locale, &e);
            }
            let mut session = session;
            session.auth_time = now;
            (session, None)
        }
        other => {
            if let Some(old) = other {
                let issuer = state.config.issuer(realm.name.as_str());
                let _ = crate::flows::logout::end_session(web::ctx(&state, &realm, &issuer), &old).await;
                state.backchannel.notify_one();
            }
            let login = Login {
                remember_me,
                amr: vec!["pwd".to_owned()],
                ip_address: Some(peer.ip().to_string()),
                user_agent: headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(|ua| ua.chars().take(255).collect()),
            };
            match sessions::start(&state.db, &realm, &user, login, now).await {
                Ok(started) => (started.session, Some(started.cookie)),
                Err(e) => return web::server_error(&state, locale, &e),
            }
        }
    };
    let mut done = event(Some(user.id.clone()), None);
    done.session_id = Some(session.id.clone());
    audit(&state, &realm, EventType::Login, done).await;
    let issuer = state.config.issuer(realm.name.as_str());
    let response = issue_code(&state, &realm, &issuer, &pending.request, &session).await;
    let jar = match new_cookie {
        Some(value) => {
            let mut cookie = Cookie::build((sessions::COOKIE, value.expose_secret().to_owned()))
                .path(web::cookie_path(&realm))
                .http_only(true)
                .secure(secure(&state))
                .same_site(SameSite::Lax);
            if remember_me {
                let (_, max) = sessions::lifetimes(&realm, true);
                cookie = cookie.max_age(max);
            }
            jar.add(cookie.build())
        }
        None => jar,
    };
    (jar.remove(Cookie::build(BROWSER_COOKIE).path(web::cookie_path(&realm))), response).into_response()
}

/// The trusted-device cookie a member's browser gets after their password was right.
fn device_cookie(state: &AppState, realm: &Realm, value: String) -> Cookie<'static> {
    Cookie::build((trusted_device::COOKIE, value))
        .path(web::cookie_path(realm))
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Lax)
        .max_age(trusted_device::LIFETIME)
        .build()
}

/// Records an event; a failure to record is logged, never shown to the member.
pub async fn audit(state: &AppState, realm: &Realm, kind: EventType, event: NewEvent) {
    if let Err(e) = state.db.record_event(&realm.id, kind, event, state.clock.now()).await {
        tracing::warn!(error = %e, kind = kind.as_str(), "event not recorded");
    }
}
