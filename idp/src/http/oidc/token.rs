//! The token endpoint (RFC 6749 §3.2), introspection (RFC 7662) and revocation (RFC 7009): the
//! endpoints a client authenticates to.

use crate::app::AppState;
use crate::flows::access;
use crate::flows::authorize::collect_params;
use crate::flows::client_auth::{self, ASSERTION_TYPE, Presented};
use crate::flows::tokens::{self, Ctx, TokenError};
use crate::http::login_actions::audit;
use crate::http::{paths, web};
use crate::store::{Client, EventType, NewEvent, Realm};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use secrecy::SecretString;
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::TOKEN, post(token))
        .route(paths::INTROSPECT, post(introspect))
        .route(paths::REVOKE, post(revoke))
}

/// The error response for a token-endpoint error; `invalid_client` is a 401 that names Basic
/// when the client tried it (RFC 6749 §5.2).
fn error_response(error: &TokenError, tried_basic: bool) -> Response {
    if let TokenError::Flow(cause) = error {
        tracing::error!(error = %cause, "token request failed");
    }
    let status = match error {
        TokenError::InvalidClient => StatusCode::UNAUTHORIZED,
        TokenError::Flow(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let description = match error {
        TokenError::Flow(_) => None,
        other => Some(other.to_string()),
    };
    let mut response = web::oauth_error(status, error.code(), description);
    if matches!(error, TokenError::InvalidClient) && tried_basic {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"kenpo\""));
    }
    response
}

/// `client_id:client_secret`, each form-encoded (RFC 6749 §2.3.1).
fn basic(headers: &HeaderMap) -> Option<Option<(String, SecretString)>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok();
    let pair = decoded.and_then(|d| String::from_utf8(d).ok()).and_then(|text| {
        let (id, secret) = text.split_once(':')?;
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
        };
        Some((decode(id)?, SecretString::from(decode(secret)?)))
    });
    Some(pair)
}

/// Which authentication method the request used; more than one, or a malformed one, is invalid.
fn presented(headers: &HeaderMap, params: &BTreeMap<String, String>) -> Presented {
    let basic = basic(headers);
    let secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let client_id = params.get("client_id").cloned();
    match (basic, secret, assertion) {
        (Some(Some((id, secret))), None, None) if client_id.as_ref().is_none_or(|c| c == &id) => {
            Presented::Basic { client_id: id, secret }
        }
        (None, Some(secret), None) => match client_id {
            Some(client_id) => Presented::Post { client_id, secret: SecretString::from(secret.clone()) },
            None => Presented::Invalid,
        },
        (None, None, Some(assertion))
            if params.get("client_assertion_type").map(String::as_str) == Some(ASSERTION_TYPE) =>
        {
            Presented::Assertion { client_id, assertion: assertion.clone() }
        }
        (None, None, None) => client_id.map_or(Presented::Invalid, |client_id| Presented::None { client_id }),
        _ => Presented::Invalid,
    }
}

/// Parses the body and authenticates the client, or answers with the error.
async fn client_and_params(
    state: &AppState,
    realm: &Realm,
    issuer: &str,
    endpoint: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Client, BTreeMap<String, String>), Response> {
    let params = collect_params(web::pairs(body)).map_err(|name| {
        web::oauth_error(StatusCode::BAD_REQUEST, "invalid_request", Some(format!("{name} is repeated")))
    })?;
    let tried_basic = headers.contains_key(header::AUTHORIZATION);
    let ctx = state.ctx(realm, issuer);
    match client_auth::authenticate(ctx, presented(headers, &params), endpoint).await {
        Ok(client) => Ok((client, params)),
        Err(e) => Err(error_response(&e, tried_basic)),
    }
}

async fn realm_for_api(state: &AppState, name: &str) -> Result<Realm, Response> {
    match state.lookups.realm(&state.db, name).await {
        Ok(realm) => Ok(Realm::clone(&realm)),
        Err(_) => {
            Err(web::oauth_error(StatusCode::NOT_FOUND, "not_found", Some("Realm does not exist".to_owned())))
        }
    }
}

async fn token(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let realm = match realm_for_api(&state, &realm).await {
        Ok(realm) => realm,
        Err(response) => return response,
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let endpoint = format!("{issuer}{}", paths::suffix::TOKEN);
    let (client, params) = match client_and_params(&state, &realm, &issuer, &endpoint, &headers, &body).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let ctx: Ctx<'_> = state.ctx(&realm, &issuer);
    let get = |name: &str| params.get(name).map(String::as_str);
    let (kind, result) = match get("grant_type") {
        Some("authorization_code") => match get("code") {
            Some(code) => (
                EventType::CodeToToken,
                tokens::exchange_code(ctx, &client, code, get("redirect_uri"), get("code_verifier")).await,
            ),
            None => {
                (EventType::CodeToTokenError, Err(TokenError::InvalidRequest("code is required".to_owned())))
            }
        },
        Some("refresh_token") => match get("refresh_token") {
            Some(refresh) => {
                (EventType::RefreshToken, tokens::refresh(ctx, &client, refresh, get("scope")).await)
            }
            None => (
                EventType::RefreshTokenError,
                Err(TokenError::InvalidRequest("refresh_token is required".to_owned())),
            ),
        },
        Some("client_credentials") => {
            (EventType::ClientLogin, tokens::client_credentials(ctx, &client, get("scope")).await)
        }
        Some(_) => (EventType::CodeToTokenError, Err(TokenError::UnsupportedGrantType)),
        None => (
            EventType::CodeToTokenError,
            Err(TokenError::InvalidRequest("grant_type is required".to_owned())),
        ),
    };
    let event = |error: Option<&str>| NewEvent {
        client_id: Some(client.client_id.to_string()),
        error: error.map(str::to_owned),
        ..NewEvent::default()
    };
    match result {
        // Successful grants are not recorded one by one: on a busy realm they would be most of
        // the database's writes. Failures are, for investigations.
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            web::no_store(&mut response);
            response
        }
        Err(e) => {
            let failed = match kind {
                EventType::RefreshToken => EventType::RefreshTokenError,
                EventType::ClientLogin => EventType::ClientLoginError,
                EventType::CodeToToken => EventType::CodeToTokenError,
                other => other,
            };
            audit(&state, &realm, failed, event(Some(e.code()))).await;
            error_response(&e, false)
        }
    }
}

/// The realm, its issuer, the authenticated client and the parameters of a request to the
/// endpoint at `suffix`, or the error response.
async fn authenticated(
    state: &AppState,
    realm: &str,
    suffix: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Realm, String, Client, BTreeMap<String, String>), Response> {
    let realm = realm_for_api(state, realm).await?;
    let issuer = state.config.issuer(realm.name.as_str());
    let endpoint = format!("{issuer}{suffix}");
    let (client, params) = client_and_params(state, &realm, &issuer, &endpoint, headers, body).await?;
    Ok((realm, issuer, client, params))
}

/// [`authenticated`], for the endpoints that take a `token` (introspection, revocation).
async fn with_token(
    state: &AppState,
    realm: &str,
    suffix: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Realm, String, Client, String), Response> {
    let (realm, issuer, client, mut params) = authenticated(state, realm, suffix, headers, body).await?;
    match params.remove("token") {
        Some(token) => Ok((realm, issuer, client, token)),
        None => Err(error_response(&TokenError::InvalidRequest("token is required".to_owned()), false)),
    }
}

async fn introspect(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (realm, issuer, client, token) =
        match with_token(&state, &realm, paths::suffix::INTROSPECT, &headers, &body).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    if !client.confidential {
        return error_response(&TokenError::InvalidClient, false);
    }
    match access::introspect(state.ctx(&realm, &issuer), &client, &token).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            web::no_store(&mut response);
            response
        }
        Err(e) => error_response(&e, false),
    }
}

async fn revoke(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (realm, issuer, client, token) =
        match with_token(&state, &realm, paths::suffix::REVOKE, &headers, &body).await {
            Ok(found) => found,
            Err(response) => return response,
        };
    match access::revoke(state.ctx(&realm, &issuer), &client, &token).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => error_response(&e, false),
    }
}
