//! 被扶養者資格確認 for the member: the household's sheets, one sheet's questions (saved as they
//! go, submitted once), its documents (uploaded, removed, shown back). Only the household's
//! 被保険者 reaches a sheet (`flows::survey::may_answer`); any other id is not found.

use super::member::Signed;
use super::records;
use crate::app::AppState;
use crate::error::AppError;
use crate::flows::survey::{
    self, Answers, CHANGES, DocumentKind, FREQUENCIES, FieldError, Guidance, INCOME_KINDS, LIVING,
    OCCUPATIONS, RELATIONSHIPS, Saved, Status, SurveyError, UploadRefusal, YES_NO,
};
use crate::store::{FsFileStore, Sheet, SheetFile};
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{DefaultBodyLimit, Path, Query, RawForm, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const LIST: &str = "/survey";

/// Multipart framing around the file: the body may exceed the file limit by this much.
const FORM_OVERHEAD: u64 = 64 * 1024;

pub fn routes(upload_max_bytes: u64) -> Router<AppState> {
    let body_limit = usize::try_from(upload_max_bytes.saturating_add(FORM_OVERHEAD)).unwrap_or(usize::MAX);
    Router::new()
        .route(LIST, get(list))
        .route("/survey/{sheet}", get(sheet_page).post(save))
        .route("/survey/{sheet}/documents", post(upload).layer(DefaultBodyLimit::max(body_limit)))
        .route("/survey/{sheet}/documents/{file}", get(download))
        .route("/survey/{sheet}/documents/{file}/delete", post(remove))
}

fn sheet_path(id: &str) -> String {
    format!("/survey/{id}")
}

fn files(state: &AppState) -> FsFileStore {
    FsFileStore::under(&state.config.data_dir)
}

impl From<SurveyError> for AppError {
    fn from(e: SurveyError) -> Self {
        match e {
            SurveyError::NotFound => Self::NotFound,
            SurveyError::Store(e) => Self::Store(e),
            other => Self::Document(other.to_string()),
        }
    }
}

#[derive(Serialize)]
struct Row {
    id: String,
    person: String,
    survey: String,
    deadline: String,
    status: &'static str,
    to_do: bool,
}

#[derive(Serialize)]
struct ListPage {
    rows: Vec<Row>,
    may_answer: bool,
}

async fn list(State(state): State<AppState>, signed: Signed) -> Response {
    let rendered = async {
        let sheets = survey::member_sheets(&state.db, &signed.who.member).await?;
        let rows: Vec<Row> = sheets
            .iter()
            .map(|s| Row {
                id: s.id.clone(),
                person: s.member_name.clone(),
                survey: s.survey_title.clone(),
                deadline: s.deadline.clone(),
                status: s.status.as_str(),
                to_do: s.status.awaits_member(),
            })
            .collect();
        let page = ListPage { rows, may_answer: survey::may_answer(&signed.who.member) };
        Ok::<_, AppError>(state.templates.render("survey.html", signed.locale, &signed.chrome(), page)?)
    };
    match rendered.await {
        Ok(html) => Html(html).into_response(),
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

/// What a redirect back to the sheet tells the member: one short code in the address.
#[derive(Debug, Default, Deserialize)]
struct Notice {
    done: Option<String>,
    upload_error: Option<String>,
}

const DONE: [&str; 6] = ["saved", "submitted", "uploaded", "removed", "locked", "changed"];

#[derive(Serialize)]
struct Choices {
    relationships: &'static [&'static str],
    living: &'static [&'static str],
    occupations: &'static [&'static str],
    income_kinds: &'static [&'static str],
    frequencies: &'static [&'static str],
    changes: &'static [&'static str],
    yes_no: &'static [&'static str],
    documents: Vec<&'static str>,
}

fn choices() -> Choices {
    Choices {
        relationships: &RELATIONSHIPS,
        living: &LIVING,
        occupations: &OCCUPATIONS,
        income_kinds: &INCOME_KINDS,
        frequencies: &FREQUENCIES,
        changes: &CHANGES,
        yes_no: &YES_NO,
        documents: DocumentKind::ALL.iter().map(|k| k.as_str()).collect(),
    }
}

#[derive(Serialize)]
struct FileRow {
    id: String,
    kind: &'static str,
    name: String,
    size: String,
}

#[derive(Serialize)]
struct SheetPage {
    id: String,
    survey: String,
    person: String,
    base_date: String,
    deadline: String,
    status: &'static str,
    answers_editable: bool,
    documents_editable: bool,
    return_reason: Option<String>,
    /// 削除 for want of a reply by the deadline (never handed in).
    lapsed: bool,
    a: Answers,
    /// Field → catalogue key of what is wrong with it.
    errors: BTreeMap<&'static str, &'static str>,
    missing_documents: Vec<&'static str>,
    required_documents: Vec<&'static str>,
    files: Vec<FileRow>,
    choices: Choices,
    guidance: Option<Guidance>,
    /// The limit that applies, `1,300,000`.
    limit: String,
    uploaded_kinds: Vec<&'static str>,
    done: Option<&'static str>,
    upload_error: Option<&'static str>,
    max_mb: u64,
}

fn size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / 1_048_576.0)
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// The sheet page: with the answers as stored, or as just typed with what is wrong with them.
fn render_sheet(
    state: &AppState,
    signed: &Signed,
    sheet: &Sheet,
    files: &[SheetFile],
    answers: Answers,
    problems: Option<(Vec<FieldError>, Vec<DocumentKind>)>,
    notice: &Notice,
) -> Result<String, AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let birth = time::Date::parse(&sheet.birth_date, &format).ok();
    let base = time::Date::parse(&sheet.base_date, &format).ok();
    let guidance = birth.zip(base).map(|(b, d)| survey::guidance(b, d, &answers));
    let (fields, missing) = problems.unwrap_or_default();
    let required = answers.required_documents();
    let page = SheetPage {
        id: sheet.id.clone(),
        survey: sheet.survey_title.clone(),
        person: sheet.member_name.clone(),
        base_date: sheet.base_date.clone(),
        deadline: sheet.deadline.clone(),
        status: sheet.status.as_str(),
        answers_editable: sheet.status.answers_editable(),
        documents_editable: sheet.status.documents_editable(),
        return_reason: sheet.return_reason.clone(),
        lapsed: sheet.status == Status::Removed && sheet.submitted_at.is_none(),
        errors: fields.iter().map(|e| (e.field, e.key)).collect(),
        missing_documents: missing.iter().map(|k| k.as_str()).collect(),
        required_documents: required.iter().map(|k| k.as_str()).collect(),
        files: files
            .iter()
            .map(|f| FileRow {
                id: f.id.clone(),
                kind: f.kind.as_str(),
                name: f.original_name.clone(),
                size: size(f.size_bytes),
            })
            .collect(),
        a: answers,
        choices: choices(),
        limit: records::yen(guidance.as_ref().map_or(1_300_000, |g| g.limit_yen)),
        uploaded_kinds: files.iter().map(|f| f.kind.as_str()).collect(),
        guidance,
        done: notice.done.as_deref().and_then(|d| DONE.into_iter().find(|x| *x == d)),
        upload_error: notice
            .upload_error
            .as_deref()
            .and_then(UploadRefusal::from_code)
            .map(UploadRefusal::key),
        max_mb: state.config.upload_max_bytes / (1024 * 1024),
    };
    Ok(state.templates.render("survey_sheet.html", signed.locale, &signed.chrome(), page)?)
}

async fn sheet_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let rendered = async {
        let (sheet, files) = survey::member_sheet(&state.db, &signed.who.member, &id).await?;
        records::record(&state, &signed, [&sheet.member_id], "survey_sheet", &sheet.id).await?;
        let answers = sheet.answers.clone();
        render_sheet(&state, &signed, &sheet, &files, answers, None, &notice)
    };
    match rendered.await {
        Ok(html) => Html(html).into_response(),
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

/// 一時保存 and 提出. An incomplete submission is saved and shown again with what is missing,
/// the input kept; anything else goes back to the sheet (POST-redirect-GET).
async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field =
        |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    if !signed.holds_csrf(field("csrf")) {
        return AppError::Csrf.render(signed.locale, &signed.kenpo.display_name);
    }
    let submit = field("action") == "submit";
    let answers = Answers::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let now = state.clock.now();
    let back =
        |done: &str| Redirect::to(&format!("{}?done={done}&lang={}", sheet_path(&id), signed.locale.code()));
    match survey::save(&state.db, &signed.who.member, &id, answers.clone(), submit, now).await {
        Ok(Saved::Saved) => back("saved").into_response(),
        Ok(Saved::Submitted) => back("submitted").into_response(),
        Ok(Saved::Incomplete { fields, documents }) => {
            let shown = async {
                let (sheet, files) = survey::member_sheet(&state.db, &signed.who.member, &id).await?;
                let problems = Some((fields, documents));
                render_sheet(&state, &signed, &sheet, &files, answers, problems, &Notice::default())
            };
            match shown.await {
                Ok(html) => (StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response(),
                Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
            }
        }
        // Submitted: answers are read-only until 差し戻し. Anything later: the kenpo moved on.
        Err(SurveyError::Illegal(t)) if t.from == Status::Submitted => back("locked").into_response(),
        Err(SurveyError::Illegal(_)) => back("changed").into_response(),
        Err(SurveyError::Conflict) => back("changed").into_response(),
        Err(e) => AppError::from(e).render(signed.locale, &signed.kenpo.display_name),
    }
}

/// The upload form's fields, the file held to `max` bytes while it streams in.
struct UploadForm {
    csrf: String,
    kind: Option<DocumentKind>,
    upload: Option<survey::Upload>,
}

fn refusal_of(e: &MultipartError) -> UploadRefusal {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE { UploadRefusal::TooLarge } else { UploadRefusal::Empty }
}

async fn read_upload(mut form: Multipart, max: u64) -> Result<UploadForm, UploadRefusal> {
    let mut out = UploadForm { csrf: String::new(), kind: None, upload: None };
    while let Some(mut field) = form.next_field().await.map_err(|e| refusal_of(&e))? {
        match field.name() {
            Some("csrf") => out.csrf = field.text().await.map_err(|e| refusal_of(&e))?,
            Some("kind") => out.kind = DocumentKind::parse(&field.text().await.map_err(|e| refusal_of(&e))?),
            Some("file") => {
                let file_name = survey::display_name(field.file_name());
                let mut content = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| refusal_of(&e))? {
                    if (content.len() + chunk.len()) as u64 > max {
                        return Err(UploadRefusal::TooLarge);
                    }
                    content.extend_from_slice(&chunk);
                }
                out.upload = Some(survey::Upload { kind: None, file_name, content });
            }
            _ => {}
        }
    }
    Ok(out)
}

async fn upload(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let back = |query: String| {
        Redirect::to(&format!("{}?{query}&lang={}", sheet_path(&id), signed.locale.code())).into_response()
    };
    let refused = |r: UploadRefusal| back(format!("upload_error={}", r.code()));
    let Ok(form) = form else { return refused(UploadRefusal::Empty) };
    let form = match read_upload(form, state.config.upload_max_bytes).await {
        Ok(form) => form,
        Err(r) => return refused(r),
    };
    if !signed.holds_csrf(&form.csrf) {
        return AppError::Csrf.render(signed.locale, &signed.kenpo.display_name);
    }
    let Some(mut upload) = form.upload else { return refused(UploadRefusal::Empty) };
    upload.kind = form.kind;
    match survey::upload(&state.db, &files(&state), &signed.who.member, &id, upload, state.clock.now()).await
    {
        Ok(_) => back("done=uploaded".to_owned()),
        Err(SurveyError::Upload(r)) => refused(r),
        Err(e) => AppError::from(e).render(signed.locale, &signed.kenpo.display_name),
    }
}

async fn remove(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, file)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Response {
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !signed.holds_csrf(&token) {
        return AppError::Csrf.render(signed.locale, &signed.kenpo.display_name);
    }
    let back = |query: &str| {
        Redirect::to(&format!("{}?{query}&lang={}", sheet_path(&id), signed.locale.code())).into_response()
    };
    match survey::remove_file(&state.db, &files(&state), &signed.who.member, &id, &file, state.clock.now())
        .await
    {
        Ok(()) => back("done=removed"),
        Err(SurveyError::Upload(r)) => back(&format!("upload_error={}", r.code())),
        Err(e) => AppError::from(e).render(signed.locale, &signed.kenpo.display_name),
    }
}

/// The member's own upload, shown back; never rendered inline by the browser.
async fn download(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let fetched = async {
        let (sheet, file, bytes) =
            survey::member_file(&state.db, &files(&state), &signed.who.member, &id, &file).await?;
        records::record(&state, &signed, [&sheet.member_id], "survey_document", &file.id).await?;
        Ok::<_, AppError>((file, bytes))
    };
    match fetched.await {
        Ok((file, bytes)) => {
            let ext = file.content_type.rsplit('/').next().unwrap_or("bin").replace("jpeg", "jpg");
            (
                [
                    (header::CONTENT_TYPE, file.content_type.clone()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{}.{ext}\"", file.kind.as_str()),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => e.render(signed.locale, &signed.kenpo.display_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{self, Locale};

    /// The keys the sheet page builds (`t["survey.relationship." ~ v]` …) exist in both languages.
    #[test]
    fn every_choice_status_and_message_has_words_in_both_languages() {
        let choices = choices();
        let mut keys: Vec<String> = Vec::new();
        let lists: [(&str, &[&str]); 7] = [
            ("relationship", choices.relationships),
            ("living", choices.living),
            ("occupation", choices.occupations),
            ("income_kind", choices.income_kinds),
            ("frequency", choices.frequencies),
            ("change", choices.changes),
            ("yes_no", choices.yes_no),
        ];
        for (list, values) in lists {
            keys.extend(values.iter().map(|v| format!("survey.{list}.{v}")));
        }
        keys.extend(choices.documents.iter().map(|d| format!("survey.document.{d}")));
        keys.extend(Status::ALL.iter().map(|s| format!("survey.status.{}", s.as_str())));
        keys.extend(DONE.iter().map(|d| format!("survey.done.{d}")));
        keys.extend(UploadRefusal::ALL.iter().map(|r| r.key().to_owned()));
        keys.extend(
            [
                "relationship",
                "living",
                "occupation",
                "occupation_detail",
                "has_income",
                "income_kinds",
                "annual_income",
                "remittance",
                "remittance_frequency",
                "other_insurance",
                "spouse_income",
                "planned_change",
                "planned_change_note",
            ]
            .map(|q| format!("survey.q.{q}")),
        );
        keys.extend(
            ["survey.error.required", "survey.error.yen", "survey.error.income_kinds", "survey.lapsed"]
                .map(String::from),
        );
        keys.extend(
            ["base", "senior", "young", "together", "apart", "note"].map(|g| format!("survey.guidance.{g}")),
        );
        let missing: Vec<_> = keys
            .iter()
            .flat_map(|k| [Locale::Ja, Locale::En].map(|l| (k, l)))
            .filter(|(k, l)| !i18n::catalogue(*l).contains_key(k.as_str()))
            .map(|(k, l)| format!("{k} ({})", l.code()))
            .collect();
        assert!(missing.is_empty(), "{missing:#?}");
    }
}
