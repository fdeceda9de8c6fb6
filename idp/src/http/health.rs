//! Liveness and readiness, on Keycloak's paths, for orchestrators and the launcher.

use super::paths;
use crate::app::AppState;
use crate::ephemeral::EphemeralStore;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new().route(paths::HEALTH_LIVE, get(live)).route(paths::HEALTH_READY, get(ready))
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    checks: Vec<Check>,
}

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    status: &'static str,
}

async fn live() -> Json<Health> {
    Json(Health { status: "UP", checks: Vec::new() })
}

/// Ready when the database and the ephemeral store answer. Failures are logged, not shown.
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = state.db.ping().await.map_err(|e| tracing::warn!(error = %e, "database not ready"));
    let ephemeral =
        state.ephemeral.ping().await.map_err(|e| tracing::warn!(error = %e, "ephemeral store not ready"));
    let check = |name, ok: bool| Check { name, status: if ok { "UP" } else { "DOWN" } };
    let checks = vec![check("database", database.is_ok()), check(state.ephemeral.kind(), ephemeral.is_ok())];
    let up = database.is_ok() && ephemeral.is_ok();
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Health { status: if up { "UP" } else { "DOWN" }, checks }))
}
