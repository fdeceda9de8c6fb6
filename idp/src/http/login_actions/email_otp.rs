//! The mailed code of a login (OTPメール認証, 2-4-5): sent on arrival, entered on the page,
//! sent again by 「再送信」 (at most once a minute).

use super::{Tab, TabChrome, audit, by_field, event};
use crate::app::AppState;
use crate::flows::auth_session;
use crate::flows::mfa::email_otp::{self, CodeCheck, SendOutcome};
use crate::flows::mfa::{self};
use crate::flows::required_actions::FieldError;
use crate::http::web;
use crate::store::{EventType, Realm, User};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use std::net::SocketAddr;

#[derive(Serialize)]
struct CodePage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    errors: std::collections::BTreeMap<&'static str, Vec<&'a FieldError>>,
    email: &'a str,
    minutes: i64,
    /// After 「再送信」: sent again, or asked too soon (catalogue key), with the seconds to wait.
    notice: Option<&'static str>,
    notice_seconds: i64,
}

/// Mails a code, at most once per minute per member.
async fn send(state: &AppState, realm: &Realm, tab: &Tab, user: &User) -> Result<SendOutcome, Response> {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let outcome = email_otp::send(&ctx, user, tab.locale, &tab.id).await;
    let outcome = outcome.map_err(|e| web::server_error(state, tab.locale, &e))?;
    if outcome == SendOutcome::Sent {
        state.mail_outbox.notify_one();
    }
    Ok(outcome)
}

fn render(
    state: &AppState,
    realm: &Realm,
    tab: &Tab,
    user: &User,
    errors: &[FieldError],
    sent: Option<SendOutcome>,
) -> Response {
    let action = tab.url(realm, "authenticate");
    let switch_url = tab.switch_url(realm, "authenticate");
    let (notice, notice_seconds) = match sent {
        Some(SendOutcome::Sent) => (Some("email_otp.resent"), 0),
        Some(SendOutcome::Cooldown { retry_after }) => (Some("email_otp.wait"), retry_after.whole_seconds()),
        _ => (None, 0),
    };
    let page = CodePage {
        chrome: TabChrome { action: &action, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        errors: by_field(errors),
        email: user.email.as_ref().map_or("", |e| e.as_str()),
        minutes: email_otp::VALID.whole_minutes(),
        notice,
        notice_seconds,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, tab.locale, &realm.display_name, "email_otp.html", page)
}

/// The code page; the first visit of a tab mails the code.
pub async fn show(state: &AppState, realm: &Realm, mut tab: Tab, user: &User) -> Response {
    let first_visit = tab.session.member.as_ref().is_some_and(|m| !m.email_code_sent);
    if first_visit {
        match send(state, realm, &tab, user).await {
            Ok(SendOutcome::NoAddress) => {
                return web::message(
                    state,
                    StatusCode::FORBIDDEN,
                    tab.locale,
                    &realm.display_name,
                    "email_otp.no_address",
                );
            }
            Ok(_) => {}
            Err(page) => return page,
        }
        if let Some(member) = tab.session.member.as_mut() {
            member.email_code_sent = true;
        }
        if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
            return web::server_error(state, tab.locale, &e);
        }
    }
    render(state, realm, &tab, user, &[], None)
}

/// 「再送信」, or a code: right, and the login goes on; wrong, expired or void, and the page
/// says which.
pub async fn submit(
    state: &AppState,
    realm: &Realm,
    tab: Tab,
    user: User,
    form: &web::FormFields,
    device_cookie: Option<&str>,
    peer: &SocketAddr,
) -> Response {
    if !form.get("resend").is_empty() {
        return match send(state, realm, &tab, &user).await {
            Ok(outcome) => render(state, realm, &tab, &user, &[], Some(outcome)),
            Err(page) => page,
        };
    }
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let checked = email_otp::check(&ctx, &user, &tab.id, form.get("otp"), device_cookie, peer.ip()).await;
    let checked = match checked {
        Ok(checked) => checked,
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    let client_id = tab.session.request.client_id.clone();
    let failure = |error: &str| event(peer, Some(&client_id), Some(&user.id), Some(error));
    match checked {
        CodeCheck::Passed => super::factor_passed(state, realm, tab, &[mfa::amr::OTP]).await,
        CodeCheck::Locked(lock) => {
            super::locked_out(state, realm, &tab, lock, event(peer, Some(&client_id), Some(&user.id), None))
                .await
        }
        refused => {
            if matches!(refused, CodeCheck::Wrong | CodeCheck::TooManyAttempts) {
                audit(state, realm, EventType::LoginError, failure("invalid_user_credentials")).await;
            }
            let message = refused.message().unwrap_or("totp.login_wrong");
            render(state, realm, &tab, &user, &[FieldError::new("otp", message)], None)
        }
    }
}
