//! The OpenID Connect endpoints of a realm, on Keycloak's paths.

mod authorize;
mod discovery;
mod logout;
mod token;
mod userinfo;

use crate::app::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(discovery::routes())
        .merge(authorize::routes())
        .merge(token::routes())
        .merge(userinfo::routes())
        .merge(logout::routes())
}
