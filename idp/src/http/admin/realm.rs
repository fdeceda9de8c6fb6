//! `/admin/realms`, `/admin/realms/{realm}`, its events and admin events, and the kenpo's terms.

use super::{ApiError, Call, QueryPairs, bad_body, call, created, json};
use crate::app::AppState;
use crate::flows::admin::events::{self, AdminEventParams, EventParams};
use crate::flows::admin::realm::{self, NewTerms};
use crate::flows::admin::{AdminError, repr::RealmRepresentation};
use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
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

async fn read(State(state): State<AppState>, call: Call) -> Result<Response, ApiError> {
    Ok(json(realm::get(call.ctx(&state), &call.caller).await?))
}

async fn update(
    State(state): State<AppState>,
    call: Call,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(bad_body)?;
    let now: RealmRepresentation = realm::update(call.ctx(&state), &call.caller, &body).await?;
    Ok(json(now))
}

async fn events(
    State(state): State<AppState>,
    call: Call,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let p = QueryPairs::parse(query);
    let params = EventParams {
        types: p.all("type"),
        client: p.one("client"),
        user: p.one("user"),
        ip_address: p.one("ipAddress"),
        date_from: p.one("dateFrom"),
        date_to: p.one("dateTo"),
        first: p.number("first")?,
        max: p.number("max")?,
    };
    Ok(json(events::events(call.ctx(&state), &call.caller, &params).await?))
}

async fn admin_events(
    State(state): State<AppState>,
    call: Call,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let p = QueryPairs::parse(query);
    let params = AdminEventParams {
        operation_types: p.all("operationTypes"),
        resource_types: p.all("resourceTypes"),
        resource_path: p.one("resourcePath"),
        auth_client: p.one("authClient"),
        auth_user: p.one("authUser"),
        auth_ip_address: p.one("authIpAddress"),
        date_from: p.one("dateFrom"),
        date_to: p.one("dateTo"),
        first: p.number("first")?,
        max: p.number("max")?,
    };
    Ok(json(events::admin_events(call.ctx(&state), &call.caller, &params).await?))
}

async fn publish_terms(
    State(state): State<AppState>,
    call: Call,
    body: Result<Json<NewTerms>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(terms) = body.map_err(bad_body)?;
    let published = realm::publish_terms(call.ctx(&state), &call.caller, &terms).await?;
    let location = format!(
        "{}/admin/realms/{}/terms/{}",
        state.config.public_url,
        call.realm.name.as_str(),
        published.version
    );
    Ok(created(&location, serde_json::to_value(published).ok()))
}
