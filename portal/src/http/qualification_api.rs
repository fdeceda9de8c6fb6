//! The kenpo API for 資格情報のお知らせ and 資格確認書 (role `manage-qualification`): review the
//! members' applications for a card (list, accept, reject with a reason, issued), record the
//! notices and cards the kenpo issued, and a card's return. JSON in and out; errors in the
//! kenpo API's shape, in both languages. Members are named by their card (記号・番号・枝番), as
//! the kenpo's systems know them.

use super::kenpo_api::{ApiJson, Authorized, ManageQualification, api_error, server_error};
use crate::app::AppState;
use crate::domain::{ApplicationStatus, Copay, NoticeReason, parse_date};
use crate::flows::qualification::{self as flow, CardNumber, Decision, QualificationError};
use crate::store::{Applicant, Application, QualificationStore};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const APPLICATIONS: &str = "/api/kenpo/qualification/applications";
pub const DECISION: &str = "/api/kenpo/qualification/applications/{id}/decision";
pub const NOTICES: &str = "/api/kenpo/qualification/notices";
pub const CERTIFICATES: &str = "/api/kenpo/qualification/certificates";
pub const RETURN: &str = "/api/kenpo/qualification/certificates/{id}/return";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(APPLICATIONS, get(list))
        .route(DECISION, post(decide))
        .route(NOTICES, post(record_notice))
        .route(CERTIFICATES, post(record_certificate))
        .route(RETURN, post(return_certificate))
}

fn bad_request(ja: &str, en: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "invalid_request", ja, en)
}

fn error(e: QualificationError) -> Response {
    match e {
        QualificationError::NotFound => api_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "該当する加入者・申請・資格確認書がありません",
            "no such member, application or certificate",
        ),
        QualificationError::Invalid(invalid) => {
            api_error(StatusCode::BAD_REQUEST, invalid.code(), invalid.message_ja(), &invalid.to_string())
        }
        QualificationError::Transition { from, to } => api_error(
            StatusCode::CONFLICT,
            "invalid_transition",
            &format!("状態が {} の申請は {} にできません", from.as_str(), to.as_str()),
            &format!("an application that is {} cannot become {}", from.as_str(), to.as_str()),
        ),
        QualificationError::Changed => api_error(
            StatusCode::CONFLICT,
            "changed",
            "この申請は別の処理で更新されました。一覧を取得し直してください",
            "the application was decided meanwhile; list the applications again",
        ),
        QualificationError::Store(e) => server_error(&e),
        // Member-side outcomes; the kenpo's operations never produce them.
        e @ (QualificationError::Form(_) | QualificationError::AlreadyOpen) => {
            tracing::error!(error = %e, "unexpected qualification outcome in the kenpo API");
            server_error(&crate::store::StoreError::Corrupt("qualification outcome"))
        }
    }
}

fn rfc3339(millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// A member as the kenpo names them.
#[derive(Debug, Serialize)]
struct MemberCard {
    symbol: String,
    number: String,
    branch: String,
    name: String,
}

/// An application for a 資格確認書, as the kenpo reads it.
#[derive(Debug, Serialize)]
struct ApplicationBody {
    id: String,
    status: &'static str,
    reason: &'static str,
    note: String,
    rejection: Option<String>,
    certificate_id: Option<String>,
    applied_at: String,
    decided_at: Option<String>,
    member: Option<MemberCard>,
}

impl ApplicationBody {
    fn new(a: Application, card: Option<Applicant>) -> Self {
        Self {
            id: a.id,
            status: a.status.as_str(),
            reason: a.reason.as_str(),
            note: a.note,
            rejection: a.rejection,
            certificate_id: a.certificate_id,
            applied_at: rfc3339(a.applied_at),
            decided_at: a.decided_at.map(rfc3339),
            member: card.map(|c| MemberCard {
                symbol: c.symbol,
                number: c.number,
                branch: c.branch,
                name: c.name,
            }),
        }
    }
}

#[derive(Debug, Serialize)]
struct Applications {
    applications: Vec<ApplicationBody>,
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
}

/// `GET /api/kenpo/qualification/applications?status=`: the kenpo's applications, oldest first.
async fn list(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageQualification>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("クエリが正しくありません", "the query string is malformed");
    };
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match ApplicationStatus::parse(s) {
            Some(status) => Some(status),
            None => {
                return bad_request(
                    "status は applied / accepted / rejected / issued のいずれかです",
                    "status is one of applied, accepted, rejected, issued",
                );
            }
        },
    };
    match state.db.kenpo_applications(&caller.kenpo.id, status).await {
        Ok(rows) => Json(Applications {
            applications: rows.into_iter().map(|(a, card)| ApplicationBody::new(a, Some(card))).collect(),
        })
        .into_response(),
        Err(e) => server_error(&e),
    }
}

/// 一部負担割合 as sent: `{ "percent": 20, "from": "2026-08-01", "until": "2027-07-31" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CopayBody {
    percent: u8,
    from: Option<String>,
    until: Option<String>,
}

/// A field the kenpo sent that does not parse: answered 400, in both languages.
#[derive(Debug)]
struct BadField {
    ja: String,
    en: String,
}

impl IntoResponse for BadField {
    fn into_response(self) -> Response {
        bad_request(&self.ja, &self.en)
    }
}

fn date(s: &str, field: &str) -> Result<time::Date, BadField> {
    parse_date(s).ok_or_else(|| BadField {
        ja: format!("{field} は YYYY-MM-DD 形式の日付です"),
        en: format!("{field} must be a date as YYYY-MM-DD"),
    })
}

fn copay(body: Option<&CopayBody>) -> Result<Option<Copay>, BadField> {
    let Some(body) = body else { return Ok(None) };
    let from = body.from.as_deref().map(|d| date(d, "copay.from")).transpose()?;
    let until = body.until.as_deref().map(|d| date(d, "copay.until")).transpose()?;
    Copay::new(body.percent, from, until).map(Some).ok_or_else(|| BadField {
        ja: "copay.percent は 10 / 20 / 30 で、from は until 以前の日付です".to_owned(),
        en: "copay.percent is 10, 20 or 30, and from is on or before until".to_owned(),
    })
}

/// A card's 交付年月日, 有効期限 and 一部負担割合, as sent.
fn card_dates(
    issued_on: &str,
    valid_until: &str,
    c: Option<&CopayBody>,
) -> Result<(time::Date, time::Date, Option<Copay>), BadField> {
    Ok((date(issued_on, "issued_on")?, date(valid_until, "valid_until")?, copay(c)?))
}

/// `{ "decision": "accept" }`, `{ "decision": "reject", "reason": "…" }` or
/// `{ "decision": "issued", "issued_on": "…", "valid_until": "…", "copay": {…} }`.
#[derive(Debug, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
enum DecisionBody {
    Accept,
    Reject { reason: String },
    Issued { issued_on: String, valid_until: String, copay: Option<CopayBody> },
}

/// `POST /api/kenpo/qualification/applications/{id}/decision`.
async fn decide(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageQualification>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Response {
    let decision = match body {
        DecisionBody::Accept => Decision::Accept,
        DecisionBody::Reject { reason } => Decision::Reject { reason },
        DecisionBody::Issued { issued_on, valid_until, copay: c } => {
            match card_dates(&issued_on, &valid_until, c.as_ref()) {
                Ok((issued_on, valid_until, copay)) => Decision::Issue { issued_on, valid_until, copay },
                Err(bad) => return bad.into_response(),
            }
        }
    };
    match flow::decide(&state.db, &caller.kenpo.id, &id, decision, state.clock.now()).await {
        Ok(application) => Json(ApplicationBody::new(application, None)).into_response(),
        Err(e) => error(e),
    }
}

/// Whom an issue is for, by card.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    symbol: String,
    number: String,
    branch: String,
    issued_on: String,
    reason: String,
    copay: Option<CopayBody>,
}

#[derive(Debug, Serialize)]
struct Recorded {
    id: String,
    member_id: String,
    issued_on: String,
}

/// `POST /api/kenpo/qualification/notices`: a 資格情報のお知らせ the kenpo issued; members who
/// handle it are told by the update mail (category `qualification_notice`).
async fn record_notice(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageQualification>,
    ApiJson(body): ApiJson<NoticeBody>,
) -> Response {
    let Some(reason) = NoticeReason::parse(&body.reason) else {
        return bad_request(
            "reason は enrolment / card_change / name_change / copay_change / reissue / other のいずれかです",
            "reason is one of enrolment, card_change, name_change, copay_change, reissue, other",
        );
    };
    let parsed = date(&body.issued_on, "issued_on").and_then(|d| Ok((d, copay(body.copay.as_ref())?)));
    let (issued_on, copay) = match parsed {
        Ok(parsed) => parsed,
        Err(bad) => return bad.into_response(),
    };
    let card = CardNumber { symbol: &body.symbol, number: &body.number, branch: &body.branch };
    match flow::record_notice(&state.db, &caller.kenpo.id, card, issued_on, reason, copay, state.clock.now())
        .await
    {
        Ok(n) => (
            StatusCode::CREATED,
            Json(Recorded {
                id: n.id,
                member_id: n.member_id.to_string(),
                issued_on: n.issued_on.to_string(),
            }),
        )
            .into_response(),
        Err(e) => error(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateBody {
    symbol: String,
    number: String,
    branch: String,
    issued_on: String,
    valid_until: String,
    copay: Option<CopayBody>,
}

/// `POST /api/kenpo/qualification/certificates`: a 資格確認書 the kenpo issued outside an
/// application (職権交付, paper applications).
async fn record_certificate(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageQualification>,
    ApiJson(body): ApiJson<CertificateBody>,
) -> Response {
    let (issued_on, valid_until, copay) =
        match card_dates(&body.issued_on, &body.valid_until, body.copay.as_ref()) {
            Ok(parsed) => parsed,
            Err(bad) => return bad.into_response(),
        };
    let card = CardNumber { symbol: &body.symbol, number: &body.number, branch: &body.branch };
    let now = state.clock.now();
    match flow::record_certificate(&state.db, &caller.kenpo.id, card, issued_on, valid_until, copay, now)
        .await
    {
        Ok(c) => (
            StatusCode::CREATED,
            Json(Recorded {
                id: c.id,
                member_id: c.member_id.to_string(),
                issued_on: c.issued_on.to_string(),
            }),
        )
            .into_response(),
        Err(e) => error(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    returned_on: String,
}

/// `POST /api/kenpo/qualification/certificates/{id}/return`: the card came back.
async fn return_certificate(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageQualification>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReturnBody>,
) -> Response {
    let returned_on = match date(&body.returned_on, "returned_on") {
        Ok(d) => d,
        Err(bad) => return bad.into_response(),
    };
    match flow::return_certificate(&state.db, &caller.kenpo.id, &id, returned_on).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_in_the_openapi_document() {
        let doc: serde_json::Value =
            serde_json::from_str(super::super::kenpo_api::DOCUMENT).unwrap_or_default();
        for path in [super::APPLICATIONS, super::DECISION, super::NOTICES, super::CERTIFICATES, super::RETURN]
        {
            let operation = &doc["paths"][path];
            assert!(operation.is_object(), "{path} is documented");
            let role = operation.as_object().and_then(|o| o.values().next()).map(|op| &op["x-required-role"]);
            assert_eq!(role.and_then(|r| r.as_str()), Some("manage-qualification"), "{path}");
        }
    }
}
