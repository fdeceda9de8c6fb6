//! 医療費照会: the household's claims by person, month or year, and 診療区分, with yearly totals.

use super::member::Signed;
use super::records::{self, Person, yen};
use crate::app::AppState;
use crate::domain::{Category, Month};
use crate::error::AppError;
use crate::flows::medical::{self, Query, Window};
use crate::store::RecordStore;
use crate::tenant::Service;
use axum::Router;
use axum::extract::{Query as Q, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new().route("/medical-expenses", get(page))
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    person: Option<String>,
    year: Option<String>,
    month: Option<String>,
    category: Option<String>,
}

#[derive(Serialize)]
struct Row {
    person: String,
    month: String,
    category: &'static str,
    institution: Option<String>,
    days: i64,
    total: String,
    insurer: String,
    public: String,
    patient: String,
    meal: Option<String>,
    statutory_refund: Option<String>,
    additional_refund: Option<String>,
    reduced: bool,
}

#[derive(Serialize)]
struct TotalRow {
    year: i32,
    person: String,
    claims: usize,
    days: i64,
    total: String,
    patient: String,
    refunds: String,
}

#[derive(Serialize)]
struct Page {
    people: Vec<Person>,
    person: String,
    years: Vec<i32>,
    year: Option<i32>,
    month: String,
    categories: Vec<&'static str>,
    category: String,
    rows: Vec<Row>,
    totals: Vec<TotalRow>,
    /// Catalogue key of a filter the member typed wrong, shown above the results.
    filter_error: Option<&'static str>,
    first_month: String,
    last_month: String,
}

async fn page(State(state): State<AppState>, signed: Signed, Q(f): Q<Filters>) -> Response {
    match render(&state, &signed, f).await {
        Ok(r) => r,
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

/// Parses the filters; a bad one is reported and ignored, never a failure.
fn parse(f: &Filters) -> (Query, Option<&'static str>) {
    let mut error = None;
    let year = match f.year.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(y) => y.parse::<i32>().ok().filter(|y| (1900..=9999).contains(y)).or_else(|| {
            error = Some("filter.bad_year");
            None
        }),
    };
    let month = match f.month.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(m) => Month::parse(m).ok().or_else(|| {
            error = Some("filter.bad_month");
            None
        }),
    };
    let category = match f.category.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Category::parse(c).or_else(|| {
            error = Some("filter.bad_category");
            None
        }),
    };
    (Query { year, month, category }, error)
}

async fn render(state: &AppState, signed: &Signed, f: Filters) -> Result<Response, AppError> {
    let scope = records::scope(signed, state, Service::MedicalExpenses, f.person.as_deref())?;
    let (query, filter_error) = parse(&f);
    let window = Window::new(Month::of(state.clock.today_in_japan()), signed.kenpo.settings.retention_months);
    let claims = match query.months(window) {
        Some((from, to)) => state.db.claims(&scope.ids(), from, to).await?,
        None => Vec::new(),
    };
    let claims: Vec<_> = claims.into_iter().filter(|c| query.keeps(c)).collect();
    records::record(
        state,
        signed,
        claims.iter().map(|c| &c.member_id),
        "medical_expenses",
        &format!("{query:?}"),
    )
    .await?;
    let opt = |n: i64| (n != 0).then(|| yen(n));
    let rows = claims
        .iter()
        .map(|c| Row {
            person: scope.name_of(&c.member_id),
            month: c.service_month.to_string(),
            category: c.category.as_str(),
            institution: c.institution.clone(),
            days: c.days,
            total: yen(c.total_yen),
            insurer: yen(c.insurer_yen),
            public: yen(c.public_yen),
            patient: yen(c.patient_yen),
            meal: opt(c.meal_yen),
            statutory_refund: opt(c.statutory_refund_yen),
            additional_refund: opt(c.additional_refund_yen),
            reduced: c.reduced,
        })
        .collect();
    let totals = medical::totals(&claims)
        .into_iter()
        .map(|(year, id, t)| TotalRow {
            year,
            person: scope.name_of(&id),
            claims: t.claims,
            days: t.days,
            total: yen(t.total_yen),
            patient: yen(t.patient_yen),
            refunds: yen(t.refunds_yen),
        })
        .collect();
    let page = Page {
        people: scope.people(),
        person: f.person.clone().unwrap_or_default(),
        years: window.years(),
        year: query.year,
        month: query.month.map(|m| m.to_string()).unwrap_or_default(),
        categories: Category::ALL.iter().map(|c| c.as_str()).collect(),
        category: query.category.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        rows,
        totals,
        filter_error,
        first_month: window.first.to_string(),
        last_month: window.last.to_string(),
    };
    let html = state.templates.render("medical.html", signed.locale, &signed.chrome(), page)?;
    Ok(Html(html).into_response())
}
