//! What the insured member does with the household's sheets: read, save, submit, upload and
//! remove documents. Every sheet is looked up within the signed-in member's household, and only
//! the 被保険者 answers (§5: the insured fills in each dependant's 調査票): a dependant signed in
//! with their own login, or an id from another household, finds nothing.

use super::attachments::{UploadRefusal, sniff};
use super::{Answers, DocumentKind, Event, FieldError, Status, SurveyError, millis};
use crate::domain::Relation;
use crate::store::{
    DocumentWrite, FileStore, Member, Sheet, SheetChange, SheetFile, StoreError, SurveyStore,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Only the household's 被保険者 answers for its dependants.
pub fn may_answer(viewer: &Member) -> bool {
    viewer.relation == Relation::Insured
}

/// The household's sheets, newest survey first; none for anyone else.
pub async fn member_sheets(db: &impl SurveyStore, viewer: &Member) -> Result<Vec<Sheet>, StoreError> {
    if !may_answer(viewer) {
        return Ok(Vec::new());
    }
    db.household_sheets(&viewer.household_id).await
}

/// Whether the viewer has a sheet to hand in (未回答, 入力中 or 差し戻し), for the menu on every
/// page: one query, and none for whom cannot answer.
pub async fn awaits_answers(db: &impl SurveyStore, viewer: &Member) -> Result<bool, StoreError> {
    if !may_answer(viewer) {
        return Ok(false);
    }
    let waiting: Vec<Status> = Status::ALL.into_iter().filter(|s| s.awaits_member()).collect();
    db.household_has_sheet_in(&viewer.household_id, &waiting).await
}

/// What the banner on the top page says: sheets still to hand in.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Banner {
    pub to_do: usize,
    /// The earliest deadline among them, `YYYY-MM-DD`.
    pub deadline: String,
}

/// For the top page (`survey_banner.html`): `None` unless the viewer is the 被保険者 of a
/// household with a sheet still 未回答, 入力中 or 差し戻し.
pub async fn banner(db: &impl SurveyStore, viewer: &Member) -> Result<Option<Banner>, StoreError> {
    let sheets = member_sheets(db, viewer).await?;
    let open: Vec<&Sheet> = sheets.iter().filter(|s| s.status.awaits_member()).collect();
    let deadline = open.iter().map(|s| s.deadline.clone()).min();
    Ok(deadline.map(|deadline| Banner { to_do: open.len(), deadline }))
}

/// One sheet of the viewer's household, with its documents.
pub async fn member_sheet(
    db: &impl SurveyStore,
    viewer: &Member,
    sheet_id: &str,
) -> Result<(Sheet, Vec<SheetFile>), SurveyError> {
    let sheet = own_sheet(db, viewer, sheet_id).await?;
    let files = db.sheet_files(&sheet.id).await?;
    Ok((sheet, files))
}

async fn own_sheet(db: &impl SurveyStore, viewer: &Member, sheet_id: &str) -> Result<Sheet, SurveyError> {
    if !may_answer(viewer) || uuid::Uuid::parse_str(sheet_id).is_err() {
        return Err(SurveyError::NotFound);
    }
    db.household_sheet(&viewer.household_id, sheet_id).await?.ok_or(SurveyError::NotFound)
}

/// What a save came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Kept as typed (入力中, or still 差し戻し).
    Saved,
    /// 提出済み.
    Submitted,
    /// Saved, but not submitted: these answers and documents are missing or wrong.
    Incomplete { fields: Vec<FieldError>, documents: Vec<DocumentKind> },
}

/// Saves the answers (partial is fine); with `submit`, then checks them and the documents and
/// submits. Submitted answers are read-only ([`super::IllegalTransition`]) until 差し戻し.
pub async fn save(
    db: &impl SurveyStore,
    viewer: &Member,
    sheet_id: &str,
    answers: Answers,
    submit: bool,
    now: OffsetDateTime,
) -> Result<Saved, SurveyError> {
    let sheet = own_sheet(db, viewer, sheet_id).await?;
    let saved = sheet.status.next(Event::Save)?;
    let now = millis(now);
    let change = SheetChange {
        id: &sheet.id,
        from: sheet.status,
        to: saved,
        answers: &answers,
        return_reason: sheet.return_reason.as_deref(),
        submitted_at: sheet.submitted_at,
        decided_at: sheet.decided_at,
        now,
    };
    if !db.change_sheet(change).await? {
        return Err(SurveyError::Conflict);
    }
    if !submit {
        return Ok(Saved::Saved);
    }
    let fields = answers.check();
    let files = db.sheet_files(&sheet.id).await?;
    let documents: Vec<DocumentKind> = answers
        .required_documents()
        .into_iter()
        .filter(|kind| !files.iter().any(|f| f.kind == *kind))
        .collect();
    if !fields.is_empty() || !documents.is_empty() {
        return Ok(Saved::Incomplete { fields, documents });
    }
    let submitted = saved.next(Event::Submit)?;
    let change = SheetChange {
        id: &sheet.id,
        from: saved,
        to: submitted,
        answers: &answers,
        // The kenpo's reason was answered by this submission.
        return_reason: None,
        submitted_at: Some(now),
        decided_at: None,
        now,
    };
    if !db.change_sheet(change).await? {
        return Err(SurveyError::Conflict);
    }
    Ok(Saved::Submitted)
}

/// An upload as the request brought it; its size was already held to the limit while it was
/// read.
#[derive(Debug)]
pub struct Upload {
    /// The document it is, as chosen on the page (`None`: not one we know).
    pub kind: Option<DocumentKind>,
    /// The device's file name, for show.
    pub file_name: String,
    pub content: Vec<u8>,
}

/// Where a document change takes each status that allows one (未回答 → 入力中; the others
/// stay), for the store to apply only while the sheet is still in one of them.
fn document_moves() -> Vec<(Status, Status)> {
    Status::ALL.into_iter().filter_map(|s| s.next(Event::ChangeDocuments).ok().map(|to| (s, to))).collect()
}

/// Keeps a document for the sheet, if its content is one we accept and the sheet still takes
/// documents (also after 提出, §5). A first document makes a 未回答 sheet 入力中. The status is
/// checked again where the record is written, in the same transaction: an upload racing the
/// kenpo's 審査中 is refused ([`UploadRefusal::Closed`]) and its bytes removed.
pub async fn upload(
    db: &impl SurveyStore,
    files: &impl FileStore,
    viewer: &Member,
    sheet_id: &str,
    upload: Upload,
    now: OffsetDateTime,
) -> Result<SheetFile, SurveyError> {
    let sheet = own_sheet(db, viewer, sheet_id).await?;
    if !sheet.status.documents_editable() {
        return Err(UploadRefusal::Closed.into());
    }
    let kind = upload.kind.ok_or(UploadRefusal::UnknownKind)?;
    let sniffed = sniff(&upload.content)?;
    let size_bytes = i64::try_from(upload.content.len()).unwrap_or(i64::MAX);
    let sha256 = hex::encode(Sha256::digest(&upload.content));
    let storage_key = files.put(upload.content).await?;
    let file = SheetFile {
        id: uuid::Uuid::new_v4().to_string(),
        sheet_id: sheet.id.clone(),
        kind,
        content_type: sniffed.content_type.to_owned(),
        size_bytes,
        sha256,
        storage_key,
        original_name: upload.file_name,
        uploaded_at: millis(now),
    };
    let written = db.add_file(&file, &document_moves(), file.uploaded_at).await;
    if !matches!(written, Ok(DocumentWrite::Written))
        && let Err(gone) = files.delete(&file.storage_key).await
    {
        tracing::warn!(error = %gone, "a refused upload's bytes were not deleted");
    }
    match written? {
        DocumentWrite::Written => Ok(file),
        DocumentWrite::Closed | DocumentWrite::NoFile => Err(UploadRefusal::Closed.into()),
    }
}

/// Removes one of the sheet's documents, while the sheet takes changes to them (checked again
/// where the record is deleted, as for [`upload`]).
pub async fn remove_file(
    db: &impl SurveyStore,
    files: &impl FileStore,
    viewer: &Member,
    sheet_id: &str,
    file_id: &str,
    now: OffsetDateTime,
) -> Result<(), SurveyError> {
    let sheet = own_sheet(db, viewer, sheet_id).await?;
    let stored = db.sheet_files(&sheet.id).await?;
    let file = stored.iter().find(|f| f.id == file_id).ok_or(SurveyError::NotFound)?;
    if !sheet.status.documents_editable() {
        return Err(UploadRefusal::Closed.into());
    }
    match db.remove_file(&sheet.id, &file.id, &document_moves(), millis(now)).await? {
        DocumentWrite::Written => {
            if let Err(e) = files.delete(&file.storage_key).await {
                // The record is gone, so nobody reaches the bytes; they are only disk space now.
                tracing::warn!(error = %e, "a removed document's bytes were not deleted");
            }
            Ok(())
        }
        DocumentWrite::Closed => Err(UploadRefusal::Closed.into()),
        // Removed meanwhile (the same member, twice).
        DocumentWrite::NoFile => Err(SurveyError::NotFound),
    }
}

/// One of the household's uploaded documents, to show back to the member.
pub async fn member_file(
    db: &impl SurveyStore,
    files: &impl FileStore,
    viewer: &Member,
    sheet_id: &str,
    file_id: &str,
) -> Result<(Sheet, SheetFile, Vec<u8>), SurveyError> {
    let sheet = own_sheet(db, viewer, sheet_id).await?;
    let file = db
        .sheet_files(&sheet.id)
        .await?
        .into_iter()
        .find(|f| f.id == file_id)
        .ok_or(SurveyError::NotFound)?;
    let bytes = files.get(&file.storage_key).await?;
    Ok((sheet, file, bytes))
}
