//! The passkey pages of a login (生体認証, 2-3, Q16, Q21): 「セキュリティキーの登録」 (the
//! webauthn-register required action), the passkey after the password, and 「パスキーでログイン」
//! from the login page.
//!
//! Each page starts a ceremony, keeps it in the tab (server side) and embeds only its challenge
//! for `/resources/webauthn.js`, whose form posts the browser's answer in the `webauthn` field.
//! A page shown again after a refusal starts a fresh ceremony, except when only the label was
//! refused: then the answer goes back into the form, so fixing the label needs no second prompt.

use super::{Tab, TabChrome, audit, by_field, event, required, see_other};
use crate::app::AppState;
use crate::domain::RequiredAction;
use crate::flows::auth_session::{self, Authenticated};
use crate::flows::lockout::IdentityCheck;
use crate::flows::mfa;
use crate::flows::mfa::passkey::{self, PasskeyData, Setup, SignIn, Waiting};
use crate::flows::required_actions::{self as steps, FieldError};
use crate::flows::tokens::Ctx;
use crate::flows::{FlowError, trusted_device};
use crate::http::{paths, web};
use crate::store::{EventType, Realm, User};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// A challenge as a page embeds it, inside `<script type="application/json">`: `<`, `>` and `&`
/// escaped, so no text in it can end the element.
fn embed(challenge: &Value) -> String {
    challenge.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

async fn save(state: &AppState, tab: &Tab) -> Result<(), Response> {
    auth_session::save(&state.ephemeral, &tab.id, &tab.session)
        .await
        .map_err(|e| web::server_error(state, tab.locale, &e))
}

/// The login page's 「パスキーでログイン」: a sign-in ceremony kept in the tab (the caller saves
/// it) and its challenge, where passkeys can work here.
pub fn sign_in_challenge(ctx: &Ctx<'_>, tab: &mut Tab) -> Result<Option<String>, FlowError> {
    if !passkey::available(ctx) {
        return Ok(None);
    }
    let (challenge, ceremony) = passkey::start_sign_in(ctx)?;
    tab.session.passkey = Some(Waiting::SignIn(ceremony));
    Ok(Some(embed(&challenge)))
}

#[derive(Serialize)]
struct RegisterPage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    errors: BTreeMap<&'static str, Vec<&'a FieldError>>,
    /// The label typed before a refusal.
    value: &'a str,
    /// The browser's answer, kept when only the label was refused.
    answer: &'a str,
    challenge: Option<String>,
    script: &'static str,
}

/// 「セキュリティキーの登録」: the label and 「登録」, which runs the browser's prompt.
pub async fn render_setup(
    state: &AppState,
    realm: &Realm,
    tab: &mut Tab,
    user: &User,
    errors: &[FieldError],
    form: Option<&web::FormFields>,
) -> Response {
    let answer_refused = errors.iter().any(|e| e.field == "webauthn");
    let kept =
        form.filter(|_| !answer_refused && matches!(tab.session.passkey, Some(Waiting::Registration(_))));
    let challenge = if kept.is_some() {
        None
    } else {
        let issuer = state.config.issuer(realm.name.as_str());
        let ctx = state.ctx(realm, &issuer);
        match passkey::start_registration(&ctx, user).await {
            Ok((challenge, ceremony)) => {
                tab.session.passkey = Some(Waiting::Registration(ceremony));
                if let Err(page) = save(state, tab).await {
                    return page;
                }
                Some(embed(&challenge))
            }
            Err(e) => return web::server_error(state, tab.locale, &e),
        }
    };
    let action = format!(
        "{}&execution={}",
        tab.url(realm, "required-action"),
        RequiredAction::WebauthnRegister.alias()
    );
    let switch_url = tab.switch_url(realm, "required-action");
    let page = RegisterPage {
        chrome: TabChrome { action: &action, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        errors: by_field(errors),
        value: form.map_or("", |f| f.get("userLabel")),
        answer: kept.map_or("", |f| f.get("webauthn")),
        challenge,
        script: paths::WEBAUTHN_SCRIPT,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, tab.locale, &realm.display_name, "passkey_register.html", page)
}

/// The registration form: a valid answer and a label register the passkey, and the login counts
/// it as proven (`hwk` or `swk`, and `user`).
pub async fn submit_setup(
    state: &AppState,
    realm: &Realm,
    mut tab: Tab,
    mut user: User,
    form: &web::FormFields,
    peer: &SocketAddr,
) -> Response {
    let Some(Waiting::Registration(ceremony)) = tab.session.passkey.clone() else {
        let errors = [FieldError::new("webauthn", "webauthn.invalid")];
        return render_setup(state, realm, &mut tab, &user, &errors, Some(form)).await;
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let (response, label) = (form.get("webauthn"), form.get("userLabel"));
    let client_id = tab.session.request.client_id.clone();
    match steps::register_passkey(&ctx, &mut user, &ceremony, response, label).await {
        Ok(Setup::Registered(credential)) => {
            let proved = match PasskeyData::of(&credential) {
                Ok(data) => data.proves(),
                Err(e) => return web::server_error(state, tab.locale, &e),
            };
            tab.session.passkey = None;
            if let Some(member) = tab.session.member.as_mut() {
                mfa::record(&mut member.amr, &proved);
            }
            if let Err(page) = save(state, &tab).await {
                return page;
            }
            if let Err(page) = super::requested_done(state, &mut tab, RequiredAction::WebauthnRegister).await
            {
                return page;
            }
            // Keycloak records a passkey registration as its required action's event.
            let mut done = event(peer, Some(&client_id), Some(&user.id), None);
            done.details.insert("credential_id".to_owned(), credential.id.clone());
            done.details.insert("credential_type".to_owned(), "webauthn".to_owned());
            let alias = RequiredAction::WebauthnRegister.alias().to_owned();
            done.details.insert("custom_required_action".to_owned(), alias);
            audit(state, realm, EventType::CustomRequiredAction, done).await;
            see_other(&tab.url(realm, "required-action"))
        }
        Ok(Setup::Refused(errors)) => render_setup(state, realm, &mut tab, &user, &errors, Some(form)).await,
        Err(e) => web::server_error(state, tab.locale, &e),
    }
}

#[derive(Serialize)]
struct FactorPage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    errors: BTreeMap<&'static str, Vec<&'a FieldError>>,
    challenge: String,
    script: &'static str,
}

/// The passkey after the password, with a fresh ceremony.
pub async fn show_factor(
    state: &AppState,
    realm: &Realm,
    mut tab: Tab,
    user: &User,
    errors: &[FieldError],
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let challenge = match passkey::start_second_factor(&ctx, user).await {
        Ok((challenge, ceremony)) => {
            tab.session.passkey = Some(Waiting::SecondFactor(ceremony));
            embed(&challenge)
        }
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    if let Err(page) = save(state, &tab).await {
        return page;
    }
    let action = tab.url(realm, "authenticate");
    let switch_url = tab.switch_url(realm, "authenticate");
    let page = FactorPage {
        chrome: TabChrome { action: &action, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        errors: by_field(errors),
        challenge,
        script: paths::WEBAUTHN_SCRIPT,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, tab.locale, &realm.display_name, "passkey_login.html", page)
}

/// The passkey's answer after the password: right, and the login goes on to what the member
/// owes; wrong or cancelled, and the page asks again with a fresh ceremony.
pub async fn submit_factor(
    state: &AppState,
    realm: &Realm,
    mut tab: Tab,
    user: User,
    form: &web::FormFields,
    device_cookie: Option<&str>,
    peer: &SocketAddr,
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let client_id = tab.session.request.client_id.clone();
    let failure = |error: &str| event(peer, Some(&client_id), Some(&user.id), Some(error));
    let response = form.get("webauthn");
    let check = match tab.session.passkey.take() {
        Some(Waiting::SecondFactor(ceremony)) => {
            passkey::check_second_factor(&ctx, &user, &ceremony, response, device_cookie, peer.ip()).await
        }
        _ => Ok(IdentityCheck::Failed),
    };
    match check {
        Ok(IdentityCheck::Passed) => {
            let proved = match passkey::proved(&ctx, &user, response).await {
                Ok(proved) => proved,
                Err(e) => return web::server_error(state, tab.locale, &e),
            };
            super::factor_passed(state, realm, tab, &proved).await
        }
        Ok(IdentityCheck::Failed) => {
            audit(state, realm, EventType::LoginError, failure("invalid_user_credentials")).await;
            let errors = [FieldError::new("webauthn", "webauthn.failed")];
            show_factor(state, realm, tab, &user, &errors).await
        }
        Ok(IdentityCheck::Locked(lock)) => {
            super::locked_out(state, realm, &tab, lock, event(peer, Some(&client_id), Some(&user.id), None))
                .await
        }
        Err(e) => web::server_error(state, tab.locale, &e),
    }
}

/// 「パスキーでログイン」 posted from the login page: the member whose passkey answered is
/// authenticated with two factors (the key, and the member verified by it), then goes on as
/// after a password. A refused answer shows the login page again with `webauthn.failed`.
pub async fn sign_in(
    state: &AppState,
    realm: &Realm,
    mut tab: Tab,
    response: &str,
    jar: CookieJar,
    peer: &SocketAddr,
    headers: &HeaderMap,
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let client_id = tab.session.request.client_id.clone();
    let device = jar.get(trusted_device::COOKIE).map(|c| c.value().to_owned());
    let outcome = match tab.session.passkey.take() {
        Some(Waiting::SignIn(ceremony)) => {
            passkey::finish_sign_in(&ctx, &ceremony, response, device.as_deref(), peer.ip()).await
        }
        _ => Ok(SignIn::Refused),
    };
    let user = match outcome {
        Ok(SignIn::Passed(user)) => *user,
        Ok(SignIn::Refused) => {
            let failed = event(peer, Some(&client_id), None, Some("invalid_user_credentials"));
            audit(state, realm, EventType::LoginError, failed).await;
            tab.session.notice = None;
            return super::login::render(state, realm, &mut tab, Some("webauthn.failed"), "").await;
        }
        Ok(SignIn::Disabled) => {
            let failed = event(peer, Some(&client_id), None, Some("user_disabled"));
            audit(state, realm, EventType::LoginError, failed).await;
            let _ = auth_session::finish(&state.ephemeral, &tab.id).await;
            let status = StatusCode::FORBIDDEN;
            return web::message(state, status, tab.locale, &realm.display_name, "login.disabled");
        }
        Ok(SignIn::Locked(lock)) => {
            return super::locked_out(state, realm, &tab, lock, event(peer, Some(&client_id), None, None))
                .await;
        }
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    let proved = match passkey::proved(&ctx, &user, response).await {
        Ok(proved) => proved,
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    let mut amr_values = Vec::new();
    mfa::record(&mut amr_values, &proved);
    let mut member = Authenticated::new(user.id.clone(), state.clock.now(), false, amr_values);
    member.factor = match mfa::due(&ctx, &user, &member.amr).await {
        Ok(factor) => factor,
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    let factor_due = member.factor.is_some();
    tab.session.notice = None;
    tab.session.member = Some(member);
    if let Err(page) = save(state, &tab).await {
        return page;
    }
    if factor_due {
        return see_other(&tab.url(realm, "authenticate"));
    }
    // What the member owes, then the change the client asked for (kc_action).
    match steps::next_with(&ctx, &user, tab.session.requested()).await {
        Ok(None) if tab.session.deletion_pending().is_none() => {
            required::finish(state, realm, tab, user, peer, headers, jar).await
        }
        Ok(_) => see_other(&tab.url(realm, "required-action")),
        Err(e) => web::server_error(state, tab.locale, &e),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_embedded_challenge_cannot_end_its_script_element() {
        let challenge = serde_json::json!({"rp": {"name": "</script><b>&"}});
        let embedded = embed(&challenge);
        assert!(!embedded.contains('<') && !embedded.contains('>') && !embedded.contains('&'));
        let back: Value = serde_json::from_str(&embedded).unwrap_or_default();
        assert_eq!(back, challenge);
    }
}
