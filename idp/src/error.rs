//! The HTTP edge's one error type. A 500 logs its cause and shows nothing of it.

use crate::flows::FlowError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Flow(e.into())
    }
}

/// The body of an error: the RFC 6749 §5.2 shape, which Keycloak also uses outside OAuth.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, error, description) = match &self {
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", Some(format!("{what} not found"))),
            Self::Flow(FlowError::UnknownRealm(_)) => {
                (StatusCode::NOT_FOUND, "not_found", Some("Realm does not exist".to_owned()))
            }
            Self::Flow(FlowError::Invalid { .. }) => {
                (StatusCode::BAD_REQUEST, "invalid_request", Some(self.to_string()))
            }
            Self::Flow(_) => {
                tracing::error!(error = %self, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error", None)
            }
        };
        (status, Json(ErrorBody { error, error_description: description })).into_response()
    }
}
