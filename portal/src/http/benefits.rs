//! 給付金支給決定通知: the decisions by 支給年月 and person, each notice as a PDF.

use super::member::Signed;
use super::records::{self, Person, yen};
use crate::app::AppState;
use crate::domain::{BenefitKind, Month};
use crate::error::AppError;
use crate::flows::medical::Window;
use crate::store::RecordStore;
use crate::tenant::Service;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new().route("/benefits", get(page))
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    person: Option<String>,
    month: Option<String>,
}

#[derive(Serialize)]
struct Row {
    id: String,
    notice_no: String,
    person: String,
    kind: String,
    paid_month: String,
    service: String,
    amount: String,
    decided_on: String,
    paid_on: Option<String>,
    payee: String,
}

#[derive(Serialize)]
struct Page {
    people: Vec<Person>,
    person: String,
    month: String,
    rows: Vec<Row>,
    filter_error: Option<&'static str>,
    first_month: String,
    last_month: String,
}

async fn page(State(state): State<AppState>, signed: Signed, Query(f): Query<Filters>) -> Response {
    match render(&state, &signed, f).await {
        Ok(r) => r,
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

async fn render(state: &AppState, signed: &Signed, f: Filters) -> Result<Response, AppError> {
    let scope = records::scope(signed, state, Service::Benefits, f.person.as_deref())?;
    let window = Window::new(Month::of(state.clock.today_in_japan()), signed.kenpo.settings.retention_months);
    let mut filter_error = None;
    let month = match f.month.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(m) => Month::parse(m).ok().or_else(|| {
            filter_error = Some("filter.bad_month");
            None
        }),
    };
    let (from, to) = month.map_or((window.first, window.last), |m| (m, m));
    let benefits = match window.clamp(from, to) {
        Some((from, to)) => state.db.benefits(&scope.ids(), from, to).await?,
        None => Vec::new(),
    };
    records::record(
        state,
        signed,
        benefits.iter().map(|b| &b.member_id),
        "benefits",
        &format!("{from}..{to}"),
    )
    .await?;
    let en = signed.locale == crate::i18n::Locale::En;
    let rows = benefits
        .into_iter()
        .map(|b| Row {
            person: scope.name_of(&b.member_id),
            kind: kind_label(&b.kind, en),
            paid_month: b.paid_month.to_string(),
            service: match (&b.service_month, &b.period_from, &b.period_to) {
                (Some(m), _, _) => m.to_string(),
                (None, Some(from), Some(to)) => format!("{from}〜{to}"),
                _ => String::new(),
            },
            amount: yen(b.amount_yen),
            decided_on: b.decided_on,
            paid_on: b.paid_on,
            payee: b.payee,
            notice_no: b.notice_no,
            id: b.id,
        })
        .collect();
    let page = Page {
        people: scope.people(),
        person: f.person.unwrap_or_default(),
        month: month.map(|m| m.to_string()).unwrap_or_default(),
        rows,
        filter_error,
        first_month: window.first.to_string(),
        last_month: window.last.to_string(),
    };
    let html = state.templates.render("benefits.html", signed.locale, &signed.chrome(), page)?;
    Ok(Html(html).into_response())
}

/// The label of a stored benefit kind; a code this version does not know shows as is.
pub fn kind_label(code: &str, english: bool) -> String {
    BenefitKind::parse(code)
        .map_or_else(|| code.to_owned(), |k| (if english { k.label_en() } else { k.label_ja() }).to_owned())
}
