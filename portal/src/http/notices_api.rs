//! The kenpo API for お知らせ and MYメール (role `manage-notices`): publish, read, replace and
//! delete notices, and send a MYメール to listed members or to all of them. JSON in and out;
//! errors are the kenpo API's `{error, message_ja, message_en}`, with `errors` listing each
//! fault of a refused notice or message.
//!
//! Attachments travel inside the notice's JSON as base64 (`content_base64`) rather than as
//! multipart parts: a notice and its files are one document that is checked, stored and
//! replaced as a whole, so one request body in one encoding says it all, and the files are
//! small (`flows::notices::MAX_ATTACHMENT_BYTES`, at most `MAX_ATTACHMENTS`).

use super::kenpo_api::{ApiRole, api_error, authorize, bad_json, server_error};
use crate::app::AppState;
use crate::domain::NoticeId;
use crate::flows::inbox::{self, OutgoingError, SendError};
use crate::flows::notices::{
    self, Draft, DraftError, DraftFile, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, WriteError,
};
use crate::store::{Card, Notice, NoticeStore};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::offset;

pub const NOTICES: &str = "/api/kenpo/notices";
pub const NOTICE: &str = "/api/kenpo/notices/{id}";
pub const MESSAGES: &str = "/api/kenpo/messages";

/// A notice with every file at its largest, in base64, and room for the text.
const MAX_BODY_BYTES: usize = MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES / 3 * 4 + 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(NOTICES, post(create).get(list))
        .route(NOTICE, get(read).put(replace).delete(delete))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route(MESSAGES, post(send))
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
}

#[derive(Debug, Serialize)]
struct NoticeList {
    notices: Vec<NoticeView>,
}

/// One fault of a refused notice or message.
#[derive(Debug, Serialize)]
struct Fault {
    code: &'static str,
    message_ja: String,
    message_en: String,
}

/// A refusal listing every fault.
#[derive(Debug, Serialize)]
struct Invalid {
    error: &'static str,
    message_ja: &'static str,
    message_en: &'static str,
    errors: Vec<Fault>,
}

fn invalid(faults: Vec<Fault>) -> Response {
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

fn rfc3339(millis: i64) -> String {
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
    headers: HeaderMap,
    body: Result<Json<NoticeBody>, JsonRejection>,
) -> Response {
    let caller = match authorize(&state, &headers, ApiRole::ManageNotices).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let draft = match body.map(|Json(b)| draft(b)) {
        Ok(Ok(draft)) => draft,
        Ok(Err(faults)) => return invalid(faults),
        Err(e) => return bad_json(&e),
    };
    match notices::create(&state.db, &caller.kenpo.id, draft, state.clock.now()).await {
        Ok(notice) => {
            let location = format!("{NOTICES}/{}", notice.id);
            (StatusCode::CREATED, [(header::LOCATION, location)], Json(view(&notice))).into_response()
        }
        Err(e) => write_error(e),
    }
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let caller = match authorize(&state, &headers, ApiRole::ManageNotices).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    match state.db.all_notices(&caller.kenpo.id).await {
        Ok(all) => Json(NoticeList { notices: all.iter().map(view).collect() }).into_response(),
        Err(e) => server_error(&e),
    }
}

async fn read(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let caller = match authorize(&state, &headers, ApiRole::ManageNotices).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Some(id) = NoticeId::parse(&id) else { return not_found() };
    match state.db.notice(&caller.kenpo.id, &id).await {
        Ok(Some(notice)) => Json(view(&notice)).into_response(),
        Ok(None) => not_found(),
        Err(e) => server_error(&e),
    }
}

async fn replace(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<NoticeBody>, JsonRejection>,
) -> Response {
    let caller = match authorize(&state, &headers, ApiRole::ManageNotices).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Some(id) = NoticeId::parse(&id) else { return not_found() };
    let draft = match body.map(|Json(b)| draft(b)) {
        Ok(Ok(draft)) => draft,
        Ok(Err(faults)) => return invalid(faults),
        Err(e) => return bad_json(&e),
    };
    match notices::replace(&state.db, &caller.kenpo.id, &id, draft, state.clock.now()).await {
        Ok(notice) => Json(view(&notice)).into_response(),
        Err(e) => write_error(e),
    }
}

async fn delete(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let caller = match authorize(&state, &headers, ApiRole::ManageNotices).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Some(id) = NoticeId::parse(&id) else { return not_found() };
    match notices::delete(&state.db, &caller.kenpo.id, &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => write_error(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    subject: String,
    body: String,
    #[serde(default)]
    to_all: bool,
    #[serde(default)]
    recipients: Vec<Recipient>,
}

/// A member by the portal's id, or by card (記号・番号・枝番).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Recipient {
    Member { member_id: String },
    Card { symbol: String, number: String, branch: String },
}

#[derive(Debug, Serialize)]
struct SentView {
    message_id: String,
    /// Inboxes the message reached (a household without separate logins is one).
    delivered: u64,
}

async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<MessageBody>, JsonRejection>,
) -> Response {
    let caller = match authorize(&state, &headers, ApiRole::ManageNotices).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let Json(body) = match body {
        Ok(body) => body,
        Err(e) => return bad_json(&e),
    };
    let mut out =
        inbox::Outgoing { subject: body.subject, body: body.body, to_all: body.to_all, ..Default::default() };
    for r in body.recipients {
        match r {
            Recipient::Member { member_id } => out.member_ids.push(member_id),
            Recipient::Card { symbol, number, branch } => out.cards.push(Card { symbol, number, branch }),
        }
    }
    match inbox::send(&state.db, &caller.kenpo, out, state.clock.now()).await {
        Ok(sent) => {
            let view = SentView { message_id: sent.message_id.to_string(), delivered: sent.delivered };
            (StatusCode::CREATED, Json(view)).into_response()
        }
        Err(SendError::Invalid(errors)) => invalid(
            errors
                .iter()
                .map(|e: &OutgoingError| Fault {
                    code: e.code(),
                    message_ja: e.message_ja(),
                    message_en: e.message_en(),
                })
                .collect(),
        ),
        Err(SendError::Store(e)) => server_error(&e),
    }
}
