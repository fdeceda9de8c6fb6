//! 被扶養者資格確認 for the kenpo's systems (role `manage-surveys`): open a survey, list its
//! sheets by status, read a sheet with its answers, download a document, send back with a
//! reason, mark 審査中, decide 認定継続 / 削除. Every lookup is within the caller's kenpo: another
//! kenpo's id is 404. Reading a sheet and downloading a document are recorded in the read audit
//! under the caller's client_id. The wire format is documented in `portal/openapi/kenpo-api.json`.

use super::kenpo_api::{ApiJson, Authorized, Caller, ManageSurveys, api_error, server_error};
use crate::app::AppState;
use crate::domain::MemberId;
use crate::flows::survey::{self, DocumentKind, OpenSurvey, Outcome, Scope, Status, SurveyError};
use crate::store::{FsFileStore, HealthDataRead, Reader, RecordStore, Sheet, SheetFile, Survey, SurveyStore};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::Date;

pub const SURVEYS: &str = "/api/kenpo/surveys";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(SURVEYS, get(list_surveys).post(open))
        .route("/api/kenpo/surveys/{survey}/sheets", get(list_sheets))
        .route("/api/kenpo/sheets/{sheet}", get(read_sheet))
        .route("/api/kenpo/sheets/{sheet}/documents/{file}", get(download))
        .route("/api/kenpo/sheets/{sheet}/send-back", post(send_back))
        .route("/api/kenpo/sheets/{sheet}/review", post(review))
        .route("/api/kenpo/sheets/{sheet}/decision", post(decide))
}

fn bad_request(ja: &str, en: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "invalid_request", ja, en)
}

fn failed(e: SurveyError) -> Response {
    match e {
        SurveyError::NotFound => api_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "指定された調査・調査票・書類はありません",
            "no such survey, sheet or document",
        ),
        SurveyError::Illegal(t) => api_error(
            StatusCode::CONFLICT,
            "invalid_transition",
            &format!("状況が「{}」の調査票にはこの操作はできません", status_ja(t.from)),
            &format!("a sheet that is {} cannot take this action", t.from.as_str()),
        ),
        SurveyError::EarlyLapse(e) => api_error(
            StatusCode::CONFLICT,
            "invalid_transition",
            &format!("未提出の調査票を削除と決定できるのは提出期限（{}）を過ぎてからです", e.deadline),
            &format!("a sheet not handed in can be decided removed only after its deadline ({})", e.deadline),
        ),
        SurveyError::Conflict => api_error(
            StatusCode::CONFLICT,
            "conflict",
            "調査票が同時に更新されました。読み直してから再度お試しください",
            "the sheet changed meanwhile; read it again and retry",
        ),
        SurveyError::Invalid(field) => {
            let (ja, en) = match field {
                "title" => ("title は1〜200文字で指定してください", "title must have 1 to 200 characters"),
                "deadline" => (
                    "deadline は base_date 以降の日付にしてください",
                    "deadline must not be before base_date",
                ),
                "member_ids" => (
                    "member_ids にこの健康保険組合の被扶養者でない ID があります",
                    "member_ids names someone who is not one of the kenpo's dependants",
                ),
                "scope" => ("対象となる被扶養者がいません", "no dependant is in scope"),
                "reason" => {
                    ("reason は1〜1000文字で指定してください", "reason must have 1 to 1000 characters")
                }
                _ => ("リクエストが正しくありません", "the request is invalid"),
            };
            bad_request(ja, en)
        }
        SurveyError::Store(e) => server_error(&e),
        SurveyError::Upload(_) | SurveyError::Files(_) => {
            tracing::error!(error = %e, "kenpo survey API failed");
            api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "処理に失敗しました。しばらくしてから再度お試しください",
                "the request failed; please try again later",
            )
        }
    }
}

fn status_ja(s: Status) -> &'static str {
    match s {
        Status::Unanswered => "未回答",
        Status::InProgress => "入力中",
        Status::Submitted => "提出済み",
        Status::Returned => "差し戻し",
        Status::UnderReview => "審査中",
        Status::Continued => "認定継続",
        Status::Removed => "削除",
    }
}

fn default_min_age() -> Option<u8> {
    Some(survey::DEFAULT_MIN_AGE)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    title: String,
    base_date: String,
    deadline: String,
    /// Absent: 18. `null`: only `member_ids`.
    #[serde(default = "default_min_age")]
    min_age: Option<u8>,
    #[serde(default)]
    member_ids: Vec<String>,
}

#[derive(Serialize)]
struct SurveyBody {
    id: String,
    title: String,
    base_date: String,
    deadline: String,
    min_age: Option<i64>,
    opened_by: String,
    opened_at: i64,
}

impl From<Survey> for SurveyBody {
    fn from(s: Survey) -> Self {
        Self {
            id: s.id,
            title: s.title,
            base_date: s.base_date,
            deadline: s.deadline,
            min_age: s.min_age,
            opened_by: s.opened_by,
            opened_at: s.opened_at,
        }
    }
}

#[derive(Serialize)]
struct Opened {
    survey: SurveyBody,
    sheets: usize,
}

fn date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// `POST /api/kenpo/surveys`: one 未回答 sheet per dependant in scope.
async fn open(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageSurveys>,
    ApiJson(req): ApiJson<OpenRequest>,
) -> Response {
    let (Some(base_date), Some(deadline)) = (date(&req.base_date), date(&req.deadline)) else {
        return bad_request(
            "base_date と deadline は YYYY-MM-DD で指定してください",
            "base_date and deadline are YYYY-MM-DD",
        );
    };
    let members: Option<Vec<MemberId>> = req.member_ids.iter().map(|id| MemberId::parse(id)).collect();
    let Some(members) = members else {
        return failed(SurveyError::Invalid("member_ids"));
    };
    let spec =
        OpenSurvey { title: req.title, base_date, deadline, scope: Scope { min_age: req.min_age, members } };
    match survey::open(&state.db, &caller.kenpo.id, spec, &caller.client_id, state.clock.now()).await {
        Ok((survey, sheets)) => {
            (StatusCode::CREATED, Json(Opened { survey: survey.into(), sheets })).into_response()
        }
        Err(e) => failed(e),
    }
}

/// `GET /api/kenpo/surveys`: the kenpo's surveys, newest first.
async fn list_surveys(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageSurveys>,
) -> Response {
    match state.db.surveys(&caller.kenpo.id).await {
        Ok(surveys) => Json(surveys.into_iter().map(SurveyBody::from).collect::<Vec<_>>()).into_response(),
        Err(e) => server_error(&e),
    }
}

#[derive(Serialize)]
struct SheetSummary {
    id: String,
    survey_id: String,
    member_id: String,
    member_name: String,
    status: &'static str,
    return_reason: Option<String>,
    submitted_at: Option<i64>,
    decided_at: Option<i64>,
    updated_at: i64,
}

impl From<&Sheet> for SheetSummary {
    fn from(s: &Sheet) -> Self {
        Self {
            id: s.id.clone(),
            survey_id: s.survey_id.clone(),
            member_id: s.member_id.to_string(),
            member_name: s.member_name.clone(),
            status: s.status.as_str(),
            return_reason: s.return_reason.clone(),
            submitted_at: s.submitted_at,
            decided_at: s.decided_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
struct SheetFilter {
    status: Option<String>,
}

/// `GET /api/kenpo/surveys/{survey}/sheets?status=submitted`.
async fn list_sheets(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageSurveys>,
    Path(survey_id): Path<String>,
    Query(filter): Query<SheetFilter>,
) -> Response {
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match Status::parse(raw) {
            Some(s) => Some(s),
            None => {
                return bad_request(
                    "status は unanswered, in_progress, submitted, returned, under_review, continued, removed のいずれかです",
                    "status is one of unanswered, in_progress, submitted, returned, under_review, continued, removed",
                );
            }
        },
    };
    let listed = async {
        state.db.survey(&caller.kenpo.id, &survey_id).await?.ok_or(SurveyError::NotFound)?;
        Ok::<_, SurveyError>(state.db.survey_sheets(&survey_id, status).await?)
    };
    match listed.await {
        Ok(sheets) => Json(sheets.iter().map(SheetSummary::from).collect::<Vec<_>>()).into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Serialize)]
struct FileBody {
    id: String,
    kind: &'static str,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    file_name: String,
    uploaded_at: i64,
}

impl From<&SheetFile> for FileBody {
    fn from(f: &SheetFile) -> Self {
        Self {
            id: f.id.clone(),
            kind: f.kind.as_str(),
            content_type: f.content_type.clone(),
            size_bytes: f.size_bytes,
            sha256: f.sha256.clone(),
            file_name: f.original_name.clone(),
            uploaded_at: f.uploaded_at,
        }
    }
}

#[derive(Serialize)]
struct SheetBody {
    #[serde(flatten)]
    summary: SheetSummary,
    survey_title: String,
    base_date: String,
    deadline: String,
    birth_date: String,
    /// As the member typed them; checked at 提出.
    answers: survey::Answers,
    /// The amounts of `answers` in yen, where they read as numbers.
    amounts: serde_json::Map<String, serde_json::Value>,
    required_documents: Vec<&'static str>,
    documents: Vec<FileBody>,
}

/// One of the caller's kenpo's sheets, with its documents.
async fn sheet_of(
    state: &AppState,
    caller: &Caller,
    sheet_id: &str,
) -> Result<(Sheet, Vec<SheetFile>), Response> {
    survey::kenpo_sheet(&state.db, &caller.kenpo.id, sheet_id).await.map_err(failed)
}

/// `GET /api/kenpo/sheets/{sheet}`: the sheet, its answers and its documents' details.
async fn read_sheet(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageSurveys>,
    Path(sheet_id): Path<String>,
) -> Response {
    let (sheet, files) = match sheet_of(&state, &caller, &sheet_id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    if let Err(r) = record_read(&state, &caller, &sheet, "survey_sheet", &sheet.id).await {
        return r;
    }
    let amounts = survey::typed_amounts(&sheet.answers)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.map_or(serde_json::Value::Null, serde_json::Value::from)))
        .collect();
    let body = SheetBody {
        summary: SheetSummary::from(&sheet),
        survey_title: sheet.survey_title.clone(),
        base_date: sheet.base_date.clone(),
        deadline: sheet.deadline.clone(),
        birth_date: sheet.birth_date.clone(),
        required_documents: sheet
            .answers
            .required_documents()
            .into_iter()
            .map(DocumentKind::as_str)
            .collect(),
        amounts,
        answers: sheet.answers,
        documents: files.iter().map(FileBody::from).collect(),
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/kenpo/sheets/{sheet}/documents/{file}`: the bytes, as their content was found to be.
async fn download(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageSurveys>,
    Path((sheet_id, file_id)): Path<(String, String)>,
) -> Response {
    let files = FsFileStore::under(&state.config.data_dir);
    let fetched = async {
        let (sheet, file, bytes) =
            survey::kenpo_file(&state.db, &files, &caller.kenpo.id, &sheet_id, &file_id)
                .await
                .map_err(failed)?;
        record_read(&state, &caller, &sheet, "survey_document", &file.id).await?;
        Ok::<_, Response>((file, bytes))
    };
    match fetched.await {
        Ok((file, bytes)) => (
            [
                (header::CONTENT_TYPE, file.content_type.clone()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}-{}\"", file.kind.as_str(), file.id),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Err(r) => r,
    }
}

/// Records the kenpo system's read of the dependant's sheet or document (要配慮個人情報) in the
/// read audit, under its client_id, before the data goes out: no record, no data.
async fn record_read(
    state: &AppState,
    caller: &Caller,
    sheet: &Sheet,
    what: &str,
    detail: &str,
) -> Result<(), Response> {
    let read = HealthDataRead {
        kenpo_id: &caller.kenpo.id,
        reader: Reader::ApiClient(&caller.client_id),
        subjects: std::slice::from_ref(&sheet.member_id),
        what,
        detail,
        at_millis: shared_runtime::db::to_millis(state.clock.now()),
    };
    state.db.record_reads(read).await.map_err(|e| server_error(&e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBackRequest {
    reason: String,
}

/// `POST /api/kenpo/sheets/{sheet}/send-back`: 差し戻し with the reason the member reads.
async fn send_back(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageSurveys>,
    Path(sheet_id): Path<String>,
    body: Result<Json<SendBackRequest>, JsonRejection>,
) -> Response {
    let Ok(Json(req)) = body else { return failed(SurveyError::Invalid("reason")) };
    changed(survey::send_back(&state.db, &caller.kenpo.id, &sheet_id, &req.reason, state.clock.now()).await)
}

/// `POST /api/kenpo/sheets/{sheet}/review`: 審査中.
async fn review(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageSurveys>,
    Path(sheet_id): Path<String>,
) -> Response {
    changed(survey::start_review(&state.db, &caller.kenpo.id, &sheet_id, state.clock.now()).await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    outcome: Outcome,
}

/// `POST /api/kenpo/sheets/{sheet}/decision`: `{"outcome": "continued" | "removed"}`. A sheet
/// under review takes either; one never handed in takes `removed` once its deadline has passed.
async fn decide(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<ManageSurveys>,
    Path(sheet_id): Path<String>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> Response {
    let Ok(Json(req)) = body else {
        return bad_request("outcome は continued または removed です", "outcome is continued or removed");
    };
    changed(survey::decide(&state.db, &caller.kenpo.id, &sheet_id, req.outcome, state.clock.now()).await)
}

fn changed(result: Result<Sheet, SurveyError>) -> Response {
    match result {
        Ok(sheet) => Json(SheetSummary::from(&sheet)).into_response(),
        Err(e) => failed(e),
    }
}
