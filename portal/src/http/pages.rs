//! The pages a member sees before logging in.

use crate::app::AppState;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::store::KenpoStore;
use crate::templates::{ErrorPage, TopPage};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// The services of the standard edition, in the manual's order (top-page icons).
pub const SERVICES: &[&str] =
    &["notices", "medical_expenses", "benefits", "prescriptions", "etax", "checkups"];

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(top)).route("/static/portal.css", get(stylesheet)).fallback(not_found)
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

fn locale(query: &LangQuery, headers: &HeaderMap) -> Locale {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Locale::negotiate(query.lang.as_deref(), accept)
}

/// The kenpo this request is for: by its Host, else the configured default.
async fn kenpo_name(state: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(host) = host
        && let Some(kenpo) = state.db.kenpo_by_host(&host.to_ascii_lowercase()).await?
    {
        return Ok(kenpo.display_name);
    }
    Ok(state.config.kenpo_name.clone())
}

async fn top(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    let locale = locale(&query, &headers);
    let name = kenpo_name(&state, &headers).await?;
    Ok(Html(state.templates.render("top.html", locale, &name, TopPage { services: SERVICES })?))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/portal.css"),
    )
}

async fn not_found(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let locale = locale(&query, &headers);
    let name = kenpo_name(&state, &headers).await?;
    let page = ErrorPage { title_key: "error.not_found.title", body_key: "error.not_found.body" };
    let html = state.templates.render("error.html", locale, &name, page)?;
    Ok((StatusCode::NOT_FOUND, Html(html)).into_response())
}
