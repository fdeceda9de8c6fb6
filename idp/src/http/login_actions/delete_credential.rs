//! Keycloak 24's `kc_action=delete_credential:{id}` (3-7): after the re-authentication, a page
//! naming the device (its name and kind) with 「削除する」 and 「戻る」. Only the member's own
//! app or passkey is deleted, never the password; 「戻る」 deletes nothing.

use super::{Tab, TabChrome, audit, event, see_other};
use crate::app::AppState;
use crate::flows::account;
use crate::flows::auth_session;
use crate::http::web;
use crate::store::{CredentialType, EventType, Realm, User};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Serialize;
use std::net::SocketAddr;

/// The form's `?execution=`.
pub const EXECUTION: &str = "delete_credential";

#[derive(Serialize)]
struct ConfirmPage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    label: &'a str,
    /// `otp` or `webauthn`.
    kind: &'static str,
    created: String,
}

fn kind_of(kind: CredentialType) -> &'static str {
    if kind == CredentialType::Otp { "otp" } else { "webauthn" }
}

fn unknown(state: &AppState, realm: &Realm, tab: &Tab) -> Response {
    web::message(
        state,
        StatusCode::BAD_REQUEST,
        tab.locale,
        &realm.display_name,
        "account.credential_unknown",
    )
}

/// スマートデバイス削除確認: the device the client asked to delete, if it is the member's.
pub async fn confirm_page(state: &AppState, realm: &Realm, tab: &Tab, user: &User) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let id = tab.session.deletion_pending().unwrap_or_default();
    let credential = match account::deletable(&ctx, user, id).await {
        Ok(Some(credential)) => credential,
        Ok(None) => return unknown(state, realm, tab),
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    let action = format!("{}&execution={EXECUTION}", tab.url(realm, "required-action"));
    let switch_url = tab.switch_url(realm, "required-action");
    let page = ConfirmPage {
        chrome: TabChrome { action: &action, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        label: credential.user_label.as_deref().unwrap_or_default(),
        kind: kind_of(credential.kind),
        created: crate::http::account::when(credential.created_at, tab.locale),
    };
    web::page(state, StatusCode::OK, tab.locale, &realm.display_name, "account_delete_credential.html", page)
}

/// 「削除する」 or 「戻る」; either way the login then goes back to the client.
#[expect(clippy::too_many_arguments, reason = "the login's finish needs the request's parts")]
pub async fn answer(
    state: &AppState,
    realm: &Realm,
    mut tab: Tab,
    user: User,
    form: &web::FormFields,
    peer: &SocketAddr,
    headers: &HeaderMap,
    jar: CookieJar,
) -> Response {
    let Some(id) = tab.session.deletion_pending().map(str::to_owned) else {
        return see_other(&tab.url(realm, "required-action"));
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    // Steps the member owes come first; a form posted past them just shows the next one.
    match crate::flows::required_actions::next_with(&ctx, &user, tab.session.requested()).await {
        Ok(None) => {}
        Ok(Some(_)) => return see_other(&tab.url(realm, "required-action")),
        Err(e) => return web::server_error(state, tab.locale, &e),
    }
    let cancelled = form.get("cancel-aia") == "true";
    if !cancelled {
        let client_id = tab.session.request.client_id.clone();
        match account::delete_credential(&ctx, &user, &id).await {
            Ok(Some(credential)) => {
                let mut removed = event(peer, Some(&client_id), Some(&user.id), None);
                removed.details.insert("credential_type".to_owned(), credential.kind.as_str().to_owned());
                removed.details.insert("credential_id".to_owned(), credential.id.clone());
                audit(state, realm, EventType::RemoveCredential, removed).await;
            }
            Ok(None) => return unknown(state, realm, &tab),
            Err(e) => return web::server_error(state, tab.locale, &e),
        }
    }
    if let Some(member) = tab.session.member.as_mut() {
        member.requested_done = true;
        member.requested_cancelled = cancelled;
    }
    if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
        return web::server_error(state, tab.locale, &e);
    }
    // Straight back: a method left without a device is set up at the next login (3-8).
    super::required::finish(state, realm, tab, user, peer, headers, jar).await
}
