//! The admin REST API on Keycloak's paths (`/admin/realms/{realm}/…`), bearer tokens of the
//! realm only. Handlers read the request into the flow's types and write Keycloak's answers:
//! 201 with `Location` for a creation, 204 for a change, JSON errors `{"error", "errorMessage"}`.

mod clients;
mod openapi;
mod realm;
mod users;

use crate::app::AppState;
use crate::flows::admin::{self, AdminError, Caller};
use crate::store::Realm;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// Every admin operation served, by method and path: what the OpenAPI document must describe
/// (a test holds the two together).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", realm::REALMS),
    ("GET", realm::REALM),
    ("PUT", realm::REALM),
    ("GET", realm::EVENTS),
    ("GET", realm::ADMIN_EVENTS),
    ("POST", realm::TERMS),
    ("GET", users::USERS),
    ("POST", users::USERS),
    ("GET", users::USERS_COUNT),
    ("GET", users::USER),
    ("PUT", users::USER),
    ("DELETE", users::USER),
    ("GET", users::CREDENTIALS),
    ("DELETE", users::CREDENTIAL),
    ("PUT", users::RESET_PASSWORD),
    ("POST", users::RESET_SECOND_FACTORS),
    ("PUT", users::DISPLAY_NAME),
    ("PUT", users::EXECUTE_ACTIONS_EMAIL),
    ("POST", users::LOGOUT),
    ("GET", users::SESSIONS),
    ("GET", users::BRUTE_FORCE),
    ("DELETE", users::BRUTE_FORCE),
    ("GET", clients::CLIENTS),
    ("POST", clients::CLIENTS),
    ("GET", clients::CLIENT),
    ("PUT", clients::CLIENT),
    ("DELETE", clients::CLIENT),
    ("GET", clients::CLIENT_SECRET),
    ("POST", clients::CLIENT_SECRET),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(realm::routes())
        .merge(users::routes())
        .merge(clients::routes())
        .merge(openapi::routes())
}

/// An admin call's failure, as the HTTP answer Keycloak gives for it.
#[derive(Debug)]
pub struct ApiError(AdminError);

impl<E: Into<AdminError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = match &self.0 {
            AdminError::Unauthenticated => {
                let mut response = json_error(StatusCode::UNAUTHORIZED, "HTTP 401 Unauthorized", None);
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"kenpo\", error=\"invalid_token\""),
                );
                return response;
            }
            AdminError::Forbidden(_) => (StatusCode::FORBIDDEN, "HTTP 403 Forbidden"),
            AdminError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AdminError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AdminError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            AdminError::Flow(cause) => {
                tracing::error!(error = %cause, "admin call failed");
                return json_error(StatusCode::INTERNAL_SERVER_ERROR, "unknown_error", None);
            }
        };
        json_error(status, error, Some(self.0.to_string()))
    }
}

fn json_error(status: StatusCode, error: &str, message: Option<String>) -> Response {
    let body = match message {
        Some(message) => serde_json::json!({ "error": error, "errorMessage": message }),
        None => serde_json::json!({ "error": error }),
    };
    let mut response = (status, axum::Json(body)).into_response();
    crate::http::web::no_store(&mut response);
    response
}

/// A bad query string or body is the caller's 400, in the API's JSON, never axum's text.
pub(super) fn bad_query(e: QueryRejection) -> ApiError {
    ApiError(AdminError::invalid(e.body_text()))
}

pub(super) fn bad_body(e: JsonRejection) -> ApiError {
    ApiError(AdminError::invalid(e.body_text()))
}

/// The realm named in the path and the caller its token proves.
pub(super) struct Call {
    pub realm: Arc<Realm>,
    pub issuer: String,
    pub caller: Caller,
}

impl Call {
    pub fn ctx<'a>(&'a self, state: &'a AppState) -> crate::flows::tokens::Ctx<'a> {
        state.ctx(&self.realm, &self.issuer)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl axum::extract::FromRequestParts<AppState> for Call {
    type Rejection = ApiError;

    /// The realm from the path's `{realm}`, the token from `Authorization`: every admin handler
    /// takes a `Call` before anything else, so a caller without a token learns nothing more.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::{ConnectInfo, Path};
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError(AdminError::NotFound("Realm")))?;
        let realm = params.get("realm").ok_or(ApiError(AdminError::NotFound("Realm")))?;
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(AdminError::Unauthenticated))?;
        call(state, realm, &parts.headers, peer).await
    }
}

/// Query pairs of a raw query string, a repeated name giving several values.
pub(super) struct QueryPairs(Vec<(String, String)>);

impl QueryPairs {
    pub fn parse(raw: Option<String>) -> Self {
        Self(crate::http::web::pairs(raw.unwrap_or_default().as_bytes()))
    }

    pub fn one(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    pub fn number(&self, name: &str) -> Result<Option<u32>, ApiError> {
        self.one(name)
            .map(|v| v.parse::<u32>().map_err(|_| ApiError(AdminError::invalid(format!("{name}: a number")))))
            .transpose()
    }
}

/// Authenticates an admin call to `realm`. An unknown realm is a 404 (realm names are public:
/// discovery documents name them).
pub(super) async fn call(
    state: &AppState,
    realm: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Call, ApiError> {
    let realm = match state.lookups.realm(&state.db, realm).await {
        Ok(realm) => realm,
        Err(crate::flows::FlowError::UnknownRealm(_)) => return Err(ApiError(AdminError::NotFound("Realm"))),
        Err(e) => return Err(ApiError(AdminError::Flow(e))),
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    let caller = admin::authenticate(ctx, bearer(headers), Some(peer.ip().to_string())).await?;
    Ok(Call { realm, issuer, caller })
}

/// 201 with the new resource's address, as Keycloak answers a creation.
pub(super) fn created(location: &str, body: Option<serde_json::Value>) -> Response {
    let mut response = match body {
        Some(body) => (StatusCode::CREATED, axum::Json(body)).into_response(),
        None => StatusCode::CREATED.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    crate::http::web::no_store(&mut response);
    response
}

/// A JSON answer that no cache keeps (members' data).
pub(super) fn json<T: serde::Serialize>(value: T) -> Response {
    let mut response = axum::Json(value).into_response();
    crate::http::web::no_store(&mut response);
    response
}
