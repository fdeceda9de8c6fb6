//! The member's active sessions (Keycloak's device activity): each with its device in plain
//! words, its IP address, when it started and was last used, 「この端末」 for this browser, and
//! 「サインアウト」; and signing out every other one. Signing out ends the session: its tokens
//! stop working and its clients hear it by back-channel logout.

use super::{Chrome, Member, Page, PageQuery, chrome, forbidden, when};
use crate::app::AppState;
use crate::flows::account;
use crate::http::login_actions::{audit, event, see_other};
use crate::http::web;
use crate::store::EventType;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
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

pub async fn show(State(state): State<AppState>, member: Member, Query(query): Query<PageQuery>) -> Response {
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
pub async fn sign_out(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<PageQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let form = web::FormFields::parse(&body);
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
