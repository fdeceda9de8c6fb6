//! The links mailed to members, `login-actions/action-token?key=…`: 「メールアドレスの確認」
//! verifies the address on the spot (the member then goes back to the first tab and reloads,
//! 2-1 step 8); 「パスワードをリセット」 shows the new-password form, and only its POST uses the
//! link, so a mail scanner that opens links does not spend it.

use super::{audit, by_field};
use crate::app::AppState;
use crate::domain::PASSWORD_SYMBOLS;
use crate::flows::email_change::{self, Followed};
use crate::flows::recovery::{self, Reset};
use crate::flows::required_actions::{self as steps, FieldError};
use crate::http::web;
use crate::i18n::Locale;
use crate::store::{EventType, Realm};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Default, Deserialize)]
pub struct KeyQuery {
    #[serde(default)]
    key: String,
}

#[derive(Serialize)]
struct ResetPage<'a> {
    action: &'a str,
    key: &'a str,
    errors: std::collections::BTreeMap<&'static str, Vec<&'a FieldError>>,
    password_symbols: &'static str,
    min_password: usize,
    max_password: usize,
    submit_key: &'static str,
}

fn reset_form(state: &AppState, realm: &Realm, locale: Locale, key: &str, errors: &[FieldError]) -> Response {
    let action = format!("/realms/{}/login-actions/action-token", realm.name);
    let (min_password, max_password) = realm.settings.password_policy.bounds();
    let page = ResetPage {
        action: &action,
        key,
        errors: by_field(errors),
        password_symbols: PASSWORD_SYMBOLS,
        min_password,
        max_password,
        submit_key: "common.execute",
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, locale, &realm.display_name, "update_password.html", page)
}

fn notice(
    state: &AppState,
    realm: &Realm,
    locale: Locale,
    status: StatusCode,
    key: &'static str,
) -> Response {
    web::message(state, status, locale, &realm.display_name, key)
}

pub async fn follow(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<KeyQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let locale = web::browser_locale(&headers);
    let realm = match web::realm(&state, &realm_name, locale).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    match recovery::reset_link_member(&ctx, &query.key).await {
        Ok(Some(_)) => return reset_form(&state, &realm, locale, &query.key, &[]),
        Ok(None) => {}
        Err(e) => return web::server_error(&state, locale, &e),
    }
    match steps::follow_verification_link(&ctx, &query.key).await {
        Ok(Some(user)) => {
            let mut verified = super::event(&peer, None, Some(&user.id), None);
            verified
                .details
                .insert("email".to_owned(), user.email.map(|e| e.to_string()).unwrap_or_default());
            audit(&state, &realm, EventType::VerifyEmail, verified).await;
            notice(&state, &realm, locale, StatusCode::OK, "verify.done")
        }
        Ok(None) => changed_email(&state, &realm, locale, &ctx, &query.key, &peer).await,
        Err(e) => web::server_error(&state, locale, &e),
    }
}

/// A link mailed to a new address (3-5): the address replaces the old one now.
async fn changed_email(
    state: &AppState,
    realm: &Realm,
    locale: Locale,
    ctx: &crate::flows::tokens::Ctx<'_>,
    key: &str,
    peer: &SocketAddr,
) -> Response {
    match email_change::follow(ctx, key).await {
        Ok(Followed::Changed { user, previous }) => {
            let mut changed = super::event(peer, None, Some(&user.id), None);
            let address = |e: Option<&crate::domain::Email>| e.map(ToString::to_string).unwrap_or_default();
            changed.details.insert("previous_email".to_owned(), address(previous.as_ref()));
            changed.details.insert("updated_email".to_owned(), address(user.email.as_ref()));
            audit(state, realm, EventType::UpdateEmail, changed).await;
            notice(state, realm, locale, StatusCode::OK, "account.email_changed")
        }
        Ok(Followed::Taken) => {
            let failed = super::event(peer, None, None, Some("email_in_use"));
            audit(state, realm, EventType::UpdateEmailError, failed).await;
            notice(state, realm, locale, StatusCode::CONFLICT, "email.taken")
        }
        Ok(Followed::Invalid) => {
            audit(
                state,
                realm,
                EventType::VerifyEmailError,
                super::event(peer, None, None, Some("invalid_code")),
            )
            .await;
            notice(state, realm, locale, StatusCode::BAD_REQUEST, "link.invalid")
        }
        Err(e) => web::server_error(state, locale, &e),
    }
}

pub async fn reset_password(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = web::FormFields::parse(&body);
    let locale = web::browser_locale(&headers);
    let realm = match web::realm(&state, &realm_name, locale).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    let key = form.get("key");
    let outcome = recovery::reset_password(
        &ctx,
        &state.hashing,
        key,
        form.get("password-new").to_owned(),
        form.get("password-confirm"),
    )
    .await;
    match outcome {
        Ok(Reset::Done(user)) => {
            // A reset password ends every session of the member: whoever knew the old one is out.
            let ctx = state.ctx(&realm, &issuer);
            match crate::flows::logout::end_all_sessions(ctx, &user.id).await {
                Ok(_) => state.backchannel.notify_one(),
                Err(e) => tracing::warn!(error = %e, "sessions not ended after a password reset"),
            }
            audit(&state, &realm, EventType::ResetPassword, super::event(&peer, None, Some(&user.id), None))
                .await;
            audit(&state, &realm, EventType::UpdatePassword, super::event(&peer, None, Some(&user.id), None))
                .await;
            notice(&state, &realm, locale, StatusCode::OK, "reset.done")
        }
        Ok(Reset::Refused(errors)) => reset_form(&state, &realm, locale, key, &errors),
        Ok(Reset::LinkInvalid) => {
            let failed = super::event(&peer, None, None, Some("invalid_code"));
            audit(&state, &realm, EventType::ResetPasswordError, failed).await;
            notice(&state, &realm, locale, StatusCode::BAD_REQUEST, "link.invalid")
        }
        Err(e) => web::server_error(&state, locale, &e),
    }
}
