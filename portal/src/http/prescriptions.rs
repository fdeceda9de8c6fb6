//! 処方医薬品照会: drug lines by person, months and drug name, with the generic/brand flag.

use super::member::Signed;
use super::records::{self, Person, yen};
use crate::app::AppState;
use crate::domain::Month;
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
    Router::new().route("/prescriptions", get(page))
}

/// Longer searches are cut: nobody types a 100-character drug name.
const DRUG_QUERY_MAX: usize = 50;

#[derive(Debug, Default, Deserialize)]
struct Filters {
    person: Option<String>,
    from: Option<String>,
    to: Option<String>,
    drug: Option<String>,
}

#[derive(Serialize)]
struct Row {
    person: String,
    month: String,
    pharmacy: String,
    prescriber: Option<String>,
    drug_name: String,
    generic_name: Option<String>,
    strength: String,
    quantity: String,
    days: i64,
    is_generic: bool,
    amount: String,
}

#[derive(Serialize)]
struct Page {
    people: Vec<Person>,
    person: String,
    from: String,
    to: String,
    drug: String,
    rows: Vec<Row>,
    generic_count: usize,
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

fn month_filter(raw: Option<&str>, error: &mut Option<&'static str>) -> Option<Month> {
    let raw = raw.filter(|s| !s.trim().is_empty())?;
    Month::parse(raw).ok().or_else(|| {
        *error = Some("filter.bad_month");
        None
    })
}

async fn render(state: &AppState, signed: &Signed, f: Filters) -> Result<Response, AppError> {
    let scope = records::scope(signed, state, Service::Prescriptions, f.person.as_deref())?;
    let window = Window::new(Month::of(state.clock.today_in_japan()), signed.kenpo.settings.retention_months);
    let mut filter_error = None;
    let from = month_filter(f.from.as_deref(), &mut filter_error).unwrap_or(window.first);
    let to = month_filter(f.to.as_deref(), &mut filter_error).unwrap_or(window.last);
    let drug: String = f.drug.as_deref().unwrap_or_default().trim().chars().take(DRUG_QUERY_MAX).collect();
    let lines = match window.clamp(from, to) {
        Some((from, to)) => {
            state
                .db
                .prescriptions(&scope.ids(), from, to, Some(drug.as_str()).filter(|d| !d.is_empty()))
                .await?
        }
        None => Vec::new(),
    };
    records::record(
        state,
        signed,
        lines.iter().map(|l| &l.member_id),
        "prescriptions",
        &format!("{from}..{to} {drug}"),
    )
    .await?;
    let generic_count = lines.iter().filter(|l| l.is_generic).count();
    let rows = lines
        .into_iter()
        .map(|l| Row {
            person: scope.name_of(&l.member_id),
            month: l.dispensed_month.to_string(),
            pharmacy: l.pharmacy,
            prescriber: l.prescriber,
            drug_name: l.drug_name,
            generic_name: l.generic_name,
            strength: l.strength,
            quantity: l.quantity,
            days: l.days,
            is_generic: l.is_generic,
            amount: yen(l.amount_yen),
        })
        .collect();
    let page = Page {
        people: scope.people(),
        person: f.person.unwrap_or_default(),
        from: f.from.unwrap_or_default(),
        to: f.to.unwrap_or_default(),
        drug,
        rows,
        generic_count,
        filter_error,
        first_month: window.first.to_string(),
        last_month: window.last.to_string(),
    };
    let html = state.templates.render("prescriptions.html", signed.locale, &signed.chrome(), page)?;
    Ok(Html(html).into_response())
}
