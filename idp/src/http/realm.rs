//! A realm's public face: Keycloak's realm info document and the signing keys (JWKS).

use super::paths;
use crate::app::AppState;
use crate::error::AppError;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new().route(paths::REALM, get(realm_info)).route(paths::CERTS, get(certs))
}

/// Keycloak's `GET /realms/{realm}` (PublishedRealmRepresentation), minus the RSA `public_key`
/// field: our default key is EC, and clients should read the JWKS anyway.
#[derive(Debug, Serialize)]
struct PublishedRealm {
    realm: String,
    #[serde(rename = "token-service")]
    token_service: String,
    #[serde(rename = "account-service")]
    account_service: String,
    #[serde(rename = "tokens-not-before")]
    tokens_not_before: i64,
}

async fn realm_info(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<Json<PublishedRealm>, AppError> {
    let realm = state.lookups.realm(&state.db, &realm).await?;
    let issuer = state.config.issuer(realm.name.as_str());
    Ok(Json(PublishedRealm {
        realm: realm.name.to_string(),
        token_service: format!("{issuer}/protocol/openid-connect"),
        account_service: format!("{issuer}/account"),
        tokens_not_before: 0,
    }))
}

async fn certs(
    State(state): State<AppState>,
    Path(realm): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let realm = state.lookups.realm(&state.db, &realm).await?;
    let jwks = state.keys.published(&state.db, &realm.id).await?;
    Ok(([(header::CACHE_CONTROL, "max-age=300")], Json(jwks.as_ref().clone())))
}
