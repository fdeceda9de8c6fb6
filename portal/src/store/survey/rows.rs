//! The survey tables' rows as they come out of the database, and what they become.

use super::{Sheet, SheetFile, Survey};
use crate::domain::{HouseholdId, MemberId};
use crate::flows::survey::{DocumentKind, Status};
use crate::store::StoreError;

#[derive(sqlx::FromRow)]
pub(super) struct SurveyRow {
    id: String,
    kenpo_id: String,
    title: String,
    base_date: String,
    deadline: String,
    min_age: Option<i64>,
    opened_by: String,
    opened_at: i64,
}

impl From<SurveyRow> for Survey {
    fn from(r: SurveyRow) -> Self {
        Self {
            id: r.id,
            kenpo_id: r.kenpo_id,
            title: r.title,
            base_date: r.base_date,
            deadline: r.deadline,
            min_age: r.min_age,
            opened_by: r.opened_by,
            opened_at: r.opened_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SheetRow {
    id: String,
    survey_id: String,
    household_id: String,
    member_id: String,
    status: String,
    answers: String,
    return_reason: Option<String>,
    submitted_at: Option<i64>,
    decided_at: Option<i64>,
    updated_at: i64,
    survey_title: String,
    base_date: String,
    deadline: String,
    member_name: String,
    birth_date: String,
}

impl TryFrom<SheetRow> for Sheet {
    type Error = StoreError;
    fn try_from(r: SheetRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            survey_id: r.survey_id,
            household_id: HouseholdId::from_db(r.household_id),
            member_id: MemberId::from_db(r.member_id),
            status: Status::parse(&r.status).ok_or(StoreError::Corrupt("survey_sheets.status"))?,
            answers: serde_json::from_str(&r.answers)
                .map_err(|_| StoreError::Corrupt("survey_sheets.answers"))?,
            return_reason: r.return_reason,
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
            updated_at: r.updated_at,
            survey_title: r.survey_title,
            base_date: r.base_date,
            deadline: r.deadline,
            member_name: r.member_name,
            birth_date: r.birth_date,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct FileRow {
    id: String,
    sheet_id: String,
    kind: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    storage_key: String,
    original_name: String,
    uploaded_at: i64,
}

impl TryFrom<FileRow> for SheetFile {
    type Error = StoreError;
    fn try_from(r: FileRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            sheet_id: r.sheet_id,
            kind: DocumentKind::parse(&r.kind).ok_or(StoreError::Corrupt("survey_files.kind"))?,
            content_type: r.content_type,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            storage_key: r.storage_key,
            original_name: r.original_name,
            uploaded_at: r.uploaded_at,
        })
    }
}
