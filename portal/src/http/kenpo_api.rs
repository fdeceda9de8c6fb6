//! The kenpo API's door: bearer tokens from the kenpo's IdP realm (client_credentials), the
//! role each operation needs (`flows::kenpo_api`), and the JSON error shape every kenpo-facing
//! endpoint answers with. The operations themselves live with their features.

use crate::app::AppState;
use crate::flows::kenpo_api::{self, ApiAuthError};
pub use crate::flows::kenpo_api::{ApiRole, Caller};
use crate::store::{ApiGrantStore, StoreError};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

pub const ROLES: &str = "/api/kenpo/roles";
pub const OPENAPI: &str = "/api/kenpo/openapi.json";

/// The API's OpenAPI document, written with the API; each feature adds its operations.
pub const DOCUMENT: &str = include_str!("../../openapi/kenpo-api.json");

pub fn routes() -> Router<AppState> {
    Router::new().route(ROLES, get(roles)).route(OPENAPI, get(document))
}

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=3600")], DOCUMENT)
}

/// Errors of the kenpo-facing API: `{ "error": "...", "message_ja": ..., "message_en": ... }`.
#[derive(Debug, Serialize)]
struct ApiError<'a> {
    error: &'static str,
    message_ja: &'a str,
    message_en: &'a str,
}

pub fn api_error(status: StatusCode, error: &'static str, ja: &str, en: &str) -> Response {
    let mut response = (status, Json(ApiError { error, message_ja: ja, message_en: en })).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A body that is not the JSON the operation takes: 400, saying what the parser saw.
pub fn bad_json(e: &JsonRejection) -> Response {
    let en = format!("the body is not the JSON this operation takes: {}", e.body_text());
    api_error(StatusCode::BAD_REQUEST, "invalid_request", "リクエストの JSON が正しくありません", &en)
}

/// A store failure: logged, and a generic answer.
pub fn server_error(e: &StoreError) -> Response {
    tracing::error!(error = %e, "kenpo API call failed");
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "処理に失敗しました。しばらくしてから再度お試しください",
        "the request failed; please try again later",
    )
}

/// The token of `Authorization: Bearer …`, if there is one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// A role an operation needs, as a type: `Authorized<ManageNotices>` in a handler's arguments.
pub trait Needs {
    const ROLE: ApiRole;
}

/// お知らせ and MYメール.
#[derive(Debug)]
pub struct ManageNotices;
/// 被扶養者資格確認.
#[derive(Debug)]
pub struct ManageSurveys;
/// 資格情報のお知らせ and 資格確認書.
#[derive(Debug)]
pub struct ManageQualification;

impl Needs for ManageNotices {
    const ROLE: ApiRole = ApiRole::ManageNotices;
}
impl Needs for ManageSurveys {
    const ROLE: ApiRole = ApiRole::ManageSurveys;
}
impl Needs for ManageQualification {
    const ROLE: ApiRole = ApiRole::ManageQualification;
}

/// The caller of an operation that needs `R`'s role ([`authorize`]): a handler that takes it
/// runs only for a caller who holds the role; anyone else gets the API's refusal.
#[derive(Debug)]
pub struct Authorized<R>(pub Caller, pub PhantomData<R>);

impl<R: Needs> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        authorize(state, &parts.headers, R::ROLE).await.map(|caller| Self(caller, PhantomData))
    }
}

/// The JSON body an operation takes; anything else is the API's 400 ([`bad_json`]).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(body)) => Ok(Self(body)),
            Err(e) => Err(bad_json(&e)),
        }
    }
}

/// The caller, if its token is good and it holds `role`; else the answer to give (401 with
/// `WWW-Authenticate` per RFC 6750, 403, or 503 when the IdP's keys cannot be had).
pub async fn authorize(state: &AppState, headers: &HeaderMap, role: ApiRole) -> Result<Caller, Response> {
    let token = bearer(headers).ok_or_else(|| refusal(&ApiAuthError::Unauthenticated("no bearer token")))?;
    kenpo_api::authorize(&state.db, &state.rps, token, role, state.clock.unix())
        .await
        .map_err(|e| refusal(&e))
}

fn refusal(e: &ApiAuthError) -> Response {
    match e {
        ApiAuthError::Unauthenticated(reason) => {
            tracing::info!(reason, "kenpo API token refused");
            let mut response = api_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "健康保険組合の認証基盤で発行された有効なアクセストークンが必要です",
                "a valid access token from the kenpo's identity provider is required",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
            response
        }
        ApiAuthError::Forbidden { role, .. } => {
            tracing::info!(error = %e, "kenpo API call refused");
            let ja = format!("このクライアントには権限 {role} がありません");
            let en = format!("this client does not hold the role {role}");
            let mut response = api_error(StatusCode::FORBIDDEN, "insufficient_scope", &ja, &en);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
            );
            response
        }
        ApiAuthError::Provider(cause) => {
            tracing::error!(error = %cause, "kenpo API: the IdP's keys are not available");
            api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "認証基盤に接続できません。しばらくしてから再度お試しください",
                "the identity provider cannot be reached; please try again later",
            )
        }
        ApiAuthError::Store(cause) => server_error(cause),
    }
}

#[derive(Serialize)]
struct Roles {
    kenpo: String,
    client_id: String,
    roles: Vec<String>,
}

/// `GET /api/kenpo/roles`: who the token stands for and what it may do, so a kenpo's
/// integrator can check their set-up before the first real call.
async fn roles(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = match bearer(&headers) {
        Some(token) => token,
        None => return refusal(&ApiAuthError::Unauthenticated("no bearer token")),
    };
    let caller = match kenpo_api::identify(&state.db, &state.rps, token, state.clock.unix()).await {
        Ok(caller) => caller,
        Err(e) => return refusal(&e),
    };
    match state.db.api_roles(&caller.kenpo.id, &caller.client_id).await {
        Ok(roles) => Json(Roles { kenpo: caller.kenpo.display_name, client_id: caller.client_id, roles })
            .into_response(),
        Err(e) => server_error(&e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_is_json_naming_every_path_of_the_api() {
        let doc: serde_json::Value = serde_json::from_str(super::DOCUMENT).unwrap_or_default();
        let paths =
            doc["paths"].as_object().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
        assert!(paths.contains(&super::ROLES.to_owned()), "{paths:?}");
        assert!(paths.iter().all(|p| p.starts_with("/api/kenpo/")), "{paths:?}");
    }
}
