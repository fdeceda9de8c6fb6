//! The account console's pages under `/realms/{realm}/account` (3-1 … 3-7), server-rendered:
//! プロフィール変更 (`account`), ログイン方法変更 (`account/signing-in`) and the active sessions
//! (`account/device-activity`). Handlers translate; `flows::account` decides.
//!
//! A browser without an SSO session is sent through the realm's authorization endpoint as the
//! `account-console` client and comes back to `account/login-redirect`. Forms carry a CSRF
//! token bound to the SSO session. Sensitive changes leave for the login pages as Keycloak's
//! application-initiated actions (`account/action?kc_action=…`), which re-authenticate.

mod device_activity;
mod login;
mod profile;
mod signing_in;

use crate::app::AppState;
use crate::flows::account;
use crate::http::{login_actions, paths, web};
use crate::i18n::Locale;
use crate::store::{Realm, User, UserSession, UserStore};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::{format_description, offset};

/// Binds a login the account pages started to the browser that started it (its `state`).
pub const LOGIN_COOKIE: &str = "KENPO_ACCOUNT_LOGIN";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::ACCOUNT, get(profile::show).post(profile::save))
        .route(paths::ACCOUNT_SIGNING_IN, get(signing_in::show))
        .route(paths::ACCOUNT_DEVICE_ACTIVITY, get(device_activity::show).post(device_activity::sign_out))
        .route(paths::ACCOUNT_LOGIN_REDIRECT, get(login::come_back))
        .route(paths::ACCOUNT_ACTION, get(login::change))
}

/// A signed-in member on an account page.
#[derive(Debug)]
pub struct Member {
    pub realm: Realm,
    pub session: UserSession,
    pub user: User,
    pub locale: Locale,
}

/// What every account page's query may carry: Keycloak's `referrer` and `referrer_uri` (for
/// 「ポータルに戻る」) and a notice after a change.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    pub referrer: Option<String>,
    #[serde(default)]
    pub referrer_uri: Option<String>,
    #[serde(default)]
    pub notice: Option<String>,
}

impl PageQuery {
    /// The query the pages' own links carry on (the portal link survives navigation).
    pub fn carried(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(r) = &self.referrer {
            query.append_pair("referrer", r);
        }
        if let Some(r) = &self.referrer_uri {
            query.append_pair("referrer_uri", r);
        }
        let query = query.finish();
        if query.is_empty() { query } else { format!("?{query}") }
    }
}

/// The page's language: the member's own (プロフィール変更's 言語), else the browser's.
fn locale_of(user: &User, headers: &HeaderMap) -> Locale {
    user.locale.as_deref().and_then(Locale::parse).unwrap_or_else(|| web::browser_locale(headers))
}

/// An account page's member: the one the SSO cookie stands for, in the realm of the path. A
/// browser without a session is sent to log in and brought back to the page it asked for.
impl axum::extract::FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::Path;
        let browser = web::browser_locale(&parts.headers);
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|e| web::server_error(state, browser, &e))?;
        let realm = params.get("realm").map(String::as_str).unwrap_or_default();
        let here = parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default();
        let jar = CookieJar::from_headers(&parts.headers);
        signed_in(state, realm, &parts.headers, &jar, &here).await
    }
}

/// The member the SSO cookie stands for, or the response that sends the browser to log in
/// (and back to `return_to` afterwards).
pub async fn signed_in(
    state: &AppState,
    realm_name: &str,
    headers: &HeaderMap,
    jar: &CookieJar,
    return_to: &str,
) -> Result<Member, Response> {
    let browser = web::browser_locale(headers);
    let realm = web::realm(state, realm_name, browser).await?;
    let session =
        web::current_session(state, &realm, jar).await.map_err(|e| web::server_error(state, browser, &e))?;
    if let Some(session) = session {
        match state.db.user_by_id(&realm.id, &session.user_id).await {
            Ok(Some(user)) if user.enabled => {
                let locale = locale_of(&user, headers);
                return Ok(Member { realm, session, user, locale });
            }
            Ok(_) => {}
            Err(e) => return Err(web::server_error(state, browser, &e)),
        }
    }
    Err(to_login(state, &realm, return_to, None, browser).await)
}

/// Sends the browser through the realm's authorization endpoint as the account console,
/// optionally asking for a change (`kc_action`).
pub async fn to_login(
    state: &AppState,
    realm: &Realm,
    return_to: &str,
    kc_action: Option<&str>,
    locale: Locale,
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    match account::start_login(&ctx, return_to, kc_action, Some(locale)).await {
        Ok(start) => {
            let cookie = Cookie::build((LOGIN_COOKIE, start.state))
                .path(format!("/realms/{}/account", realm.name))
                .http_only(true)
                .secure(web::secure(state))
                .same_site(SameSite::Lax)
                .build();
            (CookieJar::new().add(cookie), login_actions::see_other(&start.authorize_url)).into_response()
        }
        Err(e) => web::server_error(state, locale, &e),
    }
}

/// One entry of the pages' navigation.
#[derive(Debug, Serialize)]
pub struct NavItem {
    pub href: String,
    pub label_key: &'static str,
    pub current: bool,
}

/// What every account page shows around its content.
#[derive(Debug, Serialize)]
pub struct Chrome {
    pub csrf_token: String,
    pub nav: Vec<NavItem>,
    pub portal_url: Option<String>,
    /// A catalogue key: what the last change came to.
    pub notice: Option<&'static str>,
    pub member_name: String,
}

/// Which page is showing (for the navigation's `aria-current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Profile,
    SigningIn,
    DeviceActivity,
}

impl Page {
    pub fn path(self, realm: &Realm) -> String {
        let suffix = match self {
            Self::Profile => "",
            Self::SigningIn => "/signing-in",
            Self::DeviceActivity => "/device-activity",
        };
        format!("/realms/{}/account{suffix}", realm.name)
    }
}

/// The chrome of `page` for `member`. An unvalidated `referrer_uri` gives no portal link.
pub async fn chrome(
    state: &AppState,
    member: &Member,
    page: Page,
    query: &PageQuery,
) -> Result<Chrome, Response> {
    let issuer = state.config.issuer(member.realm.name.as_str());
    let ctx = state.ctx(&member.realm, &issuer);
    let portal_url = account::portal_url(&ctx, query.referrer.as_deref(), query.referrer_uri.as_deref())
        .await
        .map_err(|e| web::server_error(state, member.locale, &e))?;
    let carried = query.carried();
    let nav = [
        (Page::Profile, "account.nav_profile"),
        (Page::SigningIn, "account.nav_signing_in"),
        (Page::DeviceActivity, "account.nav_device_activity"),
    ]
    .into_iter()
    .map(|(p, label_key)| NavItem {
        href: format!("{}{carried}", p.path(&member.realm)),
        label_key,
        current: p == page,
    })
    .collect();
    Ok(Chrome {
        csrf_token: account::csrf_token(&state.master_key, &member.session),
        nav,
        portal_url,
        notice: query.notice.as_deref().and_then(notice_key),
        member_name: member.user.display_name.clone(),
    })
}

/// The notices a page may show (`?notice=`), by catalogue key; anything else shows nothing.
fn notice_key(raw: &str) -> Option<&'static str> {
    Some(match raw {
        "saved" => "account.notice.saved",
        "UPDATE_PASSWORD" => "account.notice.password",
        "UPDATE_EMAIL" => "account.notice.email",
        "CONFIGURE_TOTP" => "account.notice.totp",
        "webauthn-register" => "account.notice.passkey",
        "delete_credential" => "account.notice.deleted",
        "signed_out" => "account.notice.signed_out",
        _ => return None,
    })
}

/// A refused form: its CSRF token is not the session's.
pub fn forbidden(state: &AppState, member: &Member) -> Response {
    web::message(
        state,
        StatusCode::FORBIDDEN,
        member.locale,
        &member.realm.display_name,
        "account.form_expired",
    )
}

/// A date and time as the manual shows 作成日 (Japan time): 「2025年3月17日 13:38」.
pub fn when(at: OffsetDateTime, locale: Locale) -> String {
    let jst = at.to_offset(offset!(+9));
    let formatted = match locale {
        Locale::Ja => jst.format(format_description!(
            "[year]年[month padding:none]月[day padding:none]日 [hour]:[minute]"
        )),
        Locale::En => jst.format(format_description!("[year]-[month]-[day] [hour]:[minute] JST")),
    };
    formatted.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_read_as_the_manual_shows_them_in_japan_time() {
        let at = datetime!(2025-03-17 04:38 UTC);
        assert_eq!(when(at, Locale::Ja), "2025年3月17日 13:38");
        assert_eq!(when(at, Locale::En), "2025-03-17 13:38 JST");
    }
}
