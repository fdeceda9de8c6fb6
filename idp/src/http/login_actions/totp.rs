//! The authenticator-app pages of a login: 「ワンタイムパスワードの設定」 (the CONFIGURE_TOTP
//! required action, 2-4-1 … 2-4-4) and the code after the password (3-6), Keycloak's field
//! names (`totp`, `userLabel`, `logout-sessions`; `otp`, `selectedCredentialId`).

use super::{Tab, TabChrome, audit, by_field, event, see_other};
use crate::app::AppState;
use crate::domain::RequiredAction;
use crate::domain::totp::{OtpAlgorithm, TotpSeed};
use crate::flows::auth_session;
use crate::flows::lockout::IdentityCheck;
use crate::flows::mfa::{self, totp};
use crate::flows::required_actions::{self as steps, FieldError, TotpAnswer};
use crate::http::web;
use crate::store::{EventType, Realm, User};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde::Serialize;
use std::net::SocketAddr;

#[derive(Serialize)]
struct SetupPage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    errors: std::collections::BTreeMap<&'static str, Vec<&'a FieldError>>,
    /// The device name typed before a refusal.
    value: &'a str,
    sign_out_elsewhere: bool,
    qr_data_url: String,
    qr_file_name: String,
    key: String,
    algorithm: &'static str,
    digits: u8,
    period: u32,
}

/// The seed this tab shows: the one already shown (so a reload or a refused code keeps the
/// same QR code the member may have scanned), or a new one, kept sealed in the tab.
async fn tab_seed(state: &AppState, realm: &Realm, tab: &mut Tab, user: &User) -> Result<TotpSeed, Response> {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let shown = tab.session.member.as_ref().and_then(|m| m.totp_seed.clone());
    if let Some(sealed) = shown
        && let Ok(seed) = totp::open(&ctx, user, &sealed)
    {
        return Ok(seed);
    }
    let seed = TotpSeed::new(shared_crypto::random::bytes());
    if let Some(member) = tab.session.member.as_mut() {
        member.totp_seed = Some(totp::seal(&ctx, user, &seed));
    }
    auth_session::save(&state.ephemeral, &tab.id, &tab.session)
        .await
        .map_err(|e| web::server_error(state, tab.locale, &e))?;
    Ok(seed)
}

/// 「ワンタイムパスワードの設定」: the QR code (also saved as a PNG file, for the browser
/// extensions that scan a file), the key for 「スキャンできませんか?」, and the form.
pub async fn render_setup(
    state: &AppState,
    realm: &Realm,
    tab: &mut Tab,
    user: &User,
    errors: &[FieldError],
    form: Option<&web::FormFields>,
) -> Response {
    let seed = match tab_seed(state, realm, tab, user).await {
        Ok(seed) => seed,
        Err(page) => return page,
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let png = totp::enrolment(&ctx, user, &seed)
        .and_then(|e| e.qr_png().map_err(|e| crate::flows::FlowError::invalid("totp qr", e)));
    let png = match png {
        Ok(png) => png,
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    let policy = &realm.settings.otp_policy;
    let action =
        format!("{}&execution={}", tab.url(realm, "required-action"), RequiredAction::ConfigureTotp.alias());
    let switch_url = tab.switch_url(realm, "required-action");
    let page = SetupPage {
        chrome: TabChrome { action: &action, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        errors: by_field(errors),
        value: form.map_or("", |f| f.get("userLabel")),
        sign_out_elsewhere: form.is_some_and(|f| !f.get("logout-sessions").is_empty()),
        qr_data_url: format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&png)
        ),
        qr_file_name: format!("{}-{}.png", realm.name, user.username),
        key: seed.for_reading(),
        algorithm: match policy.algorithm {
            OtpAlgorithm::Sha1 => "SHA1",
            OtpAlgorithm::Sha256 => "SHA256",
            OtpAlgorithm::Sha512 => "SHA512",
        },
        digits: policy.digits,
        period: policy.period,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, tab.locale, &realm.display_name, "totp_setup.html", page)
}

/// The setup form: a code from the app and a device name register the app; the login then
/// counts it as proven (`otp`).
pub async fn submit_setup(
    state: &AppState,
    realm: &Realm,
    mut tab: Tab,
    mut user: User,
    form: &web::FormFields,
    peer: &SocketAddr,
) -> Response {
    let seed = match tab_seed(state, realm, &mut tab, &user).await {
        Ok(seed) => seed,
        Err(page) => return page,
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let answer = TotpAnswer {
        code: form.get("totp"),
        label: form.get("userLabel"),
        sign_out_elsewhere: !form.get("logout-sessions").is_empty(),
    };
    let current_session = tab.session.member.as_ref().and_then(|m| m.session_id.clone());
    let client_id = tab.session.request.client_id.clone();
    match steps::configure_totp(&ctx, &mut user, &seed, answer, current_session.as_deref()).await {
        Ok(totp::Setup::Registered(credential)) => {
            if answer.sign_out_elsewhere {
                state.backchannel.notify_one();
            }
            if let Some(member) = tab.session.member.as_mut() {
                member.totp_seed = None;
                mfa::record(&mut member.amr, &[mfa::amr::OTP]);
            }
            if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
                return web::server_error(state, tab.locale, &e);
            }
            if let Err(page) = super::requested_done(state, &mut tab, RequiredAction::ConfigureTotp).await {
                return page;
            }
            let mut done = event(peer, Some(&client_id), Some(&user.id), None);
            done.details.insert("credential_id".to_owned(), credential.id.clone());
            done.details.insert("custom_required_action".to_owned(), "CONFIGURE_TOTP".to_owned());
            audit(state, realm, EventType::UpdateTotp, done).await;
            see_other(&tab.url(realm, "required-action"))
        }
        Ok(totp::Setup::Refused(errors)) => {
            render_setup(state, realm, &mut tab, &user, &errors, Some(form)).await
        }
        Err(e) => web::server_error(state, tab.locale, &e),
    }
}

#[derive(Serialize)]
struct Device<'a> {
    id: &'a str,
    label: &'a str,
}

#[derive(Serialize)]
struct LoginPage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    errors: std::collections::BTreeMap<&'static str, Vec<&'a FieldError>>,
    devices: Vec<Device<'a>>,
    selected: &'a str,
}

/// The code page after the password, with the member's devices by name when there are several.
pub async fn show_code(
    state: &AppState,
    realm: &Realm,
    tab: &Tab,
    user: &User,
    errors: &[FieldError],
    selected: Option<&str>,
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let devices = match totp::devices(&ctx, user).await {
        Ok(devices) => devices,
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    let selected = selected
        .filter(|id| devices.iter().any(|d| d.id == *id))
        .or_else(|| devices.first().map(|d| d.id.as_str()))
        .unwrap_or_default();
    let action = tab.url(realm, "authenticate");
    let switch_url = tab.switch_url(realm, "authenticate");
    let page = LoginPage {
        chrome: TabChrome { action: &action, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        errors: by_field(errors),
        devices: devices
            .iter()
            .map(|d| Device { id: &d.id, label: d.user_label.as_deref().unwrap_or_default() })
            .collect(),
        selected,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, tab.locale, &realm.display_name, "totp_login.html", page)
}

/// A code from the chosen device: right, and the login goes on to what the member owes; wrong,
/// and it counts on the member's lockout record like a wrong password.
pub async fn submit_code(
    state: &AppState,
    realm: &Realm,
    tab: Tab,
    user: User,
    form: &web::FormFields,
    device_cookie: Option<&str>,
    peer: &SocketAddr,
) -> Response {
    let code = form.get("otp");
    let selected = form.get("selectedCredentialId");
    if code.trim().is_empty() {
        let errors = [FieldError::new("otp", "totp.code_empty")];
        return show_code(state, realm, &tab, &user, &errors, Some(selected)).await;
    }
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let client_id = tab.session.request.client_id.clone();
    let failure = |error: &str| event(peer, Some(&client_id), Some(&user.id), Some(error));
    match totp::check_login_code(&ctx, &user, selected, code, device_cookie, peer.ip()).await {
        Ok(IdentityCheck::Passed) => super::factor_passed(state, realm, tab, &[mfa::amr::OTP]).await,
        Ok(IdentityCheck::Failed) => {
            audit(state, realm, EventType::LoginError, failure("invalid_user_credentials")).await;
            let errors = [FieldError::new("otp", "totp.login_wrong")];
            show_code(state, realm, &tab, &user, &errors, Some(selected)).await
        }
        Ok(IdentityCheck::Locked(lock)) => {
            super::locked_out(state, realm, &tab, lock, event(peer, Some(&client_id), Some(&user.id), None))
                .await
        }
        Err(e) => web::server_error(state, tab.locale, &e),
    }
}
