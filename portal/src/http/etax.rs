//! 医療費控除申請用データ (e-Tax) and the notices as PDF. Downloads are sensitive: they ask the
//! IdP for a fresh authentication (`max_age`) when the member's last one is older than
//! `flows::auth::FRESH_AUTH`.

use super::member::Signed;
use super::records::{self, Person, yen};
use crate::app::AppState;
use crate::domain::Month;
use crate::error::AppError;
use crate::export::{self, PdfFont};
use crate::flows::auth::FRESH_AUTH;
use crate::flows::etax;
use crate::flows::medical::{self, Window};
use crate::store::RecordStore;
use crate::tenant::Service;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/etax", get(page))
        .route("/etax/{file}", get(download))
        .route("/benefits/{file}", get(benefit_pdf))
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    year: Option<String>,
}

#[derive(Serialize)]
struct TotalRow {
    person: String,
    claims: usize,
    patient: String,
    refunds: String,
}

#[derive(Serialize)]
struct Page {
    years: Vec<i32>,
    year: i32,
    covered: Option<(String, String)>,
    totals: Vec<TotalRow>,
    people: Vec<Person>,
}

async fn page(State(state): State<AppState>, signed: Signed, Query(f): Query<Filters>) -> Response {
    match render(&state, &signed, f).await {
        Ok(r) => r,
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

/// The year asked for, if it is one the window holds; else the newest with data.
fn year_of(asked: Option<&str>, window: Window) -> i32 {
    let years = window.years();
    asked.and_then(|y| y.parse().ok()).filter(|y| years.contains(y)).unwrap_or(window.last.year())
}

async fn render(state: &AppState, signed: &Signed, f: Filters) -> Result<Response, AppError> {
    let scope = records::scope(signed, state, Service::Etax, None)?;
    let window = Window::new(Month::of(state.clock.today_in_japan()), signed.kenpo.settings.retention_months);
    let year = year_of(f.year.as_deref(), window);
    let latest = state.db.latest_service_month(&signed.kenpo.id).await?;
    let covered = etax::covered(year, latest);
    let claims = match covered.and_then(|(a, b)| window.clamp(a, b)) {
        Some((from, to)) => state.db.claims(&scope.ids(), from, to).await?,
        None => Vec::new(),
    };
    records::record(state, signed, claims.iter().map(|c| &c.member_id), "etax", &year.to_string()).await?;
    let totals = medical::totals(&claims)
        .into_iter()
        .map(|(_, id, t)| TotalRow {
            person: scope.name_of(&id),
            claims: t.claims,
            patient: yen(t.patient_yen),
            refunds: yen(t.refunds_yen),
        })
        .collect();
    let page = Page {
        years: window.years(),
        year,
        covered: covered.map(|(a, b)| (a.to_string(), b.to_string())),
        totals,
        people: scope.people(),
    };
    let html = state.templates.render("etax.html", signed.locale, &signed.chrome(), page)?;
    Ok(Html(html).into_response())
}

/// A download wants an authentication at most `FRESH_AUTH` old; else the IdP is asked again.
pub(super) fn fresh_or_login(state: &AppState, signed: &Signed, path: &str) -> Option<Response> {
    if signed.who.session.authenticated_within(FRESH_AUTH, state.clock.unix()) {
        return None;
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("fresh", "1")
        .append_pair("return_to", path)
        .finish();
    Some(Redirect::to(&format!("/auth/login?{query}")).into_response())
}

pub(super) fn attachment(bytes: Vec<u8>, content_type: &'static str, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

pub(super) fn font(state: &AppState) -> Result<&PdfFont, AppError> {
    state.font().ok_or_else(|| AppError::Document("no Japanese font for PDFs".to_owned()))
}

async fn download(State(state): State<AppState>, signed: Signed, Path(file): Path<String>) -> Response {
    if let Some(login) = fresh_or_login(&state, &signed, &format!("/etax/{file}")) {
        return login;
    }
    match make_download(&state, &signed, &file).await {
        Ok(r) => r,
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

async fn make_download(state: &AppState, signed: &Signed, file: &str) -> Result<Response, AppError> {
    let (stem, ext) = file.rsplit_once('.').ok_or(AppError::NotFound)?;
    let year: i32 = stem.strip_prefix("iryohi_").and_then(|y| y.parse().ok()).ok_or(AppError::NotFound)?;
    let window = Window::new(Month::of(state.clock.today_in_japan()), signed.kenpo.settings.retention_months);
    if !window.years().contains(&year) {
        return Err(AppError::NotFound);
    }
    let scope = records::scope(signed, state, Service::Etax, None)?;
    let latest = state.db.latest_service_month(&signed.kenpo.id).await?;
    let covered = etax::covered(year, latest).ok_or(AppError::NotFound)?;
    let (from, to) = window.clamp(covered.0, covered.1).ok_or(AppError::NotFound)?;
    let mut claims = state.db.claims(&scope.ids(), from, to).await?;
    claims.reverse();
    records::record(
        state,
        signed,
        claims.iter().map(|c| &c.member_id),
        &format!("etax_{ext}"),
        &year.to_string(),
    )
    .await?;
    let insured_name = insured_name(signed);
    let insurer = insurer_name(signed);
    let notice =
        etax::notice(&insurer, &insured_name, year, covered, state.clock.today_in_japan(), &claims, |id| {
            scope.name_of(id)
        });
    let document = |e: export::ExportError| AppError::Document(e.to_string());
    match ext {
        "xlsx" => Ok(attachment(
            export::etax_xlsx(&notice).map_err(document)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            file,
        )),
        "csv" => Ok(attachment(export::etax_csv(&notice), "text/csv; charset=utf-8", file)),
        "pdf" => Ok(attachment(
            export::medical_notice_pdf(&notice, font(state)?).map_err(document)?,
            "application/pdf",
            file,
        )),
        _ => Err(AppError::NotFound),
    }
}

/// The 被保険者 of the household, whose name notices are addressed to.
fn insured_name(signed: &Signed) -> String {
    let insured = signed.who.household.iter().find(|m| m.relation == crate::domain::Relation::Insured);
    insured.map_or_else(|| signed.who.member.name.clone(), |m| m.name.clone())
}

fn insurer_name(signed: &Signed) -> String {
    let name = &signed.kenpo.settings.insurer_name;
    if name.is_empty() { signed.kenpo.display_name.clone() } else { name.clone() }
}

async fn benefit_pdf(State(state): State<AppState>, signed: Signed, Path(file): Path<String>) -> Response {
    if let Some(login) = fresh_or_login(&state, &signed, &format!("/benefits/{file}")) {
        return login;
    }
    match make_benefit_pdf(&state, &signed, &file).await {
        Ok(r) => r,
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

async fn make_benefit_pdf(state: &AppState, signed: &Signed, file: &str) -> Result<Response, AppError> {
    let id = file.strip_suffix(".pdf").ok_or(AppError::NotFound)?;
    let scope = records::scope(signed, state, Service::Benefits, None)?;
    let window = Window::new(Month::of(state.clock.today_in_japan()), signed.kenpo.settings.retention_months);
    // Found only among the decisions the member may see: another household's id is not found.
    let benefits = state.db.benefits(&scope.ids(), window.first, window.last).await?;
    let benefit = benefits.iter().find(|b| b.id == id).ok_or(AppError::NotFound)?;
    records::record(state, signed, [&benefit.member_id], "benefit_pdf", &benefit.notice_no).await?;
    let recipient = insured_name(signed);
    let notice = etax::benefit_notice(
        &insurer_name(signed),
        &recipient,
        &scope.name_of(&benefit.member_id),
        benefit,
        state.clock.today_in_japan(),
    )
    .ok_or_else(|| AppError::Document(format!("benefit {} has unreadable dates", benefit.notice_no)))?;
    let pdf =
        export::benefit_notice_pdf(&notice, font(state)?).map_err(|e| AppError::Document(e.to_string()))?;
    Ok(attachment(pdf, "application/pdf", &format!("kyufu_{}.pdf", benefit.notice_no)))
}
