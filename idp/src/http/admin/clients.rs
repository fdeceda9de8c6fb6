//! `/admin/realms/{realm}/clients…`.

use super::{ApiError, Call, QueryPairs, bad_body, created, json};
use crate::app::AppState;
use crate::flows::admin::clients;
use crate::flows::admin::repr::ClientRepresentation;
use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub const CLIENTS: &str = "/admin/realms/{realm}/clients";
pub const CLIENT: &str = "/admin/realms/{realm}/clients/{id}";
pub const CLIENT_SECRET: &str = "/admin/realms/{realm}/clients/{id}/client-secret";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(CLIENTS, get(list).post(create))
        .route(CLIENT, get(read).put(update).delete(remove))
        .route(CLIENT_SECRET, get(secret).post(regenerate))
}

async fn list(
    State(state): State<AppState>,
    call: Call,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let p = QueryPairs::parse(query);
    let (first, max) = (p.number("first")?, p.number("max")?);
    Ok(json(clients::list(call.ctx(&state), &call.caller, p.one("clientId").as_deref(), first, max).await?))
}

async fn create(
    State(state): State<AppState>,
    call: Call,
    body: Result<Json<ClientRepresentation>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(rep) = body.map_err(bad_body)?;
    let made = clients::create(call.ctx(&state), &call.caller, &rep).await?;
    let id = made.id.clone().unwrap_or_default();
    let location =
        format!("{}/admin/realms/{}/clients/{id}", state.config.public_url, call.realm.name.as_str());
    Ok(created(&location, serde_json::to_value(made).ok()))
}

async fn read(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(clients::get(call.ctx(&state), &call.caller, &id).await?))
}

async fn update(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
    body: Result<Json<ClientRepresentation>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(rep) = body.map_err(bad_body)?;
    // A secret made by the change (a public client turned confidential) is shown this once.
    Ok(match clients::update(call.ctx(&state), &call.caller, &id, &rep).await? {
        Some(secret) => json(serde_json::json!({ "type": "secret", "value": secret })),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

async fn remove(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    clients::delete(call.ctx(&state), &call.caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn secret(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(clients::secret(call.ctx(&state), &call.caller, &id).await?))
}

async fn regenerate(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(clients::regenerate_secret(call.ctx(&state), &call.caller, &id).await?))
}
