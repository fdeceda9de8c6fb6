//! HTTP: one `routes()` per concern, merged here. Handlers translate; flows decide.

mod health;
mod realm;

use crate::app::AppState;
use axum::Router;

/// Paths, shared by the router and what advertises them.
pub mod paths {
    pub const HEALTH_LIVE: &str = "/health/live";
    pub const HEALTH_READY: &str = "/health/ready";
    pub const REALM: &str = "/realms/{realm}";
    pub const CERTS: &str = "/realms/{realm}/protocol/openid-connect/certs";
}

pub fn router(state: AppState) -> Router {
    Router::new().merge(health::routes()).merge(realm::routes()).with_state(state)
}
