//! OpenID Provider metadata (OIDC Discovery 1.0 §3) and OAuth server metadata (RFC 8414), on
//! Keycloak's paths.

use crate::app::AppState;
use crate::flows::mfa;
use crate::http::{paths, web};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new().route(paths::DISCOVERY, get(metadata)).route(paths::AS_METADATA, get(metadata))
}

/// What we implement, and nothing more.
#[derive(Debug, Serialize)]
pub struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    scopes_supported: [&'static str; 6],
    response_types_supported: [&'static str; 1],
    response_modes_supported: [&'static str; 1],
    grant_types_supported: [&'static str; 3],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: [&'static str; 3],
    userinfo_signing_alg_values_supported: [&'static str; 0],
    token_endpoint_auth_methods_supported: [&'static str; 4],
    token_endpoint_auth_signing_alg_values_supported: [&'static str; 3],
    introspection_endpoint_auth_methods_supported: [&'static str; 3],
    revocation_endpoint_auth_methods_supported: [&'static str; 4],
    code_challenge_methods_supported: [&'static str; 1],
    claims_supported: [&'static str; 17],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    require_request_uri_registration: bool,
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
    frontchannel_logout_supported: bool,
    authorization_response_iss_parameter_supported: bool,
    ui_locales_supported: [&'static str; 2],
    claims_locales_supported: [&'static str; 2],
    acr_values_supported: [&'static str; 2],
}

const SIGNING: [&str; 3] = ["ES256", "RS256", "EdDSA"];

async fn metadata(State(state): State<AppState>, Path(realm): Path<String>) -> Response {
    let realm = match state.lookups.realm(&state.db, &realm).await {
        Ok(realm) => realm,
        Err(_) => {
            return web::oauth_error(
                StatusCode::NOT_FOUND,
                "not_found",
                Some("Realm does not exist".to_owned()),
            );
        }
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let endpoint = |suffix: &str| format!("{issuer}{suffix}");
    Json(Metadata {
        authorization_endpoint: endpoint(paths::suffix::AUTH),
        token_endpoint: endpoint(paths::suffix::TOKEN),
        userinfo_endpoint: endpoint(paths::suffix::USERINFO),
        jwks_uri: endpoint(paths::suffix::CERTS),
        end_session_endpoint: endpoint(paths::suffix::LOGOUT),
        revocation_endpoint: endpoint(paths::suffix::REVOKE),
        introspection_endpoint: endpoint(paths::suffix::INTROSPECT),
        issuer,
        scopes_supported: ["openid", "profile", "email", "address", "phone", "offline_access"],
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: SIGNING,
        userinfo_signing_alg_values_supported: [],
        token_endpoint_auth_methods_supported: [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        token_endpoint_auth_signing_alg_values_supported: SIGNING,
        introspection_endpoint_auth_methods_supported: [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        revocation_endpoint_auth_methods_supported: [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        code_challenge_methods_supported: ["S256"],
        claims_supported: [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            "azp",
            "name",
            "preferred_username",
            "email",
            "email_verified",
            "birthdate",
            "locale",
        ],
        claims_parameter_supported: true,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        require_request_uri_registration: false,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        frontchannel_logout_supported: false,
        authorization_response_iss_parameter_supported: true,
        ui_locales_supported: ["ja", "en"],
        claims_locales_supported: ["ja", "en"],
        acr_values_supported: [mfa::ACR_ONE_FACTOR, mfa::ACR_TWO_FACTORS],
    })
    .into_response()
}
