//! The portal's one error type at the HTTP edge: a 500 logs its cause and shows a generic page.

use crate::i18n::Locale;
use crate::store::StoreError;
use crate::templates::{ErrorPage, Templates};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::sync::LazyLock;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
}

/// Templates for the error page itself, so a failure does not depend on the state that failed.
static ERROR_TEMPLATES: LazyLock<Option<Templates>> = LazyLock::new(|| Templates::new().ok());

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "request failed");
        let page = ErrorPage { title_key: "error.server.title", body_key: "error.server.body" };
        let html = ERROR_TEMPLATES
            .as_ref()
            .and_then(|t| t.render("error.html", Locale::Ja, "", page).ok())
            .unwrap_or_else(|| "ただいま表示できません。".to_owned());
        (StatusCode::INTERNAL_SERVER_ERROR, Html(html)).into_response()
    }
}
