//! ログイン方法変更 (3-2, 3-6, 3-7): 基本認証 — the password with its 作成日 and 「更新」;
//! 二要素認証 — 認証アプリ and 生体認証, each device with its 作成日 and 「削除」, and 「設定」 to
//! add one; OTPメール認証 with its address, which cannot be deleted.

use super::profile::action_url;
use super::{Chrome, Member, Page, PageQuery, chrome, when};
use crate::app::AppState;
use crate::domain::AuthMethod;
use crate::flows::account;
use crate::flows::authorize::DELETE_CREDENTIAL;
use crate::flows::mfa;
use crate::http::web;
use crate::store::Credential;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

#[derive(Serialize)]
struct Device {
    label: String,
    created: String,
    delete_url: String,
}

#[derive(Serialize)]
struct Section {
    /// `otp` or `webauthn`: the heading and the empty text.
    kind: &'static str,
    devices: Vec<Device>,
    /// 「設定」, where the member may add one here.
    add_url: Option<String>,
}

#[derive(Serialize)]
struct SigningInPage {
    #[serde(flatten)]
    chrome: Chrome,
    password_created: Option<String>,
    password_update_url: String,
    sections: Vec<Section>,
    /// OTPメール認証: offered by the realm; the address its codes go to.
    email_otp: bool,
    email: Option<String>,
    email_verified: bool,
    chosen_method: Option<&'static str>,
}

pub async fn show(State(state): State<AppState>, member: Member, Query(query): Query<PageQuery>) -> Response {
    let chrome = match chrome(&state, &member, Page::SigningIn, &query).await {
        Ok(chrome) => chrome,
        Err(response) => return response,
    };
    let issuer = state.config.issuer(member.realm.name.as_str());
    let ctx = state.ctx(&member.realm, &issuer);
    let listed = match account::signing_in(&ctx, &member.user).await {
        Ok(listed) => listed,
        Err(e) => return web::server_error(&state, member.locale, &e),
    };
    let offered = mfa::offered(&ctx);
    let back = format!("{}{}", Page::SigningIn.path(&member.realm), query.carried());
    let device = |c: &Credential| Device {
        label: c.user_label.clone().unwrap_or_default(),
        created: when(c.created_at, member.locale),
        delete_url: action_url(&member, &format!("{DELETE_CREDENTIAL}{}", c.id), &back),
    };
    let mut sections = vec![Section {
        kind: "otp",
        devices: listed.apps.iter().map(device).collect(),
        add_url: offered.contains(&AuthMethod::Otp).then(|| action_url(&member, "CONFIGURE_TOTP", &back)),
    }];
    // Passkeys are listed wherever the member has some; added only where they work.
    if offered.contains(&AuthMethod::Webauthn) || !listed.passkeys.is_empty() {
        sections.push(Section {
            kind: "webauthn",
            devices: listed.passkeys.iter().map(device).collect(),
            add_url: offered
                .contains(&AuthMethod::Webauthn)
                .then(|| action_url(&member, "webauthn-register", &back)),
        });
    }
    let page = SigningInPage {
        chrome,
        password_created: listed.password.as_ref().map(|p| when(p.created_at, member.locale)),
        password_update_url: action_url(&member, "UPDATE_PASSWORD", &back),
        sections,
        email_otp: member.realm.settings.auth_methods.contains(&AuthMethod::EmailOtp),
        email: member.user.email.as_ref().map(ToString::to_string),
        email_verified: member.user.email_verified,
        chosen_method: member.user.auth_method.map(AuthMethod::as_str),
    };
    web::page(
        &state,
        StatusCode::OK,
        member.locale,
        &member.realm.display_name,
        "account_signing_in.html",
        page,
    )
}
