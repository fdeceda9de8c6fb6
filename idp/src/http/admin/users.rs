//! `/admin/realms/{realm}/users…` and brute-force detection.

use super::{ApiError, Call, bad_body, bad_query, created, json};
use crate::app::AppState;
use crate::flows::admin::repr::{CredentialRepresentation, UserRepresentation};
use crate::flows::admin::user_search::{self, SearchParams};
use crate::flows::admin::{user_access, users};
use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

pub const USERS: &str = "/admin/realms/{realm}/users";
pub const USERS_COUNT: &str = "/admin/realms/{realm}/users/count";
pub const USER: &str = "/admin/realms/{realm}/users/{id}";
pub const CREDENTIALS: &str = "/admin/realms/{realm}/users/{id}/credentials";
pub const CREDENTIAL: &str = "/admin/realms/{realm}/users/{id}/credentials/{credential}";
pub const RESET_PASSWORD: &str = "/admin/realms/{realm}/users/{id}/reset-password";
pub const RESET_SECOND_FACTORS: &str = "/admin/realms/{realm}/users/{id}/reset-second-factors";
pub const DISPLAY_NAME: &str = "/admin/realms/{realm}/users/{id}/display-name";
pub const EXECUTE_ACTIONS_EMAIL: &str = "/admin/realms/{realm}/users/{id}/execute-actions-email";
pub const LOGOUT: &str = "/admin/realms/{realm}/users/{id}/logout";
pub const SESSIONS: &str = "/admin/realms/{realm}/users/{id}/sessions";
pub const BRUTE_FORCE: &str = "/admin/realms/{realm}/attack-detection/brute-force/users/{id}";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(USERS, get(search).post(create))
        .route(USERS_COUNT, get(count))
        .route(USER, get(read).put(update).delete(remove))
        .route(CREDENTIALS, get(credentials))
        .route(CREDENTIAL, axum::routing::delete(delete_credential))
        .route(RESET_PASSWORD, put(reset_password))
        .route(RESET_SECOND_FACTORS, post(reset_second_factors))
        .route(DISPLAY_NAME, put(display_name))
        .route(EXECUTE_ACTIONS_EMAIL, put(execute_actions_email))
        .route(LOGOUT, post(logout))
        .route(SESSIONS, get(sessions))
        .route(BRUTE_FORCE, get(brute_force).delete(unlock))
}

/// What changes of state answer: Keycloak's 204.
fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn search(
    State(state): State<AppState>,
    call: Call,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    Ok(json(user_search::search(call.ctx(&state), &call.caller, &params).await?))
}

async fn count(
    State(state): State<AppState>,
    call: Call,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    Ok(json(user_search::count(call.ctx(&state), &call.caller, &params).await?))
}

async fn create(
    State(state): State<AppState>,
    call: Call,
    body: Result<Json<UserRepresentation>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(rep) = body.map_err(bad_body)?;
    let id = users::create(call.ctx(&state), &call.caller, &state.hashing, &rep).await?;
    Ok(created(
        &format!("{}/admin/realms/{}/users/{id}", state.config.public_url, call.realm.name.as_str()),
        None,
    ))
}

async fn read(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(users::get(call.ctx(&state), &call.caller, &id).await?))
}

async fn update(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
    body: Result<Json<UserRepresentation>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(rep) = body.map_err(bad_body)?;
    if users::update(call.ctx(&state), &call.caller, &id, &rep).await? > 0 {
        state.backchannel.notify_one();
    }
    Ok(no_content())
}

async fn remove(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    users::delete(call.ctx(&state), &call.caller, &id).await?;
    state.backchannel.notify_one();
    Ok(no_content())
}

async fn credentials(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(user_access::credentials(call.ctx(&state), &call.caller, &id).await?))
}

async fn delete_credential(
    State(state): State<AppState>,
    call: Call,
    Path((_, id, credential)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    user_access::delete_credential(call.ctx(&state), &call.caller, &id, &credential).await?;
    Ok(no_content())
}

async fn reset_password(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
    body: Result<Json<CredentialRepresentation>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(rep) = body.map_err(bad_body)?;
    user_access::reset_password(call.ctx(&state), &call.caller, &state.hashing, &id, &rep).await?;
    Ok(no_content())
}

async fn reset_second_factors(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let reset = user_access::reset_second_factors(call.ctx(&state), &call.caller, &id).await?;
    state.backchannel.notify_one();
    state.mail_outbox.notify_one();
    Ok(json(serde_json::json!({
        "removed": reset.removed,
        "sessionsEnded": reset.sessions_ended,
        "mailed": reset.mailed,
    })))
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DisplayName {
    display_name: String,
}

async fn display_name(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
    body: Result<Json<DisplayName>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(bad_body)?;
    users::set_display_name(call.ctx(&state), &call.caller, &id, &body.display_name).await?;
    Ok(no_content())
}

#[derive(Debug, Default, serde::Deserialize)]
struct ActionsQuery {
    lifespan: Option<u32>,
}

async fn execute_actions_email(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
    query: Result<Query<ActionsQuery>, QueryRejection>,
    body: Result<Json<Vec<String>>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(bad_query)?;
    let Json(actions) = body.map_err(bad_body)?;
    user_access::execute_actions_email(call.ctx(&state), &call.caller, &id, &actions, query.lifespan).await?;
    state.mail_outbox.notify_one();
    Ok(no_content())
}

async fn logout(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    user_access::logout(call.ctx(&state), &call.caller, &id).await?;
    state.backchannel.notify_one();
    Ok(no_content())
}

async fn sessions(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(user_access::sessions(call.ctx(&state), &call.caller, &id).await?))
}

async fn brute_force(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(user_access::brute_force(call.ctx(&state), &call.caller, &id).await?))
}

async fn unlock(
    State(state): State<AppState>,
    call: Call,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    user_access::unlock(call.ctx(&state), &call.caller, &id).await?;
    Ok(no_content())
}
