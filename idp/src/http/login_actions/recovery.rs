//! 「パスワードを忘れた方はこちら」 and 「ユーザIDを忘れた方はこちら」 (3-3, 3-4), reached from a
//! tab's login page and back to it with the manual's message. The answer never depends on
//! whether the account exists: the lookup and the mail happen after the page is sent.

use super::{TabChrome, TabQuery, audit, by_field, event, open_tab, see_other};
use crate::app::AppState;
use crate::flows::auth_session::{self, Notice};
use crate::flows::recovery::{self, ResetRequest};
use crate::flows::required_actions::FieldError;
use crate::http::web;
use crate::store::{EventType, Realm};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Serialize;
use std::net::SocketAddr;

#[derive(Serialize)]
struct RecoveryPage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    errors: std::collections::BTreeMap<&'static str, Vec<&'a FieldError>>,
    username: &'a str,
    birthdate: &'a str,
    email: &'a str,
    login_url: &'a str,
}

#[derive(Default)]
struct Typed<'a> {
    username: &'a str,
    birthdate: &'a str,
    email: &'a str,
}

fn render(
    state: &AppState,
    realm: &Realm,
    tab: &super::Tab,
    page: &str,
    errors: &[FieldError],
    typed: Typed<'_>,
) -> Response {
    let action = tab.url(realm, page);
    let switch_url = tab.switch_url(realm, page);
    let login_url = tab.url(realm, "authenticate");
    let context = RecoveryPage {
        chrome: TabChrome { action: &action, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        errors: by_field(errors),
        username: typed.username,
        birthdate: typed.birthdate,
        email: typed.email,
        login_url: &login_url,
    };
    let template = if page == "reset-credentials" { "forgot_password.html" } else { "forgot_username.html" };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, tab.locale, &realm.display_name, template, context)
}

async fn open(
    state: &AppState,
    realm_name: &str,
    query: &TabQuery,
    headers: &HeaderMap,
    jar: &CookieJar,
    csrf: Option<&str>,
) -> Result<(Realm, super::Tab), Response> {
    let realm = web::realm(state, realm_name, web::browser_locale(headers)).await?;
    let tab = open_tab(state, &realm, query, headers, jar, csrf).await?;
    Ok((realm, tab))
}

pub async fn reset_form(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<TabQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    match open(&state, &realm_name, &query, &headers, &jar, None).await {
        Ok((realm, tab)) => render(&state, &realm, &tab, "reset-credentials", &[], Typed::default()),
        Err(page) => page,
    }
}

pub async fn username_form(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<TabQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    match open(&state, &realm_name, &query, &headers, &jar, None).await {
        Ok((realm, tab)) => render(&state, &realm, &tab, "forgot-username", &[], Typed::default()),
        Err(page) => page,
    }
}

fn too_many(state: &AppState, realm: &Realm, tab: &super::Tab) -> Response {
    web::message(state, StatusCode::TOO_MANY_REQUESTS, tab.locale, &realm.display_name, "recovery.too_many")
}

/// Back to the tab's login page, which shows `notice`.
async fn back_to_login(state: &AppState, realm: &Realm, mut tab: super::Tab, notice: Notice) -> Response {
    tab.session.notice = Some(notice);
    if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
        return web::server_error(state, tab.locale, &e);
    }
    see_other(&tab.url(realm, "authenticate"))
}

pub async fn request_reset(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<TabQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = web::FormFields::parse(&body);
    let (realm, tab) =
        match open(&state, &realm_name, &query, &headers, &jar, Some(form.get("csrf_token"))).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let username = form.get("username").trim().to_owned();
    if username.is_empty() {
        let errors = [FieldError::new("username", "reset.username_empty")];
        return render(&state, &realm, &tab, "reset-credentials", &errors, Typed::default());
    }
    let issuer = state.config.issuer(realm.name.as_str());
    match recovery::address_allowed(&state.ctx(&realm, &issuer), "reset", peer.ip()).await {
        Ok(true) => {}
        Ok(false) => return too_many(&state, &realm, &tab),
        Err(e) => return web::server_error(&state, tab.locale, &e),
    }
    let (task_state, task_realm, locale) = (state.clone(), realm.clone(), tab.locale);
    let client_id = tab.session.request.client_id.clone();
    tokio::spawn(async move {
        let issuer = task_state.config.issuer(task_realm.name.as_str());
        let ctx = task_state.ctx(&task_realm, &issuer);
        match recovery::request_reset(&ctx, &username, locale).await {
            Ok(ResetRequest::Sent { user_id }) => {
                task_state.mail_outbox.notify_one();
                let sent = event(&peer, Some(&client_id), Some(&user_id), None);
                audit(&task_state, &task_realm, EventType::SendResetPassword, sent).await;
            }
            Ok(ResetRequest::NotSent { user_id, reason }) => {
                let failed = event(&peer, Some(&client_id), user_id.as_deref(), Some(reason));
                audit(&task_state, &task_realm, EventType::SendResetPasswordError, failed).await;
            }
            Err(e) => tracing::error!(error = %e, "password reset mail not queued"),
        }
    });
    back_to_login(&state, &realm, tab, Notice { key: "reset.sent".to_owned(), email: None }).await
}

pub async fn request_username(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<TabQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = web::FormFields::parse(&body);
    let (realm, tab) =
        match open(&state, &realm_name, &query, &headers, &jar, Some(form.get("csrf_token"))).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let (birthdate, email) = match recovery::check_username_request(form.get("birthdate"), form.get("email"))
    {
        Ok(valid) => valid,
        Err(errors) => {
            let typed =
                Typed { birthdate: form.get("birthdate"), email: form.get("email"), ..Typed::default() };
            return render(&state, &realm, &tab, "forgot-username", &errors, typed);
        }
    };
    let issuer = state.config.issuer(realm.name.as_str());
    match recovery::address_allowed(&state.ctx(&realm, &issuer), "username", peer.ip()).await {
        Ok(true) => {}
        Ok(false) => return too_many(&state, &realm, &tab),
        Err(e) => return web::server_error(&state, tab.locale, &e),
    }
    let (task_state, task_realm, locale, task_email) =
        (state.clone(), realm.clone(), tab.locale, email.clone());
    let client_id = tab.session.request.client_id.clone();
    tokio::spawn(async move {
        let issuer = task_state.config.issuer(task_realm.name.as_str());
        let ctx = task_state.ctx(&task_realm, &issuer);
        match recovery::request_username(&ctx, birthdate, &task_email, locale).await {
            Ok(Some(user_id)) => {
                task_state.mail_outbox.notify_one();
                let sent = event(&peer, Some(&client_id), Some(&user_id), None);
                audit(&task_state, &task_realm, EventType::SendUsernameReminder, sent).await;
            }
            Ok(None) => {
                let failed = event(&peer, Some(&client_id), None, Some("user_not_found"));
                audit(&task_state, &task_realm, EventType::SendUsernameReminderError, failed).await;
            }
            Err(e) => tracing::error!(error = %e, "user ID reminder not queued"),
        }
    });
    let notice = Notice { key: "username.sent".to_owned(), email: Some(email.to_string()) };
    back_to_login(&state, &realm, tab, notice).await
}
