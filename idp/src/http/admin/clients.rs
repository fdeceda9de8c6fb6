//! `/admin/realms/{realm}/clients…`.

use super::{ApiError, bad_body, call, created, json};
use crate::app::AppState;
use crate::flows::admin::clients;
use crate::flows::admin::repr::ClientRepresentation;
use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;

pub const CLIENTS: &str = "/admin/realms/{realm}/clients";
pub const CLIENT: &str = "/admin/realms/{realm}/clients/{id}";
pub const CLIENT_SECRET: &str = "/admin/realms/{realm}/clients/{id}/client-secret";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(CLIENTS, get(list).post(create))
        .route(CLIENT, get(read).put(update).delete(remove))
        .route(CLIENT_SECRET, get(secret).post(regenerate))
}

type Peer = ConnectInfo<SocketAddr>;

async fn list(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    let params = crate::http::web::pairs(query.unwrap_or_default().as_bytes());
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let number = |name: &str| -> Result<Option<u32>, ApiError> {
        get(name)
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    ApiError::from(crate::flows::admin::AdminError::invalid(format!("{name}: a number")))
                })
            })
            .transpose()
    };
    let (first, max) = (number("first")?, number("max")?);
    Ok(json(clients::list(call.ctx(&state), &call.caller, get("clientId"), first, max).await?))
}

async fn create(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    body: Result<Json<ClientRepresentation>, JsonRejection>,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    let Json(rep) = body.map_err(bad_body)?;
    let made = clients::create(call.ctx(&state), &call.caller, &rep).await?;
    let id = made.id.clone().unwrap_or_default();
    let location = format!("{}/admin/realms/{realm}/clients/{id}", state.config.public_url);
    Ok(created(&location, serde_json::to_value(made).ok()))
}

async fn read(
    State(state): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    Ok(json(clients::get(call.ctx(&state), &call.caller, &id).await?))
}

async fn update(
    State(state): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    body: Result<Json<ClientRepresentation>, JsonRejection>,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    let Json(rep) = body.map_err(bad_body)?;
    // A secret made by the change (a public client turned confidential) is shown this once.
    Ok(match clients::update(call.ctx(&state), &call.caller, &id, &rep).await? {
        Some(secret) => json(serde_json::json!({ "type": "secret", "value": secret })),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn remove(
    State(state): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    clients::delete(call.ctx(&state), &call.caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn secret(
    State(state): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    Ok(json(clients::secret(call.ctx(&state), &call.caller, &id).await?))
}

async fn regenerate(
    State(state): State<AppState>,
    Path((realm, id)): Path<(String, String)>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    Ok(json(clients::regenerate_secret(call.ctx(&state), &call.caller, &id).await?))
}
