//! The account console's logins: the way back from the authorization endpoint
//! (`account/login-redirect`) and the start of a change (`account/action?kc_action=…`).

use super::{LOGIN_COOKIE, signed_in, to_login};
use crate::app::AppState;
use crate::domain::RequiredAction;
use crate::flows::account;
use crate::flows::authorize::DELETE_CREDENTIAL;
use crate::flows::required_actions::ON_REQUEST;
use crate::http::{login_actions, web};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;

/// What the authorization endpoint sends back.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    kc_action_status: Option<String>,
}

/// `account/login-redirect`: exchanges the code (proving the round trip) and shows the page
/// first asked for.
pub async fn come_back(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(callback): Query<Callback>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let locale = web::browser_locale(&headers);
    let realm = match web::realm(&state, &realm_name, locale).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let refused = |key| web::message(&state, StatusCode::BAD_REQUEST, locale, &realm.display_name, key);
    if callback.error.is_some() {
        return refused("account.login_failed");
    }
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    let cookie = jar.get(LOGIN_COOKIE).map(|c| c.value().to_owned());
    let pending = match account::finish_login(&ctx, &callback.state, cookie.as_deref(), &callback.code).await
    {
        Ok(Some(pending)) => pending,
        Ok(None) => return refused("error.expired"),
        Err(e) => return web::server_error(&state, locale, &e),
    };
    let mut target = pending.return_to;
    if let (Some(action), Some("success")) = (&pending.kc_action, callback.kc_action_status.as_deref()) {
        let notice = if action.starts_with(DELETE_CREDENTIAL) { "delete_credential" } else { action };
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&format!("notice={notice}"));
    }
    let jar = jar.remove(Cookie::build(LOGIN_COOKIE).path(format!("/realms/{}/account", realm.name)));
    (jar, login_actions::see_other(&target)).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct ChangeQuery {
    #[serde(default)]
    kc_action: String,
    /// The account page to come back to.
    #[serde(default, rename = "return")]
    return_to: String,
}

/// `account/action?kc_action=…&return=…`: a change the member asked for on an account page,
/// made on the login pages after a recent enough authentication.
pub async fn change(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<ChangeQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let return_to = account::local_return(&realm_name, &query.return_to);
    let member = match signed_in(&state, &realm_name, &headers, &jar, &return_to).await {
        Ok(member) => member,
        Err(response) => return response,
    };
    let known = RequiredAction::from_alias(&query.kc_action).is_some_and(|a| ON_REQUEST.contains(&a))
        || query.kc_action.strip_prefix(DELETE_CREDENTIAL).is_some_and(|id| !id.is_empty());
    if !known {
        let (status, realm) = (StatusCode::BAD_REQUEST, &member.realm.display_name);
        return web::message(&state, status, member.locale, realm, "account.unknown_action");
    }
    to_login(&state, &member.realm, &return_to, Some(&query.kc_action), member.locale).await
}
