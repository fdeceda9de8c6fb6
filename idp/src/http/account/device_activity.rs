//! The member's active sessions (Keycloak's device activity): each with its device in plain
//! words, its IP address, when it started and was last used, 「この端末」 for this browser, and
//! 「サインアウト」; and signing out every other one. Signing out ends the session: its tokens
//! stop working and its clients hear it by back-channel logout.

use super::{Chrome, Page, PageQuery, chrome, forbidden, signed_in, when};
use crate::app::AppState;
use crate::flows::account;
use crate::http::login_actions::{audit, event, see_other};
use crate::http::web;
use crate::store::EventType;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Serialize;
use std::net::SocketAddr;

#[derive(Serialize)]
struct SessionRow {
    id: String,
    device: Option<String>,
    ip_address: Option<String>,
    started: String,
    last_used: String,
    current: bool,
}

#[derive(Serialize)]
struct DeviceActivityPage {
    #[serde(flatten)]
    chrome: Chrome,
    action: String,
    sessions: Vec<SessionRow>,
    others: bool,
}

pub async fn show(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<PageQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let here = uri.0.path_and_query().map(ToString::to_string).unwrap_or_default();
    let member = match signed_in(&state, &realm_name, &headers, &jar, &here).await {
        Ok(member) => member,
        Err(response) => return response,
    };
    let chrome = match chrome(&state, &member, Page::DeviceActivity, &query).await {
        Ok(chrome) => chrome,
        Err(response) => return response,
    };
    let issuer = state.config.issuer(member.realm.name.as_str());
    let ctx = state.ctx(&member.realm, &issuer);
    let sessions = match account::active_sessions(&ctx, &member.user, &member.session.id).await {
        Ok(sessions) => sessions,
        Err(e) => return web::server_error(&state, member.locale, &e),
    };
    let rows: Vec<SessionRow> = sessions
        .into_iter()
        .map(|s| SessionRow {
            device: s.device,
            ip_address: s.session.ip_address.clone(),
            started: when(s.session.started_at, member.locale),
            last_used: when(s.session.last_seen_at, member.locale),
            current: s.current,
            id: s.session.id,
        })
        .collect();
    let page = DeviceActivityPage {
        chrome,
        action: format!("{}{}", Page::DeviceActivity.path(&member.realm), query.carried()),
        others: rows.iter().any(|r| !r.current),
        sessions: rows,
    };
    let template = "account_device_activity.html";
    web::page(&state, StatusCode::OK, member.locale, &member.realm.display_name, template, page)
}

/// 「サインアウト」 of one session (`session`), or of every other one (`others`).
#[expect(clippy::too_many_arguments, reason = "axum extractors, one per part of the request")]
pub async fn sign_out(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<PageQuery>,
    uri: OriginalUri,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = web::FormFields::parse(&body);
    let here = uri.0.path_and_query().map(ToString::to_string).unwrap_or_default();
    let member = match signed_in(&state, &realm_name, &headers, &jar, &here).await {
        Ok(member) => member,
        Err(response) => return response,
    };
    if !account::csrf_ok(&state.master_key, &member.session, form.get("csrf_token")) {
        return forbidden(&state, &member);
    }
    let issuer = state.config.issuer(member.realm.name.as_str());
    let ctx = state.ctx(&member.realm, &issuer);
    let one = form.get("session");
    let outcome = if form.get("others").is_empty() {
        account::sign_out(&ctx, &member.user, one).await.map(usize::from)
    } else {
        account::sign_out_others(&ctx, &member.user, &member.session.id).await
    };
    match outcome {
        Ok(ended) => {
            if ended > 0 {
                state.backchannel.notify_one();
                // Keycloak records the account console's sign-out as LOGOUT.
                let mut logout = event(&peer, Some(account::CONSOLE_CLIENT_ID), Some(&member.user.id), None);
                logout.session_id = Some(member.session.id.clone());
                let which =
                    if form.get("others").is_empty() { one.to_owned() } else { format!("{ended} other") };
                logout.details.insert("signed_out".to_owned(), which);
                audit(&state, &member.realm, EventType::Logout, logout).await;
            }
            let carried = query.carried();
            let separator = if carried.is_empty() { '?' } else { '&' };
            let page = Page::DeviceActivity.path(&member.realm);
            see_other(&format!("{page}{carried}{separator}notice=signed_out"))
        }
        Err(e) => web::server_error(&state, member.locale, &e),
    }
}
