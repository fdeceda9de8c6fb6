//! The kenpo API for お知らせ (role `manage-notices`): publish, list (paged), read, replace and
//! delete notices and download their files back; MYメール is `messages_api`. JSON in and out;
//! errors are the kenpo API's `{error, message_ja, message_en}`, with `errors` listing each
//! fault of a refused notice or message.
//!
//! Attachments travel inside the notice's JSON as base64 (`content_base64`) rather than as
//! multipart parts: a notice and its files are one document that is checked, stored and
//! replaced as a whole, so one request body in one encoding says it all, and the files are
//! small (`flows::notices::MAX_ATTACHMENT_BYTES`, at most `MAX_ATTACHMENTS`).

use super::kenpo_api::{ApiJson, Authorized, ManageNotices, api_error, server_error};
use super::notices::content_disposition;
use crate::app::AppState;
use crate::domain::NoticeId;
use crate::flows::notices::{
    self, ApiPage, Draft, DraftError, DraftFile, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, PagingError,
    WriteError, page_count,
};
use crate::store::{Notice, NoticeStore};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::offset;

pub const NOTICES: &str = "/api/kenpo/notices";
pub const NOTICE: &str = "/api/kenpo/notices/{id}";
pub const ATTACHMENT: &str = "/api/kenpo/notices/{id}/attachments/{n}";

/// A notice with every file at its largest, in base64, and room for the text.
const MAX_BODY_BYTES: usize = MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES / 3 * 4 + 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(NOTICES, post(create).get(list))
        .route(NOTICE, get(read).put(replace).delete(delete))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route(ATTACHMENT, get(download))
        .merge(super::messages_api::routes())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    category: String,
    title: String,
    body: String,
    published_at: String,
    #[serde(default)]
    expires_at: Option<String>,
    /// Absent on PUT: the notice keeps its files; `[]` removes them.
    #[serde(default)]
    attachments: Option<Vec<FileBody>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBody {
    file_name: String,
    content_base64: String,
}

#[derive(Debug, Serialize)]
struct NoticeView {
    id: String,
    category: &'static str,
    title: String,
    body: String,
    /// RFC 3339 in Japan time.
    published_at: String,
    expires_at: Option<String>,
    attachments: Vec<FileView>,
}

#[derive(Debug, Serialize)]
struct FileView {
    id: String,
    file_name: String,
    media_type: String,
    size_bytes: i64,
    /// Where the API gives the file back.
    url: String,
}

#[derive(Debug, Serialize)]
struct NoticeList {
    notices: Vec<NoticeView>,
    #[serde(flatten)]
    listing: Listing,
}

/// `?page=&per_page=` of a kenpo API list.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    page: Option<String>,
    per_page: Option<String>,
}

/// The page of a kenpo API list asked for; a bad one (or a query that is not even `key=value`
/// pairs) is the API's 400, in both languages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paged(pub(super) ApiPage);

impl<S: Send + Sync> FromRequestParts<S> for Paged {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let bad = |e: PagingError| {
            api_error(StatusCode::BAD_REQUEST, "invalid_request", &e.message_ja(), &e.to_string())
        };
        let Ok(Query(q)) = Query::<PageQuery>::from_request_parts(parts, state).await else {
            return Err(bad(PagingError::Page));
        };
        notices::api_paging(q.page.as_deref(), q.per_page.as_deref()).map(Self).map_err(bad)
    }
}

/// Where a page of a list stands: its number and size, the total, and the next page's path and
/// query (`null` on the last page).
#[derive(Debug, Serialize)]
pub(super) struct Listing {
    page: i64,
    per_page: i64,
    total: i64,
    next: Option<String>,
}

impl Listing {
    /// Page `at` of a list of `total` at `path`.
    pub(super) fn of(path: &str, at: ApiPage, total: i64) -> Self {
        let next = (at.page < page_count(total, at.per_page))
            .then(|| format!("{path}?page={}&per_page={}", at.page + 1, at.per_page));
        Self { page: at.page, per_page: at.per_page, total, next }
    }
}

/// One fault of a refused notice or message.
#[derive(Debug, Serialize)]
pub(super) struct Fault {
    pub(super) code: &'static str,
    pub(super) message_ja: String,
    pub(super) message_en: String,
}

/// A refusal listing every fault.
#[derive(Debug, Serialize)]
struct Invalid {
    error: &'static str,
    message_ja: &'static str,
    message_en: &'static str,
    errors: Vec<Fault>,
}

pub(super) fn invalid(faults: Vec<Fault>) -> Response {
    let body = Invalid {
        error: "invalid_request",
        message_ja: "内容に誤りがあります（errors を参照）",
        message_en: "the request is not valid (see errors)",
        errors: faults,
    };
    let mut response = (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

pub(super) fn rfc3339(millis: i64) -> String {
    shared_runtime::db::from_millis(millis).to_offset(offset!(+9)).format(&Rfc3339).unwrap_or_default()
}

fn view(n: &Notice) -> NoticeView {
    NoticeView {
        id: n.id.to_string(),
        category: n.fields.category.as_str(),
        title: n.fields.title.clone(),
        body: n.fields.body.clone(),
        published_at: rfc3339(n.fields.published_at),
        expires_at: n.fields.expires_at.map(rfc3339),
        attachments: n
            .attachments
            .iter()
            .map(|a| FileView {
                id: a.id.to_string(),
                file_name: a.file_name.clone(),
                media_type: a.media_type.clone(),
                size_bytes: a.size_bytes,
                url: format!("{NOTICES}/{}/attachments/{}", n.id, a.id),
            })
            .collect(),
    }
}

fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "not_found", "お知らせが見つかりません", "no such notice")
}

fn draft_fault(e: &DraftError) -> Fault {
    Fault { code: e.code(), message_ja: e.message_ja(), message_en: e.message_en() }
}

/// The wire body as the flow's draft: files decoded here, as they are the wire's encoding.
fn draft(body: NoticeBody) -> Result<Draft, Vec<Fault>> {
    let mut faults = Vec::new();
    let attachments = body.attachments.map(|files| {
        files
            .into_iter()
            .filter_map(|f| match base64::engine::general_purpose::STANDARD.decode(f.content_base64.trim()) {
                Ok(content) => Some(DraftFile { file_name: f.file_name, content }),
                Err(_) => {
                    faults.push(Fault {
                        code: "bad_base64",
                        message_ja: format!(
                            "添付ファイル「{}」の content_base64 が正しい base64 ではありません",
                            f.file_name
                        ),
                        message_en: format!(
                            "attachment {:?}: content_base64 is not valid base64",
                            f.file_name
                        ),
                    });
                    None
                }
            })
            .collect()
    });
    if !faults.is_empty() {
        return Err(faults);
    }
    Ok(Draft {
        category: body.category,
        title: body.title,
        body: body.body,
        published_at: body.published_at,
        expires_at: body.expires_at,
        attachments,
    })
}

fn write_error(e: WriteError) -> Response {
    match e {
        WriteError::Invalid(errors) => invalid(errors.iter().map(draft_fault).collect()),
        WriteError::NotFound => not_found(),
        WriteError::Store(e) => server_error(&e),
    }
}

async fn create(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    ApiJson(body): ApiJson<NoticeBody>,
) -> Response {
    let draft = match draft(body) {
        Ok(draft) => draft,
        Err(faults) => return invalid(faults),
    };
    match notices::create(&state.db, &caller.kenpo.id, draft, state.clock.now()).await {
        Ok(notice) => {
            let location = format!("{NOTICES}/{}", notice.id);
            (StatusCode::CREATED, [(header::LOCATION, location)], Json(view(&notice))).into_response()
        }
        Err(e) => write_error(e),
    }
}

async fn list(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    Paged(at): Paged,
) -> Response {
    match notices::for_kenpo(&state.db, &caller.kenpo.id, at.page, at.per_page).await {
        Ok(listed) => Json(NoticeList {
            notices: listed.items.iter().map(view).collect(),
            listing: Listing::of(NOTICES, at, listed.total),
        })
        .into_response(),
        Err(e) => server_error(&e),
    }
}

/// `GET …/attachments/{n}`: a file back as stored, `{n}` its id or its position from 1.
async fn download(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    let Some(id) = NoticeId::parse(&id) else { return file_not_found() };
    match notices::kenpo_attachment(&state.db, &caller.kenpo.id, &id, &n).await {
        Ok(Some((info, content))) => (
            [
                (header::CONTENT_TYPE, info.media_type),
                (header::CONTENT_DISPOSITION, content_disposition(&info.file_name)),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            content,
        )
            .into_response(),
        Ok(None) => file_not_found(),
        Err(e) => server_error(&e),
    }
}

fn file_not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "not_found", "添付ファイルが見つかりません", "no such attachment")
}

async fn read(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = NoticeId::parse(&id) else { return not_found() };
    match state.db.notice(&caller.kenpo.id, &id).await {
        Ok(Some(notice)) => Json(view(&notice)).into_response(),
        Ok(None) => not_found(),
        Err(e) => server_error(&e),
    }
}

async fn replace(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoticeBody>,
) -> Response {
    let Some(id) = NoticeId::parse(&id) else { return not_found() };
    let draft = match draft(body) {
        Ok(draft) => draft,
        Err(faults) => return invalid(faults),
    };
    match notices::replace(&state.db, &caller.kenpo.id, &id, draft, state.clock.now()).await {
        Ok(notice) => Json(view(&notice)).into_response(),
        Err(e) => write_error(e),
    }
}

async fn delete(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = NoticeId::parse(&id) else { return not_found() };
    match notices::delete(&state.db, &caller.kenpo.id, &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => write_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::super::messages_api::{MESSAGE, MESSAGES};
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document_with_its_role() {
        let doc: serde_json::Value =
            serde_json::from_str(super::super::kenpo_api::DOCUMENT).unwrap_or_default();
        for (path, method) in [
            (NOTICES, "get"),
            (NOTICES, "post"),
            (NOTICE, "delete"),
            (ATTACHMENT, "get"),
            (MESSAGES, "post"),
            (MESSAGES, "get"),
            (MESSAGE, "delete"),
        ] {
            let role = &doc["paths"][path][method]["x-required-role"];
            assert_eq!(role.as_str(), Some("manage-notices"), "{method} {path}");
        }
        let list = &doc["paths"][NOTICES]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(list["required"].as_array().is_some_and(|r| r.iter().any(|f| f == "next")), "paged");
    }

    #[test]
    fn the_next_page_is_linked_until_the_last() {
        let at = |page| ApiPage { page, per_page: 2 };
        assert_eq!(
            Listing::of(NOTICES, at(1), 3).next.as_deref(),
            Some("/api/kenpo/notices?page=2&per_page=2")
        );
        assert_eq!(Listing::of(NOTICES, at(2), 3).next, None);
        assert_eq!(Listing::of(NOTICES, at(1), 2).next, None);
        assert_eq!(Listing::of(NOTICES, at(1), 0).next, None);
    }
}
