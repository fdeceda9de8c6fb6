//! Liveness and readiness for orchestrators and the launcher.

use crate::app::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/health/live", get(live)).route("/health/ready", get(ready))
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
}

async fn live() -> Json<Health> {
    Json(Health { status: "UP" })
}

/// Ready when the database (and Redis, when configured) answer. Failures are logged, not shown.
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let mut up = state.db.ping().await.map_err(|e| tracing::warn!(error = %e, "database not ready")).is_ok();
    if let Some(redis) = &state.redis {
        let mut conn = redis.0.clone();
        let pong: Result<(), _> = redis::cmd("PING").query_async(&mut conn).await;
        up &= pong.map_err(|e| tracing::warn!(error = %e, "redis not ready")).is_ok();
    }
    let status = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Health { status: if up { "UP" } else { "DOWN" } }))
}
