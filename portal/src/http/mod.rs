//! HTTP: one `routes()` per concern, merged here, with the security headers every response
//! carries (`shared_runtime::pages`).

mod health;
mod import_api;
mod pages;

use crate::app::AppState;
use axum::Router;

pub use pages::SERVICES;

pub fn router(state: AppState) -> Router {
    let https = state.config.public_url.starts_with("https://");
    shared_runtime::pages::with_security_headers(
        Router::new()
            .merge(health::routes())
            .merge(import_api::routes())
            .merge(pages::routes())
            .with_state(state),
        shared_runtime::pages::CSP,
        https,
    )
}
