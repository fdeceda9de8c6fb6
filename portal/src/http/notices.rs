//! お知らせ: the kenpo's notices for its signed-in members — the list by category, one notice,
//! and its attached files. `flows::notices` decides what is shown; an id outside it is 404.

use super::member::Signed;
use crate::app::AppState;
use crate::domain::{AttachmentId, NoticeCategory, NoticeId};
use crate::error::AppError;
use crate::flows::notices::{self, PAGE_SIZE, page_count, page_number};
use crate::flows::plain_text::{self, Paragraph};
use crate::store::Notice;
use crate::templates::NoticeLine;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::{format_description, offset};

pub const NOTICES: &str = "/notices";
pub const NOTICE: &str = "/notices/{id}";
pub const NOTICE_FILE: &str = "/notices/{id}/files/{file}";

pub fn routes() -> Router<AppState> {
    Router::new().route(NOTICES, get(list)).route(NOTICE, get(one)).route(NOTICE_FILE, get(file))
}

/// `2026-11-24`: a date in Japan, from epoch milliseconds.
pub fn jst_date(millis: i64) -> String {
    jst(millis, format_description!("[year]-[month]-[day]"))
}

/// `2026-11-24 10:15`: a minute in Japan, from epoch milliseconds.
pub fn jst_minute(millis: i64) -> String {
    jst(millis, format_description!("[year]-[month]-[day] [hour]:[minute]"))
}

fn jst(millis: i64, format: &[time::format_description::BorrowedFormatItem<'_>]) -> String {
    let at = shared_runtime::db::from_millis(millis).to_offset(offset!(+9));
    at.format(format).unwrap_or_default()
}

/// A notice as lists show it (here and on the top page).
pub fn line(n: &Notice) -> NoticeLine {
    NoticeLine {
        id: n.id.to_string(),
        title: n.fields.title.clone(),
        category: n.fields.category.as_str(),
        published_on: jst_date(n.fields.published_at),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    category: Option<String>,
    page: Option<String>,
}

#[derive(Serialize)]
struct ListPage {
    categories: Vec<&'static str>,
    category: String,
    filter_error: Option<&'static str>,
    notices: Vec<NoticeLine>,
    page: i64,
    pages: i64,
    /// The list's URL with its filters, for the pager's links.
    pager_base: String,
}

async fn list(State(state): State<AppState>, signed: Signed, Query(q): Query<ListQuery>) -> Response {
    render_list(&state, &signed, q)
        .await
        .unwrap_or_else(|e| e.render(signed.locale, &signed.kenpo.display_name))
}

async fn render_list(state: &AppState, signed: &Signed, q: ListQuery) -> Result<Response, AppError> {
    let asked = q.category.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let category = asked.and_then(NoticeCategory::parse);
    // A category that is not one is reported and ignored, never a failure.
    let filter_error = (asked.is_some() && category.is_none()).then_some("notices.bad_category");
    let page = page_number(q.page.as_deref());
    let listed = notices::shown(&state.db, &signed.kenpo.id, category, page, state.clock.now()).await?;
    let category = category.map(|c| c.as_str().to_owned()).unwrap_or_default();
    let pager_base = format!("{NOTICES}?lang={}&category={category}", signed.locale.code());
    let page = ListPage {
        categories: NoticeCategory::ALL.iter().map(|c| c.as_str()).collect(),
        category,
        filter_error,
        notices: listed.items.iter().map(line).collect(),
        page,
        pages: page_count(listed.total, PAGE_SIZE),
        pager_base,
    };
    let html = state.templates.render("notices.html", signed.locale, &signed.chrome(), page)?;
    Ok(Html(html).into_response())
}

#[derive(Serialize)]
struct FileLink {
    href: String,
    file_name: String,
    /// `notices.file.pdf` or `notices.file.image`.
    kind_key: &'static str,
    kilobytes: i64,
}

#[derive(Serialize)]
struct OnePage {
    title: String,
    category: &'static str,
    published_on: String,
    body: Vec<Paragraph>,
    attachments: Vec<FileLink>,
}

async fn one(State(state): State<AppState>, signed: Signed, Path(id): Path<String>) -> Response {
    render_one(&state, &signed, &id)
        .await
        .unwrap_or_else(|e| e.render(signed.locale, &signed.kenpo.display_name))
}

async fn render_one(state: &AppState, signed: &Signed, id: &str) -> Result<Response, AppError> {
    let id = NoticeId::parse(id).ok_or(AppError::NotFound)?;
    let notice =
        notices::one(&state.db, &signed.kenpo.id, &id, state.clock.now()).await?.ok_or(AppError::NotFound)?;
    let attachments = notice
        .attachments
        .iter()
        .map(|a| FileLink {
            href: format!("/notices/{id}/files/{}", a.id),
            file_name: a.file_name.clone(),
            kind_key: if a.media_type == "application/pdf" {
                "notices.file.pdf"
            } else {
                "notices.file.image"
            },
            kilobytes: (a.size_bytes + 1023) / 1024,
        })
        .collect();
    let page = OnePage {
        title: notice.fields.title.clone(),
        category: notice.fields.category.as_str(),
        published_on: jst_date(notice.fields.published_at),
        body: plain_text::paragraphs(&notice.fields.body),
        attachments,
    };
    let html = state.templates.render("notices_one.html", signed.locale, &signed.chrome(), page)?;
    Ok(Html(html).into_response())
}

async fn file(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    send_file(&state, &signed, &id, &file, state.clock.now())
        .await
        .unwrap_or_else(|e| e.render(signed.locale, &signed.kenpo.display_name))
}

async fn send_file(
    state: &AppState,
    signed: &Signed,
    id: &str,
    file: &str,
    now: OffsetDateTime,
) -> Result<Response, AppError> {
    let (Some(id), Some(file)) = (NoticeId::parse(id), AttachmentId::parse(file)) else {
        return Err(AppError::NotFound);
    };
    let (info, content) =
        notices::attachment(&state.db, &signed.kenpo.id, &id, &file, now).await?.ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, info.media_type),
            (header::CONTENT_DISPOSITION, content_disposition(&info.file_name)),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        content,
    )
        .into_response())
}

/// `attachment` with the file's name: an ASCII stand-in, and the real one in UTF-8 (RFC 6266).
pub(super) fn content_disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;
    use crate::templates::{Chrome, Templates};

    #[test]
    fn a_notice_shows_the_kenpos_text_escaped_with_only_https_links() -> Result<(), minijinja::Error> {
        let templates = Templates::new()?;
        let page = OnePage {
            title: "<b>件名</b>".into(),
            category: "important",
            published_on: "2026-11-24".into(),
            body: plain_text::paragraphs(
                "<script>alert(1)</script>\n詳細はhttps://example.jp/a\"><img src=x>を参照",
            ),
            attachments: Vec::new(),
        };
        let html = templates.render("notices_one.html", Locale::Ja, &Chrome::bare("健保"), page)?;
        assert!(
            !html.contains("<script>alert") && html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<b>件名") && !html.contains("<img src=x>"), "{html}");
        assert!(
            html.contains("<a href=\"https:&#x2f;&#x2f;example.jp&#x2f;a\" rel=\"noopener noreferrer\">"),
            "{html}"
        );
        assert!(html.contains("<br>"), "a line break in the body stays one");
        Ok(())
    }

    #[test]
    fn the_header_counts_unread_mail_beside_the_members_name() -> Result<(), minijinja::Error> {
        let templates = Templates::new()?;
        let mut chrome = Chrome::bare("健保");
        chrome.member_name = Some("健保 太郎".into());
        chrome.csrf = Some("token".into());
        let top = |chrome: &Chrome, locale| {
            templates.render(
                "top.html",
                locale,
                chrome,
                crate::templates::TopPage { refresh_day: 10, notices: Vec::new(), survey_banner: None },
            )
        };
        let html = top(&chrome.clone().with_unread(Some(3)), Locale::Ja)?;
        assert!(html.contains(">MYメール<span class=\"badge\">（未読 3件）</span></a>"), "{html}");
        let html = top(&chrome.clone().with_unread(Some(3)), Locale::En)?;
        assert!(html.contains(">My mail<span class=\"badge\"> (3 unread)</span></a>"), "{html}");
        let html = top(&chrome.with_unread(Some(0)), Locale::Ja)?;
        assert!(html.contains(">MYメール</a>"), "no badge when all is read");
        Ok(())
    }

    #[test]
    fn dates_are_japan_time_and_file_names_survive_the_header() {
        // 2026-11-23T15:00Z is midnight of the 24th in Tokyo.
        assert_eq!(jst_date(1_795_446_000_000), "2026-11-24");
        assert_eq!(jst_minute(1_795_446_000_000 + 75 * 60_000), "2026-11-24 01:15");
        assert_eq!(
            content_disposition("案内 \"v2\".pdf"),
            "attachment; filename=\"____v2_.pdf\"; filename*=UTF-8''%E6%A1%88%E5%86%85%20%22v2%22.pdf"
        );
    }
}
