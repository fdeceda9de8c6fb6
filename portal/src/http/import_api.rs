//! `POST /api/import/{kind}`: the kenpo's systems push a CSV file with a bearer token. The
//! handler translates HTTP; `import::run` decides and `store` writes.

use crate::app::AppState;
use crate::import::{ImportError, LineError, ReasonCode};
use crate::import::{ImportKind, ImportLimits, ImportOptions, Refusal, import_file, token_digest};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const IMPORT: &str = "/api/import/{kind}";

pub fn routes() -> Router<AppState> {
    // The body is read by `import` itself, up to the import limit, so that an oversized file gets
    // the same JSON answer as every other refusal.
    Router::new().route(IMPORT, post(import)).layer(DefaultBodyLimit::disable())
}

#[derive(Debug, Deserialize)]
struct ImportQuery {
    file_name: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// Errors other than line errors: `{ "error": "...", "message_ja": ..., "message_en": ... }`.
#[derive(Debug, Serialize)]
struct ApiError {
    error: &'static str,
    message_ja: &'static str,
    message_en: &'static str,
}

fn api_error(status: StatusCode, error: &'static str, ja: &'static str, en: &'static str) -> Response {
    (status, Json(ApiError { error, message_ja: ja, message_en: en })).into_response()
}

fn unauthorized() -> Response {
    let mut response = api_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "有効な API トークンが必要です",
        "a valid API token is required",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"kenpo-portal import\""),
    );
    response
}

async fn import(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else { return unauthorized() };
    // Looked up by digest: no byte of the secret is compared, so timing tells nothing about it.
    let digest = token_digest(token);
    let kenpo = match state.db.kenpo_of_import_token(&digest).await {
        Ok(Some(kenpo)) => kenpo,
        Ok(None) => return unauthorized(),
        Err(e) => return server_error(&e),
    };
    let Some(kind) = ImportKind::parse(&kind) else {
        return api_error(StatusCode::NOT_FOUND, "unknown_kind", "不明な種別です", "unknown import kind");
    };
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv")));
    if !is_csv {
        return api_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type は text/csv にしてください",
            "the Content-Type must be text/csv",
        );
    }
    let limits = ImportLimits::default();
    let Ok(bytes) = axum::body::to_bytes(body, limits.max_file_bytes).await else {
        let refusal =
            Refusal::new(&[LineError::file(ReasonCode::FileTooLarge { max: limits.max_file_bytes })]);
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(refusal)).into_response();
    };
    let options = ImportOptions {
        file_name: query.file_name.unwrap_or_else(|| format!("{kind}.csv")),
        dry_run: query.dry_run,
        limits,
    };
    match import_file(&state.db, &kenpo, kind, &bytes, &options, OffsetDateTime::now_utc()).await {
        Ok(report) => Json(report).into_response(),
        Err(ImportError::Refused(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(Refusal::new(&errors))).into_response()
        }
        Err(ImportError::Store(e)) => server_error(&e),
    }
}

fn server_error(e: &crate::store::StoreError) -> Response {
    tracing::error!(error = %e, "import failed");
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "取り込みに失敗しました。しばらくしてから再送してください",
        "the import failed; please send the file again later",
    )
}
