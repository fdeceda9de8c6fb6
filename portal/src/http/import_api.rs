//! `POST /api/import/{kind}`: the kenpo's systems push a CSV file with a bearer token;
//! `POST /api/import/checkups` takes a 特定健診 CDA XML or submission ZIP the same way. The
//! handlers translate HTTP; `import::run` and `flows::checkups` decide and `store` writes.

use super::kenpo_api::{api_error, bearer};
use crate::app::AppState;
use crate::domain::KenpoId;
use crate::flows::checkups::{self, DocumentError};
use crate::import::{ImportError, LineError, ReasonCode};
use crate::import::{ImportKind, ImportLimits, ImportOptions, Refusal, import_file, token_digest};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use time::OffsetDateTime;

pub const IMPORT: &str = "/api/import/{kind}";
/// Matched before [`IMPORT`]: a literal segment wins over a parameter.
pub const IMPORT_CHECKUPS: &str = "/api/import/checkups";

/// The media types a checkup file may be sent as.
const CHECKUP_TYPES: [&str; 3] = ["application/xml", "text/xml", "application/zip"];

pub fn routes() -> Router<AppState> {
    // The body is read by the handlers themselves, up to the import limit, so that an oversized
    // file gets the same JSON answer as every other refusal.
    Router::new()
        .route(IMPORT_CHECKUPS, post(import_checkups))
        .route(IMPORT, post(import))
        .layer(DefaultBodyLimit::disable())
}

#[derive(Debug, Deserialize)]
struct ImportQuery {
    file_name: Option<String>,
    #[serde(default)]
    dry_run: bool,
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
    let kenpo = match authorize(&state, &headers).await {
        Ok(kenpo) => kenpo,
        Err(response) => return response,
    };
    let Some(kind) = ImportKind::parse(&kind) else {
        return api_error(StatusCode::NOT_FOUND, "unknown_kind", "不明な種別です", "unknown import kind");
    };
    if media_type(&headers).is_none_or(|m| m != "text/csv") {
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

async fn import_checkups(
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let kenpo = match authorize(&state, &headers).await {
        Ok(kenpo) => kenpo,
        Err(response) => return response,
    };
    let Some(media) = media_type(&headers).filter(|m| CHECKUP_TYPES.contains(&m.as_str())) else {
        return api_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type は application/xml、text/xml または application/zip にしてください",
            "the Content-Type must be application/xml, text/xml or application/zip",
        );
    };
    let limits = ImportLimits::default();
    let extension = if media == "application/zip" { "zip" } else { "xml" };
    let file_name = query.file_name.unwrap_or_else(|| format!("{}.{extension}", checkups::KIND));
    let Ok(bytes) = axum::body::to_bytes(body, limits.max_file_bytes).await else {
        let errors = [DocumentError::file_too_large(&file_name, limits.max_file_bytes)];
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(checkups::Refusal { errors: &errors })).into_response();
    };
    let options = ImportOptions { file_name, dry_run: query.dry_run, limits };
    match checkups::import(&state.db, &kenpo, &bytes, &options, OffsetDateTime::now_utc()).await {
        Ok(report) => Json(report).into_response(),
        Err(checkups::ImportError::Refused(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(checkups::Refusal { errors: &errors })).into_response()
        }
        Err(checkups::ImportError::Store(e)) => server_error(&e),
    }
}

/// The kenpo whose live API token the request carries; else the 401 (or 500) to answer.
async fn authorize(state: &AppState, headers: &HeaderMap) -> Result<KenpoId, Response> {
    let Some(token) = bearer(headers) else { return Err(unauthorized()) };
    // Looked up by digest: no byte of the secret is compared, so timing tells nothing about it.
    match state.db.kenpo_of_import_token(&token_digest(token)).await {
        Ok(Some(kenpo)) => Ok(kenpo),
        Ok(None) => Err(unauthorized()),
        Err(e) => Err(server_error(&e)),
    }
}

/// The Content-Type's media type, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    value.split(';').next().map(|m| m.trim().to_ascii_lowercase())
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
