//! What every HTTP handler of the IdP uses: the realm from the path, pages, OAuth error bodies,
//! redirects to clients, and the flows' context.

use crate::app::AppState;
use crate::flows::FlowError;
use crate::i18n::Locale;
use crate::pages::MessagePage;
use crate::store::Realm;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

/// The language for a request without `ui_locales`.
pub fn browser_locale(headers: &HeaderMap) -> Locale {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    crate::i18n::for_request(None, accept)
}

/// Renders a page with `Cache-Control: no-store` (login pages carry tokens and secrets).
pub fn page<P: Serialize>(
    state: &AppState,
    status: StatusCode,
    locale: Locale,
    realm_name: &str,
    template: &str,
    context: P,
) -> Response {
    match state.pages.render(template, locale, realm_name, context) {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, template, "page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        }
    }
}

/// An error page: what went wrong, in the member's language, never a redirect.
pub fn message(
    state: &AppState,
    status: StatusCode,
    locale: Locale,
    realm_name: &str,
    key: &'static str,
) -> Response {
    let is_error = status.is_client_error() || status.is_server_error();
    let title_key = if is_error { "error.title" } else { "logout.title" };
    page(
        state,
        status,
        locale,
        realm_name,
        "message.html",
        MessagePage { title_key, message_key: key, is_error },
    )
}

/// The realm of the path, or a 404 page.
pub async fn realm(state: &AppState, name: &str, locale: Locale) -> Result<Realm, Response> {
    match state.lookups.realm(&state.db, name).await {
        Ok(realm) => Ok(Realm::clone(&realm)),
        Err(FlowError::UnknownRealm(_)) => {
            Err(message(state, StatusCode::NOT_FOUND, locale, "", "error.unknown_realm"))
        }
        Err(e) => Err(server_error(state, locale, &e)),
    }
}

/// Whether cookies are marked `Secure`: when the public URL is https.
pub fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// The path the realm's cookies are scoped to.
pub fn cookie_path(realm: &Realm) -> String {
    format!("/realms/{}/", realm.name)
}

/// The live SSO session the browser's cookie stands for, if any. A store failure is an error,
/// never "no session": logging out must not claim success over a session it could not read.
pub async fn current_session(
    state: &AppState,
    realm: &Realm,
    jar: &axum_extra::extract::cookie::CookieJar,
) -> Result<Option<crate::store::UserSession>, FlowError> {
    match jar.get(crate::flows::sessions::COOKIE) {
        Some(cookie) => {
            crate::flows::sessions::resume(&state.db, realm, cookie.value(), state.clock.now()).await
        }
        None => Ok(None),
    }
}

/// A 500 that logs its cause and shows a generic page.
pub fn server_error(state: &AppState, locale: Locale, cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %cause, "request failed");
    message(state, StatusCode::INTERNAL_SERVER_ERROR, locale, "", "error.server")
}

/// RFC 6749 §5.2 error body.
#[derive(Debug, Serialize)]
pub struct OAuthErrorBody<'a> {
    pub error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// A JSON OAuth error with `Cache-Control: no-store`.
pub fn oauth_error(status: StatusCode, error: &str, description: Option<String>) -> Response {
    let mut response =
        (status, Json(OAuthErrorBody { error, error_description: description })).into_response();
    no_store(&mut response);
    response
}

pub fn no_store(response: &mut Response) {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A 303 to the client's registered URI with `params` added to its query (never 307, which
/// would re-send a form's credentials: RFC 9700 §4.12).
pub fn to_client(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut target) = url::Url::parse(redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "invalid redirect URI").into_response();
    };
    {
        let mut query = target.query_pairs_mut();
        for (key, value) in params {
            query.append_pair(key, value);
        }
    }
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, target.to_string())]).into_response();
    no_store(&mut response);
    response
}

/// An authorization error sent back to the client (RFC 6749 §4.1.2.1) with the request's
/// `state` and `iss` (RFC 9207).
pub fn error_to_client(
    request: &crate::flows::authorize::AuthRequest,
    issuer: &str,
    error: &str,
) -> Response {
    let mut params = vec![("error", error)];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    to_client(&request.redirect_uri, &params)
}

/// A posted form's fields by name; a missing field reads as empty, never a rejection.
#[derive(Debug, Default)]
pub struct FormFields(std::collections::HashMap<String, String>);

impl FormFields {
    pub fn parse(body: &[u8]) -> Self {
        Self(pairs(body).into_iter().collect())
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// The parameters of a request that may come by GET (query) or POST (form), as OIDC allows for
/// the authorization and end-session endpoints.
pub fn get_or_post_pairs(
    method: &axum::http::Method,
    query: Option<String>,
    body: &[u8],
) -> Vec<(String, String)> {
    if method == axum::http::Method::POST { pairs(body) } else { pairs(query.unwrap_or_default().as_bytes()) }
}

/// Form or query pairs, decoded.
pub fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}
