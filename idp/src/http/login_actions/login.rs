//! The login form (2-1, 3-3, 3-4): user ID, password, 「ログイン状態の保存」, the two recovery
//! links and 「ポータルに戻る」. Wrong credentials always give the manual's one message (Q8).

use super::{TabChrome, TabQuery, audit, event, open_tab, required, second_factor, see_other};
use crate::app::AppState;
use crate::flows::auth_session::{self, AuthSession, Authenticated};
use crate::flows::authorize::AuthRequest;
use crate::flows::brute_force::Lock;
use crate::flows::login::{self, Outcome};
use crate::flows::mfa;
use crate::flows::trusted_device;
use crate::http::web;
use crate::i18n::Locale;
use crate::store::{EventType, Realm, UserSession};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Serialize;
use shared_crypto::random;
use std::net::SocketAddr;

/// The login page's own fields.
#[derive(Debug, Serialize)]
struct LoginPage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    username: &'a str,
    /// A catalogue key.
    error: Option<&'static str>,
    /// The 「パスキーでログイン」 challenge, where passkeys work here.
    passkey_challenge: Option<String>,
    webauthn_script: &'static str,
    /// A recovery step's message (catalogue key) and the address it names.
    notice: Option<&'a str>,
    notice_email: Option<&'a str>,
    forgot_password_url: &'a str,
    forgot_username_url: &'a str,
    portal_url: Option<&'a str>,
}

/// Starts a tab for `request` and shows its login form.
pub async fn show_login(
    state: &AppState,
    realm: &Realm,
    jar: CookieJar,
    request: AuthRequest,
    locale: Locale,
) -> Response {
    let browser = super::browser_id(&jar);
    let tab_id = random::token_with_bytes(16);
    let request_notice = request
        .asks_for_change()
        .then(|| auth_session::Notice { key: "login.reauthenticate".to_owned(), email: None });
    let session = AuthSession {
        request,
        csrf: random::token(),
        browser: browser.clone(),
        locale: None,
        member: None,
        // A change the client asked for comes after a fresh login: the page says why.
        notice: request_notice,
        passkey: None,
    };
    let mut tab = super::Tab { id: tab_id, session, locale };
    let response = render(state, realm, &mut tab, None, "").await;
    (jar.add(super::browser_cookie(state, realm, browser)), response).into_response()
}

/// The login form. Each showing starts a fresh 「パスキーでログイン」 ceremony and saves the tab.
pub(super) async fn render(
    state: &AppState,
    realm: &Realm,
    tab: &mut super::Tab,
    error: Option<&'static str>,
    username: &str,
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let passkey_challenge = match super::passkey::sign_in_challenge(&state.ctx(realm, &issuer), tab) {
        Ok(challenge) => challenge,
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
        return web::server_error(state, tab.locale, &e);
    }
    let request = &tab.session.request;
    let username =
        if username.is_empty() { request.login_hint.as_deref().unwrap_or_default() } else { username };
    let portal_url =
        url::Url::parse(&request.redirect_uri).ok().map(|u| u.origin().ascii_serialization() + "/");
    let action = tab.url(realm, "authenticate");
    let switch_url = tab.switch_url(realm, "authenticate");
    let notice = tab.session.notice.as_ref();
    let page = LoginPage {
        chrome: TabChrome { action: &action, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        username,
        error,
        passkey_challenge,
        webauthn_script: crate::http::paths::WEBAUTHN_SCRIPT,
        notice: notice.map(|n| n.key.as_str()),
        notice_email: notice.and_then(|n| n.email.as_deref()),
        forgot_password_url: &tab.url(realm, "reset-credentials"),
        forgot_username_url: &tab.url(realm, "forgot-username"),
        portal_url: portal_url.as_deref().filter(|u| u.starts_with("http")),
    };
    // 200 with the message, as Keycloak answers: a 401 would need an HTTP authentication challenge.
    web::page(state, StatusCode::OK, tab.locale, &realm.display_name, "login.html", page)
}

/// GET of the form's own URL: the same tab again (after a language switch, or coming back from
/// a recovery page).
pub async fn show(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<TabQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let realm = match web::realm(&state, &realm_name, web::browser_locale(&headers)).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let mut tab = match open_tab(&state, &realm, &query, &headers, &jar, None).await {
        Ok(tab) => tab,
        Err(page) => return page,
    };
    match &tab.session.member {
        Some(member) if member.factor.is_some() => second_factor::show(&state, &realm, tab).await,
        Some(_) => see_other(&tab.url(&realm, "required-action")),
        None => render(&state, &realm, &mut tab, None, "").await,
    }
}

/// The login form's fields, Keycloak's names. Missing fields are empty, never a rejection.
#[derive(Debug, Default)]
struct LoginForm {
    username: String,
    password: String,
    remember_me: bool,
    csrf_token: String,
    /// 「パスキーでログイン」's answer: the sign-in form posts it instead of a password.
    webauthn: Option<String>,
}

impl LoginForm {
    fn parse(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (key, value) in web::pairs(body) {
            match key.as_str() {
                "username" => form.username = value,
                "password" => form.password = value,
                "rememberMe" => form.remember_me = true,
                "csrf_token" => form.csrf_token = value,
                "webauthn" => form.webauthn = Some(value),
                _ => {}
            }
        }
        form
    }
}

pub async fn authenticate(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<TabQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = LoginForm::parse(&body);
    let realm = match web::realm(&state, &realm_name, web::browser_locale(&headers)).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let mut tab = match open_tab(&state, &realm, &query, &headers, &jar, Some(&form.csrf_token)).await {
        Ok(tab) => tab,
        Err(page) => return page,
    };
    match &tab.session.member {
        Some(member) if member.factor.is_some() => {
            let fields = web::FormFields::parse(&body);
            return second_factor::submit(&state, &realm, tab, &fields, &jar, &peer).await;
        }
        Some(_) => return see_other(&tab.url(&realm, "required-action")),
        None => {}
    }
    if let Some(answer) = &form.webauthn {
        return super::passkey::sign_in(&state, &realm, tab, answer, jar, &peer, &headers).await;
    }
    let client_id = tab.session.request.client_id.clone();
    let now = state.clock.now();
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
    let (mut user, device) = match outcome {
        Ok(Outcome::Authenticated { user, device_cookie }) => (user, device_cookie),
        Ok(refused @ (Outcome::Invalid | Outcome::Locked(_))) => {
            // A locked ID, known or not, gets the form again with one message (no oracle).
            let (error, message) = match refused {
                Outcome::Locked(Lock::Temporary { .. }) => ("user_temporarily_disabled", "login.locked"),
                Outcome::Locked(Lock::Permanent) => ("user_disabled", "login.locked"),
                _ => ("invalid_user_credentials", "login.invalid"),
            };
            audit(&state, &realm, EventType::LoginError, event(&peer, Some(&client_id), None, Some(error)))
                .await;
            tab.session.notice = None;
            return render(&state, &realm, &mut tab, Some(message), &form.username).await;
        }
        Ok(Outcome::TooManyFromAddress) => {
            let failed = event(&peer, Some(&client_id), None, Some("too_many_failures_from_address"));
            audit(&state, &realm, EventType::LoginError, failed).await;
            return web::message(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                tab.locale,
                &realm.display_name,
                "lockout.too_many_attempts",
            );
        }
        Ok(Outcome::Disabled) => {
            audit(
                &state,
                &realm,
                EventType::LoginError,
                event(&peer, Some(&client_id), None, Some("user_disabled")),
            )
            .await;
            return web::message(
                &state,
                StatusCode::FORBIDDEN,
                tab.locale,
                &realm.display_name,
                "login.disabled",
            );
        }
        Err(e) => return web::server_error(&state, tab.locale, &e),
    };
    let jar = jar.add(device_cookie(&state, &realm, device));
    tab.session.notice = None;
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    if mfa::demands_two_factors(&tab.session.request.acr_values)
        && let Err(e) = mfa::adopt_a_method(&ctx, &mut user).await
    {
        return web::server_error(&state, tab.locale, &e);
    }
    let mut member =
        Authenticated::new(user.id.clone(), now, form.remember_me, vec![mfa::amr::PASSWORD.to_owned()]);
    member.factor = match mfa::due(&ctx, &user, &member.amr).await {
        Ok(factor) => factor,
        Err(e) => return web::server_error(&state, tab.locale, &e),
    };
    let factor_due = member.factor.is_some();
    tab.session.member = Some(member);
    if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
        return web::server_error(&state, tab.locale, &e);
    }
    // The second factor comes first; with steps owed, the browser moves to their page (so a
    // reload never re-posts the password); with none, the login finishes here.
    if factor_due {
        return (jar, see_other(&tab.url(&realm, "authenticate"))).into_response();
    }
    match crate::flows::required_actions::next_with(&ctx, &user, tab.session.requested()).await {
        Ok(None) if tab.session.deletion_pending().is_none() => {
            required::finish(&state, &realm, tab, *user, &peer, &headers, jar).await
        }
        Ok(_) => (jar, see_other(&tab.url(&realm, "required-action"))).into_response(),
        Err(e) => web::server_error(&state, tab.locale, &e),
    }
}

/// The trusted-device cookie a member's browser gets after their password was right.
fn device_cookie(state: &AppState, realm: &Realm, value: String) -> Cookie<'static> {
    Cookie::build((trusted_device::COOKIE, value))
        .path(web::cookie_path(realm))
        .http_only(true)
        .secure(web::secure(state))
        .same_site(SameSite::Lax)
        .max_age(trusted_device::LIFETIME)
        .build()
}

/// A browser that already has an SSO session, on a request the session answers: straight to
/// the client, unless the member owes a step, which then runs in a new tab first.
pub async fn resume_session(
    state: &AppState,
    realm: &Realm,
    jar: CookieJar,
    request: AuthRequest,
    session: &UserSession,
    peer: &SocketAddr,
    headers: &HeaderMap,
) -> Response {
    let accept = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let locale = crate::i18n::for_request(request.ui_locales.as_deref(), accept);
    use crate::store::UserStore;
    let user = match state.db.user_by_id(&realm.id, &session.user_id).await {
        Ok(Some(user)) if user.enabled => user,
        Ok(_) => return show_login(state, realm, jar, request, locale).await,
        Err(e) => return web::server_error(state, locale, &e),
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let owes = match crate::flows::required_actions::next_with(&ctx, &user, request.kc_action).await {
        Ok(next) => next.is_some() || request.delete_credential.is_some(),
        Err(e) => return web::server_error(state, locale, &e),
    };
    if !owes {
        let status = request.asks_for_change().then_some("success");
        return super::issue_code(state, realm, &request, session, status).await;
    }
    if request.prompt_none {
        return web::error_to_client(&request, &issuer, "interaction_required");
    }
    let browser = super::browser_id(&jar);
    let mut member =
        Authenticated::new(user.id.clone(), session.auth_time, session.remember_me, session.amr.clone());
    member.session_id = Some(session.id.clone());
    let tab_session = AuthSession {
        request,
        csrf: random::token(),
        browser: browser.clone(),
        locale: None,
        member: Some(member),
        notice: None,
        passkey: None,
    };
    let tab = super::Tab { id: random::token_with_bytes(16), session: tab_session, locale };
    if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
        return web::server_error(state, locale, &e);
    }
    let response = required::proceed(state, realm, tab, user, peer, headers, jar.clone()).await;
    (jar.add(super::browser_cookie(state, realm, browser)), response).into_response()
}
