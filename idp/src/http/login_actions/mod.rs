//! The hosted login journey under `/realms/{realm}/login-actions/…`, Keycloak's paths: the login
//! form, the required actions, both recovery flows and the mailed links.
//!
//! Every page of a login in progress belongs to a tab (`?tab_id=`, see
//! `flows::auth_session`): the tab is bound to the browser by the `KENPO_AUTH` cookie and each
//! form to the tab by a CSRF token. A POST that succeeds answers 303 to a GET of the next page,
//! so the member can reload any page (the manual asks them to, after the verification mail).

mod delete_credential;
mod email_otp;
mod links;
pub mod login;
mod passkey;
mod recovery;
pub mod required;
mod second_factor;
mod totp;

use crate::app::AppState;
use crate::domain::RequiredAction;
use crate::flows::auth_session::{self, AuthSession};
use crate::flows::brute_force::Lock;
use crate::flows::required_actions::FieldError;
use crate::flows::tokens;
use crate::http::{paths, web};
use crate::i18n::{self, Locale};
use crate::store::{EventStore, EventType, NewEvent, Realm, UserSession};
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};
use shared_crypto::ct_eq;
use std::collections::BTreeMap;
use std::net::SocketAddr;

pub use login::show_login;

/// The cookie that binds a tab to the browser that opened it.
pub const BROWSER_COOKIE: &str = "KENPO_AUTH";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN_ACTION, get(login::show).post(login::authenticate))
        .route(paths::REQUIRED_ACTION, get(required::show).post(required::submit))
        .route(paths::RESET_CREDENTIALS, get(recovery::reset_form).post(recovery::request_reset))
        .route(paths::FORGOT_USERNAME, get(recovery::username_form).post(recovery::request_username))
        .route(paths::ACTION_TOKEN, get(links::follow).post(links::reset_password))
}

/// `?tab_id=…&kc_locale=…`, as Keycloak's pages carry them.
#[derive(Debug, Default, Deserialize)]
pub struct TabQuery {
    #[serde(default)]
    pub tab_id: String,
    #[serde(default)]
    pub kc_locale: Option<String>,
    /// The required action a form is for (`?execution=UPDATE_PASSWORD`).
    #[serde(default)]
    pub execution: Option<String>,
}

/// A tab found and proven to belong to this browser.
#[derive(Debug)]
pub struct Tab {
    pub id: String,
    pub session: AuthSession,
    pub locale: Locale,
}

impl Tab {
    /// `{realm}/login-actions/{page}?tab_id=…`
    pub fn url(&self, realm: &Realm, page: &str) -> String {
        format!("/realms/{}/login-actions/{page}?tab_id={}", realm.name, self.id)
    }

    /// The same page in the other language.
    pub fn switch_url(&self, realm: &Realm, page: &str) -> String {
        format!("{}&kc_locale={}", self.url(realm, page), self.locale.other().code())
    }
}

/// The language of a tab: the member's switch, then `ui_locales`, then the browser.
pub fn tab_locale(session: &AuthSession, headers: &HeaderMap) -> Locale {
    if let Some(chosen) = session.locale.as_deref().and_then(Locale::parse) {
        return chosen;
    }
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    i18n::for_request(session.request.ui_locales.as_deref(), accept)
}

/// Loads the tab of `query`, refusing another browser's; a `kc_locale` switch is remembered.
/// `csrf` is the form's token, for POSTs.
pub async fn open_tab(
    state: &AppState,
    realm: &Realm,
    query: &TabQuery,
    headers: &HeaderMap,
    jar: &CookieJar,
    csrf: Option<&str>,
) -> Result<Tab, Response> {
    let browser_locale = web::browser_locale(headers);
    let expired = || expired_page(state, realm, browser_locale);
    let mut session = match auth_session::load(&state.ephemeral, &query.tab_id).await {
        Ok(Some(session)) => session,
        Ok(None) => return Err(expired()),
        Err(e) => return Err(web::server_error(state, browser_locale, &e)),
    };
    let same_browser =
        jar.get(BROWSER_COOKIE).is_some_and(|c| ct_eq(c.value().as_bytes(), session.browser.as_bytes()));
    let csrf_ok = csrf.is_none_or(|token| ct_eq(token.as_bytes(), session.csrf.as_bytes()));
    if !same_browser || !csrf_ok {
        return Err(expired());
    }
    if let Some(chosen) = query.kc_locale.as_deref().and_then(Locale::parse) {
        session.locale = Some(chosen.code().to_owned());
        if let Err(e) = auth_session::save(&state.ephemeral, &query.tab_id, &session).await {
            return Err(web::server_error(state, browser_locale, &e));
        }
    }
    let locale = tab_locale(&session, headers);
    Ok(Tab { id: query.tab_id.clone(), session, locale })
}

pub fn expired_page(state: &AppState, realm: &Realm, locale: Locale) -> Response {
    web::message(state, StatusCode::BAD_REQUEST, locale, &realm.display_name, "error.expired")
}

/// The browser's binding id: the one its cookie already holds, or a new one.
pub fn browser_id(jar: &CookieJar) -> String {
    match jar.get(BROWSER_COOKIE) {
        Some(cookie) if cookie.value().len() >= 32 => cookie.value().to_owned(),
        _ => shared_crypto::random::token(),
    }
}

/// The browser-binding cookie.
pub fn browser_cookie(state: &AppState, realm: &Realm, value: String) -> Cookie<'static> {
    Cookie::build((BROWSER_COOKIE, value))
        .path(web::cookie_path(realm))
        .http_only(true)
        .secure(web::secure(state))
        .same_site(SameSite::Lax)
        .build()
}

/// Messages by field, as the templates read them: `errors["email"]` is a list.
pub fn by_field(errors: &[FieldError]) -> BTreeMap<&'static str, Vec<&FieldError>> {
    let mut map: BTreeMap<&'static str, Vec<&FieldError>> = BTreeMap::new();
    for error in errors {
        map.entry(error.field).or_default().push(error);
    }
    map
}

/// What every page of a tab shows around its form.
#[derive(Debug, Serialize)]
pub struct TabChrome<'a> {
    pub action: &'a str,
    pub csrf_token: &'a str,
    pub switch_url: &'a str,
}

/// Who did what, from where: the fields every event of the journey shares.
pub fn event(
    peer: &SocketAddr,
    client_id: Option<&str>,
    user_id: Option<&str>,
    error: Option<&str>,
) -> NewEvent {
    NewEvent {
        client_id: client_id.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
        ip_address: Some(peer.ip().to_string()),
        error: error.map(str::to_owned),
        ..NewEvent::default()
    }
}

/// Records an event; a failure to record is logged, never shown to the member.
pub async fn audit(state: &AppState, realm: &Realm, kind: EventType, event: NewEvent) {
    if let Err(e) = state.db.record_event(&realm.id, kind, event, state.clock.now()).await {
        tracing::warn!(error = %e, kind = kind.as_str(), "event not recorded");
    }
}

/// Issues the code for a finished login and sends the browser back to the client, with
/// `kc_action_status` when the client asked for a change.
pub async fn issue_code(
    state: &AppState,
    realm: &Realm,
    request: &crate::flows::authorize::AuthRequest,
    session: &UserSession,
    action_status: Option<&str>,
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    match tokens::issue_code(ctx, request, session).await {
        Ok(code) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(s) = &request.state {
                params.push(("state", s));
            }
            // Keycloak tells the client whether its application-initiated action was made.
            if let Some(status) = action_status {
                params.push(("kc_action_status", status));
            }
            params.push(("iss", &issuer));
            web::to_client(&request.redirect_uri, &params)
        }
        Err(e) => web::server_error(state, Locale::Ja, &e),
    }
}

/// Marks the change the client asked for (`kc_action`) as made, when `action` is it.
pub async fn requested_done(state: &AppState, tab: &mut Tab, action: RequiredAction) -> Result<(), Response> {
    if tab.session.requested() != Some(action) {
        return Ok(());
    }
    if let Some(member) = tab.session.member.as_mut() {
        member.requested_done = true;
    }
    auth_session::save(&state.ephemeral, &tab.id, &tab.session)
        .await
        .map_err(|e| web::server_error(state, tab.locale, &e))
}

/// A second factor passed: what it proved joins the login's `amr`, and the login goes on to
/// what the member owes (or finishes).
pub async fn factor_passed(state: &AppState, realm: &Realm, mut tab: Tab, proved: &[&str]) -> Response {
    if let Some(member) = tab.session.member.as_mut() {
        member.factor = None;
        crate::flows::mfa::record(&mut member.amr, proved);
    }
    match auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
        Ok(()) => see_other(&tab.url(realm, "required-action")),
        Err(e) => web::server_error(state, tab.locale, &e),
    }
}

/// The member's lockout record is locked: the login ends with the contact-your-kenpo page
/// (Q5), recorded as Keycloak's `LOGIN_ERROR` of a temporarily or permanently disabled user.
pub async fn locked_out(
    state: &AppState,
    realm: &Realm,
    tab: &Tab,
    lock: Lock,
    mut failed: NewEvent,
) -> Response {
    failed.error = Some(
        match lock {
            Lock::Temporary { .. } => "user_temporarily_disabled",
            Lock::Permanent => "user_disabled",
        }
        .to_owned(),
    );
    audit(state, realm, EventType::LoginError, failed).await;
    let _ = auth_session::finish(&state.ephemeral, &tab.id).await;
    web::message(state, StatusCode::FORBIDDEN, tab.locale, &realm.display_name, "login.locked")
}

/// A 303 to a page of the journey.
pub fn see_other(location: &str) -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response();
    web::no_store(&mut response);
    response
}
