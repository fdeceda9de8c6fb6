//! UserInfo (OIDC Core §5.3): GET or POST, the token in the `Authorization: Bearer` header or
//! (POST) the form body (RFC 6750 §2.2), never both.

use crate::app::AppState;
use crate::flows::access::{self, BearerError};
use crate::flows::authorize::collect_params;
use crate::http::{paths, web};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<AppState> {
    Router::new().route(paths::USERINFO, get(userinfo).post(userinfo))
}

/// RFC 6750 §3: the challenge, with the error code.
fn challenge(status: StatusCode, error: &str) -> Response {
    let mut response = status.into_response();
    let value = format!("Bearer realm=\"kenpo\", error=\"{error}\"");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

async fn userinfo(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned());
    let body_token = if method == Method::POST {
        collect_params(web::pairs(&body)).ok().and_then(|p| p.get("access_token").cloned())
    } else {
        None
    };
    let token = match (header_token, body_token) {
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return challenge(StatusCode::UNAUTHORIZED, "invalid_request"),
        (Some(_), Some(_)) => return challenge(StatusCode::BAD_REQUEST, "invalid_request"),
    };
    let Ok(realm) = state.lookups.realm(&state.db, &realm).await else {
        return challenge(StatusCode::UNAUTHORIZED, "invalid_token");
    };
    let issuer = state.config.issuer(realm.name.as_str());
    match access::userinfo(state.ctx(&realm, &issuer), &token).await {
        Ok(claims) => {
            let mut response = Json(claims).into_response();
            web::no_store(&mut response);
            response
        }
        Err(BearerError::InvalidToken) => challenge(StatusCode::UNAUTHORIZED, "invalid_token"),
        Err(BearerError::InsufficientScope) => challenge(StatusCode::FORBIDDEN, "insufficient_scope"),
        Err(BearerError::Token(e)) => {
            tracing::error!(error = %e, "userinfo failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
