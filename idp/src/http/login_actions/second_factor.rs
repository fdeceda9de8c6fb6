//! The second factor of a login, after the password (3-6): the login form's own URL
//! (`login-actions/authenticate`, as Keycloak serves every authenticator step there) shows the
//! page of the member's method until it is passed, then the login goes on to what the member
//! owes.

use super::{Tab, email_otp, passkey, totp};
use crate::app::AppState;
use crate::domain::AuthMethod;
use crate::flows::trusted_device;
use crate::http::web;
use crate::store::{Realm, User, UserStore};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use std::net::SocketAddr;

/// The member of a tab whose password was right and whose factor is due.
async fn member(state: &AppState, realm: &Realm, tab: &Tab) -> Result<(User, AuthMethod), Response> {
    let Some(member) = &tab.session.member else { return Err(super::expired_page(state, realm, tab.locale)) };
    let Some(factor) = member.factor else { return Err(super::expired_page(state, realm, tab.locale)) };
    match state.db.user_by_id(&realm.id, &member.user_id).await {
        Ok(Some(user)) if user.enabled => Ok((user, factor)),
        Ok(_) => Err(super::expired_page(state, realm, tab.locale)),
        Err(e) => Err(web::server_error(state, tab.locale, &e)),
    }
}

/// The page of the factor due.
pub async fn show(state: &AppState, realm: &Realm, tab: Tab) -> Response {
    let (user, factor) = match member(state, realm, &tab).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match factor {
        AuthMethod::Otp => totp::show_code(state, realm, &tab, &user, &[], None).await,
        AuthMethod::EmailOtp => email_otp::show(state, realm, tab, &user).await,
        AuthMethod::Webauthn => passkey::show_factor(state, realm, tab, &user, &[]).await,
    }
}

/// The factor's form, posted.
pub async fn submit(
    state: &AppState,
    realm: &Realm,
    tab: Tab,
    form: &web::FormFields,
    jar: &CookieJar,
    peer: &SocketAddr,
) -> Response {
    let (user, factor) = match member(state, realm, &tab).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let device = jar.get(trusted_device::COOKIE).map(|c| c.value().to_owned());
    match factor {
        AuthMethod::Otp => totp::submit_code(state, realm, tab, user, form, device.as_deref(), peer).await,
        AuthMethod::EmailOtp => {
            email_otp::submit(state, realm, tab, user, form, device.as_deref(), peer).await
        }
        AuthMethod::Webauthn => {
            passkey::submit_factor(state, realm, tab, user, form, device.as_deref(), peer).await
        }
    }
}
