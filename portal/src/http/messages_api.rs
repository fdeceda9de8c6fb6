//! The kenpo API for MYメール (role `manage-notices`): send a message to listed members or to all
//! of them, list what the kenpo sent (paged, with how many inboxes each reached and how many
//! opened it), and recall a message from every inbox it went to. Errors are the kenpo API's
//! `{error, message_ja, message_en}`; a refused message lists each fault in `errors`.

use super::kenpo_api::{ApiJson, Authorized, ManageNotices, api_error, server_error};
use super::notices_api::{Fault, Listing, Paged, invalid, rfc3339};
use crate::app::AppState;
use crate::domain::MessageId;
use crate::flows::inbox::{self, OutgoingError, SendError};
use crate::store::{Card, SentMessage};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub const MESSAGES: &str = "/api/kenpo/messages";
pub const MESSAGE: &str = "/api/kenpo/messages/{id}";

pub fn routes() -> Router<AppState> {
    Router::new().route(MESSAGES, post(send).get(list)).route(MESSAGE, delete(recall))
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

#[derive(Debug, Serialize)]
struct MessageView {
    message_id: String,
    subject: String,
    body: String,
    /// RFC 3339 in Japan time.
    sent_at: String,
    /// Inboxes it was delivered to (members who deleted it since still count).
    recipients: i64,
    /// Of those, how many opened it.
    read: i64,
}

#[derive(Debug, Serialize)]
struct MessageList {
    messages: Vec<MessageView>,
    #[serde(flatten)]
    listing: Listing,
}

#[derive(Debug, Serialize)]
struct Recalled {
    message_id: String,
    /// Inboxes that still held it and no longer do.
    removed_from: u64,
}

fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "not_found", "メッセージが見つかりません", "no such message")
}

async fn send(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Response {
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

fn view(m: &SentMessage) -> MessageView {
    MessageView {
        message_id: m.id.to_string(),
        subject: m.subject.clone(),
        body: m.body.clone(),
        sent_at: rfc3339(m.sent_at),
        recipients: m.recipients,
        read: m.read,
    }
}

async fn list(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    Paged(at): Paged,
) -> Response {
    match inbox::sent(&state.db, &caller.kenpo.id, at.page, at.per_page).await {
        Ok(listed) => Json(MessageList {
            messages: listed.items.iter().map(view).collect(),
            listing: Listing::of(MESSAGES, at, listed.total),
        })
        .into_response(),
        Err(e) => server_error(&e),
    }
}

/// `DELETE /api/kenpo/messages/{id}`: the message leaves every inbox, read or not.
async fn recall(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageNotices>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = MessageId::parse(&id) else { return not_found() };
    match inbox::recall(&state.db, &caller.kenpo.id, &id).await {
        Ok(Some(removed_from)) => Json(Recalled { message_id: id.to_string(), removed_from }).into_response(),
        Ok(None) => not_found(),
        Err(e) => server_error(&e),
    }
}
