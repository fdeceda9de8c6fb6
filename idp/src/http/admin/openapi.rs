//! The admin API's OpenAPI document, written with the API (`idp/openapi/admin-api.json`); a
//! test checks that every path it names answers and every route is in it.

use crate::app::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub const OPENAPI: &str = "/admin/openapi.json";

/// The document itself.
pub const DOCUMENT: &str = include_str!("../../../openapi/admin-api.json");

pub fn routes() -> Router<AppState> {
    Router::new().route(OPENAPI, get(document))
}

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=3600")], DOCUMENT)
}
