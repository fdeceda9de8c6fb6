//! 被扶養者資格確認: the kenpo's surveys, one answer sheet per dependant, and the documents
//! uploaded to each. Member-side reads always name the household, kenpo-side reads the kenpo:
//! a sheet is never found by its id alone.

mod rows;

use super::members::{MemberRow, SELECT as MEMBERS};
use super::{Db, Member, StoreError};
use crate::domain::{HouseholdId, MemberId};
use crate::flows::survey::{Answers, DocumentKind, Status};
use rows::{FileRow, SheetRow, SurveyRow};
use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    pub id: String,
    pub kenpo_id: String,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub base_date: String,
    pub deadline: String,
    pub min_age: Option<i64>,
    pub opened_by: String,
    pub opened_at: i64,
}

/// A sheet with what the pages show beside it: its survey and the dependant it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub id: String,
    pub survey_id: String,
    pub household_id: HouseholdId,
    pub member_id: MemberId,
    pub status: Status,
    pub answers: Answers,
    pub return_reason: Option<String>,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub updated_at: i64,
    pub survey_title: String,
    pub base_date: String,
    pub deadline: String,
    pub member_name: String,
    pub birth_date: String,
}

/// A sheet's new state, written only if it still is in `from` (a member's save racing the
/// kenpo's decision loses, rather than overwriting it).
#[derive(Debug, Clone)]
pub struct SheetChange<'a> {
    pub id: &'a str,
    pub from: Status,
    pub to: Status,
    pub answers: &'a Answers,
    pub return_reason: Option<&'a str>,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetFile {
    pub id: String,
    pub sheet_id: String,
    pub kind: DocumentKind,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub original_name: String,
    pub uploaded_at: i64,
}

/// A sheet the reminder job looks at, with the household's insured member to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRow {
    pub sheet_id: String,
    pub survey_id: String,
    pub survey_title: String,
    pub status: Status,
    pub deadline: String,
    pub reminded_on: Option<String>,
    pub household_id: HouseholdId,
    /// The 被保険者 who answers (and whose login gets the mail).
    pub insured_id: MemberId,
}

/// What became of a change to a sheet's documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentWrite {
    Written,
    /// The sheet no longer takes documents (審査中 or decided): nothing was written.
    Closed,
    /// No such file on the sheet (removal only).
    NoFile,
}

pub trait SurveyStore {
    /// The kenpo's dependants (被扶養者), whom a survey's scope is chosen from.
    fn kenpo_dependants(
        &self,
        kenpo_id: &str,
    ) -> impl Future<Output = Result<Vec<Member>, StoreError>> + Send;
    /// Creates the survey and a 未回答 sheet for each `(dependant, household)`, in one transaction.
    fn open_survey(
        &self,
        survey: &Survey,
        sheets: &[(MemberId, HouseholdId)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn surveys(&self, kenpo_id: &str) -> impl Future<Output = Result<Vec<Survey>, StoreError>> + Send;
    fn survey(
        &self,
        kenpo_id: &str,
        survey_id: &str,
    ) -> impl Future<Output = Result<Option<Survey>, StoreError>> + Send;
    /// A survey's sheets, optionally of one status, by household card then 枝番.
    fn survey_sheets(
        &self,
        survey_id: &str,
        status: Option<Status>,
    ) -> impl Future<Output = Result<Vec<Sheet>, StoreError>> + Send;
    /// The household's sheets, newest survey first.
    fn household_sheets(
        &self,
        household_id: &HouseholdId,
    ) -> impl Future<Output = Result<Vec<Sheet>, StoreError>> + Send;
    /// Whether the household has a sheet in one of `statuses`.
    fn household_has_sheet_in(
        &self,
        household_id: &HouseholdId,
        statuses: &[Status],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// One sheet, if it is the household's.
    fn household_sheet(
        &self,
        household_id: &HouseholdId,
        sheet_id: &str,
    ) -> impl Future<Output = Result<Option<Sheet>, StoreError>> + Send;
    /// One sheet, if it is the kenpo's.
    fn kenpo_sheet(
        &self,
        kenpo_id: &str,
        sheet_id: &str,
    ) -> impl Future<Output = Result<Option<Sheet>, StoreError>> + Send;
    /// Writes the change; `false` when the sheet had left `change.from` meanwhile.
    fn change_sheet(&self, change: SheetChange<'_>) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records the file if the sheet still takes documents, deciding and writing in one
    /// transaction that holds the sheet's row (PostgreSQL's row lock, SQLite's write lock), so a
    /// kenpo moving the sheet to 審査中 meanwhile either waits for it or wins and it is refused.
    /// `moves` lists the statuses that take a document change and where each goes (未回答 →
    /// 入力中). [`DocumentWrite::Closed`]: nothing was written.
    fn add_file(
        &self,
        file: &SheetFile,
        moves: &[(Status, Status)],
        now: i64,
    ) -> impl Future<Output = Result<DocumentWrite, StoreError>> + Send;
    fn sheet_files(&self, sheet_id: &str) -> impl Future<Output = Result<Vec<SheetFile>, StoreError>> + Send;
    /// Forgets a file of the sheet if the sheet still takes documents, as [`Self::add_file`]
    /// decides it.
    fn remove_file(
        &self,
        sheet_id: &str,
        file_id: &str,
        moves: &[(Status, Status)],
        now: i64,
    ) -> impl Future<Output = Result<DocumentWrite, StoreError>> + Send;
    /// Sheets of the kenpo's surveys whose deadline is in `from..=to` and that still await the
    /// member (未回答, 入力中, 差し戻し).
    fn reminder_rows(
        &self,
        kenpo_id: &str,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<Vec<ReminderRow>, StoreError>> + Send;
    /// Notes that the sheets' households were reminded on `day`.
    fn mark_reminded(
        &self,
        sheet_ids: &[String],
        day: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether the household of the insured member `insured_id` still has a sheet to hand in
    /// (未回答, 入力中, 差し戻し) whose deadline is `today` or later: a reminder still stands.
    fn still_to_hand_in(
        &self,
        insured_id: &MemberId,
        today: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct ReminderRowDb {
    sheet_id: String,
    survey_id: String,
    survey_title: String,
    status: String,
    deadline: String,
    reminded_on: Option<String>,
    household_id: String,
    insured_id: String,
}

const SURVEY: &str =
    "SELECT id, kenpo_id, title, base_date, deadline, min_age, opened_by, opened_at FROM surveys";

const SHEET: &str = "SELECT s.id, s.survey_id, s.household_id, s.member_id, s.status, s.answers, s.return_reason, \
     s.submitted_at, s.decided_at, s.updated_at, v.title AS survey_title, v.base_date, v.deadline, \
     m.name AS member_name, m.birth_date \
     FROM survey_sheets s JOIN surveys v ON v.id = s.survey_id JOIN members m ON m.id = s.member_id";

const FILE: &str = "SELECT id, sheet_id, kind, content_type, size_bytes, sha256, storage_key, original_name, \
     uploaded_at FROM survey_files";

fn sheets(rows: Vec<SheetRow>) -> Result<Vec<Sheet>, StoreError> {
    rows.into_iter().map(Sheet::try_from).collect()
}

fn answers_json(answers: &Answers) -> Result<String, StoreError> {
    serde_json::to_string(answers).map_err(|_| StoreError::Corrupt("survey answers"))
}

/// The first statement of a document change: moves the sheet by `moves` (and bumps its
/// `updated_at`) only if its status is one of theirs. Being a write, it takes the row lock
/// (PostgreSQL, which re-checks the status after waiting for a concurrent change) or the
/// database's write lock (SQLite) until the transaction ends, so the status it saw is the status
/// the document lands under. `false`: the sheet is in none of them (or gone).
async fn hold_open_sheet(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    sheet_id: &str,
    moves: &[(Status, Status)],
    now: i64,
) -> Result<bool, StoreError> {
    if moves.is_empty() {
        return Ok(false);
    }
    let whens: String =
        (0..moves.len()).map(|i| format!(" WHEN ${} THEN ${}", 3 + 2 * i, 4 + 2 * i)).collect();
    let from: Vec<String> = (0..moves.len()).map(|i| format!("${}", 3 + 2 * i)).collect();
    let sql = format!(
        "UPDATE survey_sheets SET status = CASE status{whens} END, updated_at = $2 \
         WHERE id = $1 AND status IN ({})",
        from.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(sheet_id).bind(now);
    for (from, to) in moves {
        query = query.bind(from.as_str()).bind(to.as_str());
    }
    Ok(query.execute(&mut **tx).await?.rows_affected() == 1)
}

impl SurveyStore for Db {
    async fn kenpo_dependants(&self, kenpo_id: &str) -> Result<Vec<Member>, StoreError> {
        sqlx::query_as::<_, MemberRow>(&format!(
            "{MEMBERS} WHERE m.kenpo_id = $1 AND m.relation = 'dependant' ORDER BY h.symbol, h.number, m.branch"
        ))
        .bind(kenpo_id)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Member::try_from)
        .collect()
    }

    async fn open_survey(
        &self,
        survey: &Survey,
        members: &[(MemberId, HouseholdId)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO surveys (id, kenpo_id, title, base_date, deadline, min_age, opened_by, opened_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&survey.id)
        .bind(&survey.kenpo_id)
        .bind(&survey.title)
        .bind(&survey.base_date)
        .bind(&survey.deadline)
        .bind(survey.min_age)
        .bind(&survey.opened_by)
        .bind(survey.opened_at)
        .execute(&mut *tx)
        .await?;
        for (member, household) in members {
            sqlx::query(
                "INSERT INTO survey_sheets (id, survey_id, kenpo_id, household_id, member_id, status, answers, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, '{}', $7)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&survey.id)
            .bind(&survey.kenpo_id)
            .bind(household.as_str())
            .bind(member.as_str())
            .bind(Status::Unanswered.as_str())
            .bind(survey.opened_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn surveys(&self, kenpo_id: &str) -> Result<Vec<Survey>, StoreError> {
        let rows = sqlx::query_as::<_, SurveyRow>(&format!(
            "{SURVEY} WHERE kenpo_id = $1 ORDER BY opened_at DESC, id"
        ))
        .bind(kenpo_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Survey::from).collect())
    }

    async fn survey(&self, kenpo_id: &str, survey_id: &str) -> Result<Option<Survey>, StoreError> {
        let row = sqlx::query_as::<_, SurveyRow>(&format!("{SURVEY} WHERE kenpo_id = $1 AND id = $2"))
            .bind(kenpo_id)
            .bind(survey_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(Survey::from))
    }

    async fn survey_sheets(&self, survey_id: &str, status: Option<Status>) -> Result<Vec<Sheet>, StoreError> {
        let rows = sqlx::query_as::<_, SheetRow>(&format!(
            "{SHEET} JOIN households h ON h.id = s.household_id \
             WHERE s.survey_id = $1 AND ($2 = '' OR s.status = $2) ORDER BY h.symbol, h.number, m.branch"
        ))
        .bind(survey_id)
        .bind(status.map_or("", Status::as_str))
        .fetch_all(self.pool())
        .await?;
        sheets(rows)
    }

    async fn household_sheets(&self, household_id: &HouseholdId) -> Result<Vec<Sheet>, StoreError> {
        let rows = sqlx::query_as::<_, SheetRow>(&format!(
            "{SHEET} WHERE s.household_id = $1 ORDER BY v.opened_at DESC, m.branch"
        ))
        .bind(household_id.as_str())
        .fetch_all(self.pool())
        .await?;
        sheets(rows)
    }

    async fn household_has_sheet_in(
        &self,
        household_id: &HouseholdId,
        statuses: &[Status],
    ) -> Result<bool, StoreError> {
        if statuses.is_empty() {
            return Ok(false);
        }
        let listed: Vec<String> = (0..statuses.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT COUNT(*) FROM survey_sheets WHERE household_id = $1 AND status IN ({})",
            listed.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64,)>(&sql).bind(household_id.as_str());
        for status in statuses {
            query = query.bind(status.as_str());
        }
        Ok(query.fetch_one(self.pool()).await?.0 > 0)
    }

    async fn household_sheet(
        &self,
        household_id: &HouseholdId,
        sheet_id: &str,
    ) -> Result<Option<Sheet>, StoreError> {
        sqlx::query_as::<_, SheetRow>(&format!("{SHEET} WHERE s.household_id = $1 AND s.id = $2"))
            .bind(household_id.as_str())
            .bind(sheet_id)
            .fetch_optional(self.pool())
            .await?
            .map(Sheet::try_from)
            .transpose()
    }

    async fn kenpo_sheet(&self, kenpo_id: &str, sheet_id: &str) -> Result<Option<Sheet>, StoreError> {
        sqlx::query_as::<_, SheetRow>(&format!("{SHEET} WHERE s.kenpo_id = $1 AND s.id = $2"))
            .bind(kenpo_id)
            .bind(sheet_id)
            .fetch_optional(self.pool())
            .await?
            .map(Sheet::try_from)
            .transpose()
    }

    async fn change_sheet(&self, c: SheetChange<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE survey_sheets SET status = $1, answers = $2, return_reason = $3, submitted_at = $4, \
             decided_at = $5, updated_at = $6 WHERE id = $7 AND status = $8",
        )
        .bind(c.to.as_str())
        .bind(answers_json(c.answers)?)
        .bind(c.return_reason)
        .bind(c.submitted_at)
        .bind(c.decided_at)
        .bind(c.now)
        .bind(c.id)
        .bind(c.from.as_str())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn add_file(
        &self,
        f: &SheetFile,
        moves: &[(Status, Status)],
        now: i64,
    ) -> Result<DocumentWrite, StoreError> {
        let mut tx = self.pool().begin().await?;
        if !hold_open_sheet(&mut tx, &f.sheet_id, moves, now).await? {
            tx.rollback().await?;
            return Ok(DocumentWrite::Closed);
        }
        sqlx::query(
            "INSERT INTO survey_files (id, sheet_id, kind, content_type, size_bytes, sha256, storage_key, \
             original_name, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&f.id)
        .bind(&f.sheet_id)
        .bind(f.kind.as_str())
        .bind(&f.content_type)
        .bind(f.size_bytes)
        .bind(&f.sha256)
        .bind(&f.storage_key)
        .bind(&f.original_name)
        .bind(f.uploaded_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DocumentWrite::Written)
    }

    async fn sheet_files(&self, sheet_id: &str) -> Result<Vec<SheetFile>, StoreError> {
        sqlx::query_as::<_, FileRow>(&format!("{FILE} WHERE sheet_id = $1 ORDER BY uploaded_at, id"))
            .bind(sheet_id)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(SheetFile::try_from)
            .collect()
    }

    async fn remove_file(
        &self,
        sheet_id: &str,
        file_id: &str,
        moves: &[(Status, Status)],
        now: i64,
    ) -> Result<DocumentWrite, StoreError> {
        let mut tx = self.pool().begin().await?;
        if !hold_open_sheet(&mut tx, sheet_id, moves, now).await? {
            tx.rollback().await?;
            return Ok(DocumentWrite::Closed);
        }
        let done = sqlx::query("DELETE FROM survey_files WHERE sheet_id = $1 AND id = $2")
            .bind(sheet_id)
            .bind(file_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(DocumentWrite::NoFile);
        }
        tx.commit().await?;
        Ok(DocumentWrite::Written)
    }

    async fn reminder_rows(
        &self,
        kenpo_id: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<ReminderRow>, StoreError> {
        let rows = sqlx::query_as::<_, ReminderRowDb>(
            "SELECT s.id AS sheet_id, s.survey_id, v.title AS survey_title, s.status, v.deadline, s.reminded_on, \
             s.household_id, i.id AS insured_id \
             FROM survey_sheets s JOIN surveys v ON v.id = s.survey_id \
             JOIN members i ON i.household_id = s.household_id AND i.relation = 'insured' \
             WHERE s.kenpo_id = $1 AND v.deadline >= $2 AND v.deadline <= $3 \
             AND s.status IN ('unanswered', 'in_progress', 'returned') \
             ORDER BY s.household_id, s.id",
        )
        .bind(kenpo_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ReminderRow {
                    sheet_id: r.sheet_id,
                    survey_id: r.survey_id,
                    survey_title: r.survey_title,
                    status: Status::parse(&r.status).ok_or(StoreError::Corrupt("survey_sheets.status"))?,
                    deadline: r.deadline,
                    reminded_on: r.reminded_on,
                    household_id: HouseholdId::from_db(r.household_id),
                    insured_id: MemberId::from_db(r.insured_id),
                })
            })
            .collect()
    }

    async fn mark_reminded(&self, sheet_ids: &[String], day: &str) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for id in sheet_ids {
            sqlx::query("UPDATE survey_sheets SET reminded_on = $1 WHERE id = $2")
                .bind(day)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn still_to_hand_in(&self, insured_id: &MemberId, today: &str) -> Result<bool, StoreError> {
        let found = sqlx::query(
            "SELECT 1 FROM survey_sheets s JOIN surveys v ON v.id = s.survey_id \
             JOIN members i ON i.household_id = s.household_id AND i.kenpo_id = s.kenpo_id \
             WHERE i.id = $1 AND i.relation = 'insured' AND v.deadline >= $2 \
             AND s.status IN ('unanswered', 'in_progress', 'returned') LIMIT 1",
        )
        .bind(insured_id.as_str())
        .bind(today)
        .fetch_optional(self.pool())
        .await?
        .is_some();
        Ok(found)
    }
}
