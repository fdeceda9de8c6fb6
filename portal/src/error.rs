//! The portal's one error type at the HTTP edge. A 500 logs its cause and shows a generic page;
//! what a member can cause (a bad link, an expired login) gets its own page in their language.

use crate::flows::access::Refusal;
use crate::flows::auth::AuthError;
use crate::i18n::Locale;
use crate::oidc::RpError;
use crate::session::SessionError;
use crate::store::StoreError;
use crate::templates::{Chrome, ErrorPage, Templates};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::sync::LazyLock;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("not found")]
    NotFound,
    /// A form without this session's token.
    #[error("form token missing or wrong")]
    Csrf,
    #[error("access refused: {0:?}")]
    Refused(Refusal),
    #[error("document: {0}")]
    Document(String),
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

/// Templates for the error page itself, so a failure does not depend on the state that failed.
static ERROR_TEMPLATES: LazyLock<Option<Templates>> = LazyLock::new(|| Templates::new().ok());

impl AppError {
    fn page(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::NotFound | Self::Refused(Refusal::ServiceOff) => {
                (StatusCode::NOT_FOUND, "error.not_found.title", "error.not_found.body")
            }
            Self::Refused(Refusal::EligibilityLost) => {
                (StatusCode::FORBIDDEN, "error.eligibility.title", "error.eligibility.body")
            }
            Self::Csrf => (StatusCode::FORBIDDEN, "error.csrf.title", "error.csrf.body"),
            Self::Auth(AuthError::NotAMember) => {
                (StatusCode::FORBIDDEN, "error.not_member.title", "error.not_member.body")
            }
            Self::Auth(
                AuthError::UnknownLogin
                | AuthError::Refused(_)
                | AuthError::Rp(RpError::CodeRefused(_) | RpError::IdToken(_)),
            ) => (StatusCode::BAD_REQUEST, "error.login.title", "error.login.body"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "error.server.title", "error.server.body"),
        }
    }

    /// The error page in the member's language, with the kenpo's name.
    pub fn render(&self, locale: Locale, kenpo_name: &str) -> Response {
        let (status, title_key, body_key) = self.page();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, "request refused");
        }
        let html = ERROR_TEMPLATES
            .as_ref()
            .and_then(|t| {
                t.render("error.html", locale, &Chrome::bare(kenpo_name), ErrorPage { title_key, body_key })
                    .ok()
            })
            .unwrap_or_else(|| "ただいま表示できません。".to_owned());
        (status, Html(html)).into_response()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.render(Locale::Ja, "")
    }
}
