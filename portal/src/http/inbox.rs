//! MYメール: the signed-in member's inbox and one message, which opening marks read, and
//! deleting a message (a form with the session's CSRF token, then back to the list with a
//! confirmation). `flows::inbox` decides whose inbox it is; another member's message id is 404.

use super::member::Signed;
use super::notices::jst_minute;
use super::records;
use crate::app::AppState;
use crate::domain::MessageId;
use crate::error::AppError;
use crate::flows::inbox::{self, PAGE_SIZE};
use crate::flows::notices::{page_count, page_number};
use crate::flows::plain_text::{self, Paragraph};
use crate::i18n::{self, Locale};
use crate::store::{Content, Message};
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

pub const INBOX: &str = "/inbox";
pub const MESSAGE: &str = "/inbox/{id}";
pub const DELETE: &str = "/inbox/{id}/delete";

pub fn routes() -> Router<AppState> {
    Router::new().route(INBOX, get(list)).route(MESSAGE, get(one)).route(DELETE, post(delete))
}

/// The message's subject and text in `locale`: the kenpo's as written, the portal's from the
/// catalogue.
fn texts(content: &Content, locale: Locale) -> (String, String) {
    match content {
        Content::Kenpo { subject, body } => (subject.clone(), body.clone()),
        Content::System(kind) => {
            let t = i18n::catalogue(locale);
            let text = |part: &str| t.get(&format!("inbox.system.{}.{part}", kind.key())).cloned();
            (text("subject").unwrap_or_default(), text("body").unwrap_or_default())
        }
    }
}

fn from_key(content: &Content) -> &'static str {
    match content {
        Content::Kenpo { .. } => "inbox.from_kenpo",
        Content::System(_) => "inbox.from_system",
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    page: Option<String>,
    /// Set by the redirect after a deletion: the list confirms it.
    deleted: Option<String>,
}

#[derive(Serialize)]
struct Row {
    id: String,
    subject: String,
    sent_at: String,
    from_key: &'static str,
    unread: bool,
}

#[derive(Serialize)]
struct ListPage {
    messages: Vec<Row>,
    retention_months: u32,
    page: i64,
    pages: i64,
    pager_base: String,
    deleted: bool,
}

async fn list(State(state): State<AppState>, signed: Signed, Query(q): Query<ListQuery>) -> Response {
    render_list(&state, &signed, q)
        .await
        .unwrap_or_else(|e| e.render(signed.locale, &signed.kenpo.display_name))
}

async fn render_list(state: &AppState, signed: &Signed, q: ListQuery) -> Result<Response, AppError> {
    let page = page_number(q.page.as_deref());
    let settings = &signed.kenpo.settings;
    let listed = inbox::page(&state.db, &signed.who.member.id, settings, page, state.clock.now()).await?;
    let row = |m: &Message| Row {
        id: m.id.to_string(),
        subject: texts(&m.content, signed.locale).0,
        sent_at: jst_minute(m.sent_at),
        from_key: from_key(&m.content),
        unread: m.read_at.is_none(),
    };
    let page = ListPage {
        messages: listed.items.iter().map(row).collect(),
        retention_months: settings.inbox_retention_months,
        page,
        pages: page_count(listed.total, PAGE_SIZE),
        pager_base: format!("{INBOX}?lang={}", signed.locale.code()),
        deleted: q.deleted.is_some(),
    };
    let html = state.templates.render("inbox.html", signed.locale, &signed.chrome(), page)?;
    Ok(Html(html).into_response())
}

#[derive(Serialize)]
struct MessagePage {
    id: String,
    subject: String,
    from_key: &'static str,
    sent_at: String,
    body: Vec<Paragraph>,
}

async fn one(State(state): State<AppState>, signed: Signed, Path(id): Path<String>) -> Response {
    render_one(&state, &signed, &id)
        .await
        .unwrap_or_else(|e| e.render(signed.locale, &signed.kenpo.display_name))
}

async fn render_one(state: &AppState, signed: &Signed, id: &str) -> Result<Response, AppError> {
    let id = MessageId::parse(id).ok_or(AppError::NotFound)?;
    let member = &signed.who.member.id;
    let message = inbox::open(&state.db, member, &id, &signed.kenpo.settings, state.clock.now())
        .await?
        .ok_or(AppError::NotFound)?;
    // A message to the member is their personal data: its read is recorded like the others.
    records::record(state, signed, [member], "inbox_message", id.as_str()).await?;
    let (subject, body) = texts(&message.content, signed.locale);
    let page = MessagePage {
        id: id.to_string(),
        subject,
        from_key: from_key(&message.content),
        sent_at: jst_minute(message.sent_at),
        body: plain_text::paragraphs(&body),
    };
    let mut chrome = signed.chrome();
    if message.read_at.is_none() {
        // Counted before this opening marked it read.
        chrome.unread_messages = chrome.unread_messages.map(|n| (n - 1).max(0));
    }
    let html = state.templates.render("inbox_message.html", signed.locale, &chrome, page)?;
    Ok(Html(html).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf: String,
}

/// Deletes the member's message, then back to the list (POST-redirect-GET), which confirms it.
async fn delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if !signed.holds_csrf(&form.csrf) {
        return AppError::Csrf.render(signed.locale, &signed.kenpo.display_name);
    }
    remove(&state, &signed, &id).await.unwrap_or_else(|e| e.render(signed.locale, &signed.kenpo.display_name))
}

async fn remove(state: &AppState, signed: &Signed, id: &str) -> Result<Response, AppError> {
    let id = MessageId::parse(id).ok_or(AppError::NotFound)?;
    let member = &signed.who.member.id;
    if !inbox::remove(&state.db, member, &id, &signed.kenpo.settings, state.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to(&format!("{INBOX}?deleted=1&lang={}", signed.locale.code())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::MailCategory;

    #[test]
    fn every_system_message_has_its_words_in_both_languages() {
        for kind in MailCategory::ALL {
            for locale in [Locale::Ja, Locale::En] {
                let (subject, body) = texts(&Content::System(kind), locale);
                assert!(!subject.is_empty() && !body.is_empty(), "{kind:?} in {}", locale.code());
            }
        }
        let (subject, _) = texts(&Content::System(MailCategory::MedicalExpenses), Locale::Ja);
        assert_eq!(subject, "新しい医療費情報を公開しました", "the spec's wording");
        for key in ["inbox.from_kenpo", "inbox.from_system", "notices.file.pdf", "notices.file.image"] {
            assert!(
                i18n::catalogue(Locale::En).contains_key(key)
                    && i18n::catalogue(Locale::Ja).contains_key(key)
            );
        }
    }
}
