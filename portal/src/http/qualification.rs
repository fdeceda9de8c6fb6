//! 資格情報のお知らせ・資格確認書 (spec §6): the people whose documents the member handles, each
//! with their card's status and the notice as PDF, and the application for a (re)issued card.
//! Who is listed is `flows::access::qualification_people`; an id outside it is not found. The
//! PDF is a sensitive download: it wants a fresh authentication like the e-Tax files.

use super::etax::{attachment, font, fresh_or_login};
use super::member::Signed;
use super::records;
use crate::app::AppState;
use crate::domain::{ApplicationReason, Relation};
use crate::error::AppError;
use crate::export;
use crate::flows::access;
use crate::flows::qualification::{
    self as flow, ApplicationInput, CertificateStatus, NOTE_MAX_CHARS, PersonDocuments, QualificationError,
};
use crate::store::{Member, QualificationStore};
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

pub const PAGE: &str = "/qualification";
pub const APPLICATIONS: &str = "/qualification/applications";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(page))
        .route(APPLICATIONS, post(apply))
        .route("/qualification/notice/{file}", get(notice_pdf))
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    applied: Option<String>,
}

/// The application form as posted; every field optional so that a tampered form is reported,
/// not refused by the extractor.
#[derive(Debug, Default, Deserialize)]
struct ApplicationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

#[derive(Serialize)]
struct NoticeView {
    issued_on: String,
    pdf: String,
}

#[derive(Serialize)]
struct CertificateView {
    issued_on: String,
    valid_until: String,
    copay_tenths: Option<u8>,
}

#[derive(Serialize)]
struct ApplicationView {
    status: &'static str,
    reason: &'static str,
    applied_on: String,
    rejection: Option<String>,
}

#[derive(Serialize)]
struct PersonView {
    id: String,
    name: String,
    insured: bool,
    symbol: String,
    number: String,
    branch: String,
    notice: Option<NoticeView>,
    status: CertificateStatus,
    certificate: Option<CertificateView>,
    application: Option<ApplicationView>,
}

/// What the member typed, shown again with the error.
#[derive(Debug, Default, Serialize)]
struct Kept {
    person: String,
    reason: String,
    note: String,
}

#[derive(Serialize)]
struct Page {
    people: Vec<PersonView>,
    reasons: Vec<&'static str>,
    note_max: usize,
    applied: bool,
    error: Option<&'static str>,
    form: Kept,
}

/// What the form's last submission left to show.
#[derive(Default)]
struct Outcome {
    applied: bool,
    error: Option<&'static str>,
    form: Kept,
}

async fn page(State(state): State<AppState>, signed: Signed, Query(q): Query<PageQuery>) -> Response {
    let outcome = Outcome { applied: q.applied.is_some(), ..Outcome::default() };
    respond(&state, &signed, StatusCode::OK, outcome).await
}

async fn respond(state: &AppState, signed: &Signed, status: StatusCode, outcome: Outcome) -> Response {
    match render(state, signed, outcome).await {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

fn people<'a>(state: &AppState, signed: &'a Signed) -> Result<Vec<&'a Member>, AppError> {
    let today = state.clock.today_in_japan().to_string();
    Ok(access::qualification_people(
        &signed.who.member,
        &signed.who.household,
        &signed.kenpo.settings,
        &today,
    )?)
}

fn japan_date(millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp(millis / 1000)
        .map(|t| t.to_offset(UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC)).date().to_string())
        .unwrap_or_default()
}

fn view(d: &PersonDocuments<'_>) -> PersonView {
    let m = d.member;
    PersonView {
        id: m.id.to_string(),
        name: m.name.clone(),
        insured: m.relation == Relation::Insured,
        symbol: m.symbol.clone(),
        number: m.number.clone(),
        branch: m.branch.clone(),
        notice: d.notice.map(|n| NoticeView {
            issued_on: n.issued_on.to_string(),
            pdf: format!("/qualification/notice/{}.pdf", m.id),
        }),
        status: d.status,
        certificate: d.certificate.map(|c| CertificateView {
            issued_on: c.issued_on.to_string(),
            valid_until: c.valid_until.to_string(),
            copay_tenths: c.copay.map(|c| c.tenths()),
        }),
        application: d.application.map(|a| ApplicationView {
            status: a.status.as_str(),
            reason: a.reason.as_str(),
            applied_on: japan_date(a.applied_at),
            rejection: a.rejection.clone(),
        }),
    }
}

async fn render(state: &AppState, signed: &Signed, outcome: Outcome) -> Result<String, AppError> {
    let people = people(state, signed)?;
    let ids: Vec<_> = people.iter().map(|m| m.id.clone()).collect();
    let notices = state.db.notices(&ids).await?;
    let certificates = state.db.certificates(&ids).await?;
    let applications = state.db.applications_for(&ids).await?;
    records::record(state, signed, &ids, "qualification", "").await?;
    let today = state.clock.today_in_japan();
    let listed = flow::documents(&people, &notices, &certificates, &applications, today);
    let page = Page {
        people: listed.iter().map(view).collect(),
        reasons: ApplicationReason::ALL.iter().map(|r| r.as_str()).collect(),
        note_max: NOTE_MAX_CHARS,
        applied: outcome.applied,
        error: outcome.error,
        form: outcome.form,
    };
    Ok(state.templates.render("qualification.html", signed.locale, &signed.chrome(), page)?)
}

/// 資格確認書の交付・再交付申請: POST, then redirect to the page (POST-redirect-GET); a form that
/// cannot be sent is shown again with its error and what was typed.
async fn apply(
    State(state): State<AppState>,
    signed: Signed,
    form: Result<Form<ApplicationForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    if !signed.holds_csrf(&form.csrf) {
        return AppError::Csrf.render(signed.locale, &signed.kenpo.display_name);
    }
    let people = match people(&state, &signed) {
        Ok(p) => p,
        Err(e) => return e.render(signed.locale, &signed.kenpo.display_name),
    };
    let input = ApplicationInput { person: &form.person, reason: &form.reason, note: &form.note };
    let result = flow::apply(&state.db, &signed.who.member, &people, input, state.clock.now()).await;
    let (status, error) = match result {
        Ok(_) => {
            let lang = signed.locale.code();
            return Redirect::to(&format!("{PAGE}?applied=1&lang={lang}")).into_response();
        }
        Err(QualificationError::Form(e)) => (StatusCode::UNPROCESSABLE_ENTITY, e.key()),
        Err(QualificationError::AlreadyOpen) => (StatusCode::CONFLICT, "qualification.error.already_open"),
        Err(e) => return app_error(e).render(signed.locale, &signed.kenpo.display_name),
    };
    let form = Kept { person: form.person, reason: form.reason, note: form.note };
    respond(&state, &signed, status, Outcome { applied: false, error: Some(error), form }).await
}

/// The member side meets only "not found" and the store's failures; anything else would be a
/// bug, shown as the generic error page and logged.
fn app_error(e: QualificationError) -> AppError {
    match e {
        QualificationError::NotFound => AppError::NotFound,
        QualificationError::Store(e) => AppError::Store(e),
        e => AppError::Document(e.to_string()),
    }
}

/// The latest 資格情報のお知らせ of one person the member handles, as PDF.
async fn notice_pdf(State(state): State<AppState>, signed: Signed, Path(file): Path<String>) -> Response {
    if let Some(login) = fresh_or_login(&state, &signed, &format!("/qualification/notice/{file}")) {
        return login;
    }
    match make_notice_pdf(&state, &signed, &file).await {
        Ok(r) => r,
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

async fn make_notice_pdf(state: &AppState, signed: &Signed, file: &str) -> Result<Response, AppError> {
    let asked = file.strip_suffix(".pdf").ok_or(AppError::NotFound)?;
    let people = people(state, signed)?;
    let person =
        access::narrow(&people, Some(asked)).and_then(|v| v.first().copied()).ok_or(AppError::NotFound)?;
    let notices = state.db.notices(std::slice::from_ref(&person.id)).await?;
    let notice = notices.first().ok_or(AppError::NotFound)?;
    records::record(state, signed, [&person.id], "qualification_notice_pdf", &notice.id).await?;
    let document = flow::notice_document(&signed.kenpo, person, notice)
        .ok_or_else(|| AppError::Document(format!("member {} has an unreadable birth date", person.id)))?;
    let pdf = export::qualification_notice_pdf(&document, font(state)?)
        .map_err(|e| AppError::Document(e.to_string()))?;
    let name = format!("shikaku_joho_{}_{}.pdf", person.branch, notice.issued_on);
    Ok(attachment(pdf, "application/pdf", &name))
}
