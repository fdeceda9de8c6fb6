//! The top page, the help pages (ご利用案内, よくある質問) and the stylesheet.

use super::member::Visitor;
use crate::app::AppState;
use crate::error::AppError;
use crate::faq;
use crate::flows::{notices, survey};
use crate::templates::{ErrorPage, TopPage};
use crate::tenant::Service;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(top))
        .route("/guide", get(guide))
        .route("/faq", get(faq_page))
        .route("/static/portal.css", get(stylesheet))
        .fallback(not_found)
}

/// Renders a page of `visitor`'s, or the error page in their language.
pub fn page<P: Serialize>(state: &AppState, visitor: &Visitor, name: &str, page: P) -> Response {
    let chrome = visitor.chrome();
    match state.templates.render(name, visitor.locale, &chrome, page) {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::from(e).render(visitor.locale, &visitor.kenpo.display_name),
    }
}

async fn top(State(state): State<AppState>, visitor: Visitor) -> Response {
    let refresh_day = visitor.kenpo.settings.refresh_day;
    // お知らせ are for the kenpo's signed-in members only; the signed-out page has none.
    let loaded = async {
        let Some(who) = &visitor.member else { return Ok((Vec::new(), None)) };
        let latest = notices::latest(&state.db, &visitor.kenpo.id, state.clock.now()).await?;
        let banner = survey::banner(&state.db, &who.member).await?;
        Ok::<_, crate::store::StoreError>((latest, banner))
    };
    match loaded.await {
        Ok((latest, survey_banner)) => {
            let notices = latest.iter().map(super::notices::line).collect();
            page(&state, &visitor, "top.html", TopPage { refresh_day, notices, survey_banner })
        }
        Err(e) => AppError::from(e).render(visitor.locale, &visitor.kenpo.display_name),
    }
}

#[derive(Serialize)]
struct GuidePage {
    all_services: Vec<&'static str>,
}

async fn guide(State(state): State<AppState>, visitor: Visitor) -> Response {
    let all_services = Service::ALL.iter().map(|s| s.key()).collect();
    page(&state, &visitor, "guide.html", GuidePage { all_services })
}

#[derive(Serialize)]
struct FaqPage<'a> {
    categories: &'a [faq::Category],
}

async fn faq_page(State(state): State<AppState>, visitor: Visitor) -> Response {
    match faq::for_kenpo(&state.db, &visitor.kenpo.id, visitor.locale).await {
        Ok(categories) => page(&state, &visitor, "faq.html", FaqPage { categories: &categories }),
        Err(e) => AppError::from(e).render(visitor.locale, &visitor.kenpo.display_name),
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/portal.css"),
    )
}

async fn not_found(State(state): State<AppState>, visitor: Visitor) -> Response {
    let body = page(
        &state,
        &visitor,
        "error.html",
        ErrorPage { title_key: "error.not_found.title", body_key: "error.not_found.body" },
    );
    (StatusCode::NOT_FOUND, body).into_response()
}
