//! `/admin/realms`, `/admin/realms/{realm}`, its events and admin events, and the kenpo's terms.

use super::{ApiError, bad_body, call, created, json};
use crate::app::AppState;
use crate::flows::admin::events::{self, AdminEventParams, EventParams};
use crate::flows::admin::realm::{self, NewTerms};
use crate::flows::admin::{AdminError, repr::RealmRepresentation};
use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value};
use std::net::SocketAddr;

pub const REALMS: &str = "/admin/realms";
pub const REALM: &str = "/admin/realms/{realm}";
pub const EVENTS: &str = "/admin/realms/{realm}/events";
pub const ADMIN_EVENTS: &str = "/admin/realms/{realm}/admin-events";
pub const TERMS: &str = "/admin/realms/{realm}/terms";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(REALMS, get(list))
        .route(REALM, get(read).put(update))
        .route(EVENTS, get(events))
        .route(ADMIN_EVENTS, get(admin_events))
        .route(TERMS, post(publish_terms))
}

type Peer = ConnectInfo<SocketAddr>;

/// `GET /admin/realms`: the realms the token may administer, which is the one that issued it
/// (read from its `iss`, then verified like any admin call).
async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let realm = issuing_realm(&state, &headers).ok_or(ApiError::from(AdminError::Unauthenticated))?;
    let call = call(&state, &realm, &headers, peer)
        .await
        .map_err(|_| ApiError::from(AdminError::Unauthenticated))?;
    let shown = realm::get(call.ctx(&state), &call.caller).await?;
    Ok(json(vec![shown]))
}

/// The realm name in an (unverified) token's `iss`, when it is one of ours.
fn issuing_realm(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let token = super::bearer(headers)?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    let iss = claims.get("iss")?.as_str()?;
    let prefix = format!("{}/realms/", state.config.public_url);
    iss.strip_prefix(&prefix).filter(|name| !name.contains('/')).map(str::to_owned)
}

async fn read(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    Ok(json(realm::get(call.ctx(&state), &call.caller).await?))
}

async fn update(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    let Json(body) = body.map_err(bad_body)?;
    let now: RealmRepresentation = realm::update(call.ctx(&state), &call.caller, &body).await?;
    Ok(json(now))
}

/// Query pairs, a repeated name giving several values.
fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    crate::http::web::pairs(raw.unwrap_or_default().as_bytes())
}

fn one(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}

fn number(pairs: &[(String, String)], name: &str) -> Result<Option<u32>, ApiError> {
    one(pairs, name)
        .map(|v| {
            v.parse::<u32>().map_err(|_| ApiError::from(AdminError::invalid(format!("{name}: a number"))))
        })
        .transpose()
}

async fn events(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    let p = query_pairs(query);
    let params = EventParams {
        types: all(&p, "type"),
        client: one(&p, "client"),
        user: one(&p, "user"),
        ip_address: one(&p, "ipAddress"),
        date_from: one(&p, "dateFrom"),
        date_to: one(&p, "dateTo"),
        first: number(&p, "first")?,
        max: number(&p, "max")?,
    };
    Ok(json(events::events(call.ctx(&state), &call.caller, &params).await?))
}

async fn admin_events(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    let p = query_pairs(query);
    let params = AdminEventParams {
        operation_types: all(&p, "operationTypes"),
        resource_types: all(&p, "resourceTypes"),
        resource_path: one(&p, "resourcePath"),
        auth_client: one(&p, "authClient"),
        auth_user: one(&p, "authUser"),
        auth_ip_address: one(&p, "authIpAddress"),
        date_from: one(&p, "dateFrom"),
        date_to: one(&p, "dateTo"),
        first: number(&p, "first")?,
        max: number(&p, "max")?,
    };
    Ok(json(events::admin_events(call.ctx(&state), &call.caller, &params).await?))
}

async fn publish_terms(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    body: Result<Json<NewTerms>, JsonRejection>,
) -> Result<Response, ApiError> {
    let call = call(&state, &realm, &headers, peer).await?;
    let Json(terms) = body.map_err(bad_body)?;
    let published = realm::publish_terms(call.ctx(&state), &call.caller, &terms).await?;
    let location = format!("{}/admin/realms/{realm}/terms/{}", state.config.public_url, published.version);
    Ok(created(&location, serde_json::to_value(published).ok()))
}
