//! What the kenpo does (through its API): open a survey, read sheets and documents, send a
//! sheet back with a reason, review and decide; and which households are due a reminder.
//! Every lookup names the kenpo: another kenpo's sheet is not found.

use super::lifecycle::{ReminderCandidate, Scope, decision, in_scope, reminder_due};
use super::{Answers, Event, Outcome, SurveyError, millis};
use crate::domain::{HouseholdId, MemberId};
use crate::store::{FileStore, Sheet, SheetChange, SheetFile, StoreError, Survey, SurveyStore};
use time::{Date, Duration, OffsetDateTime};

/// §5 asks about dependants "≥19 (or ≥22, by kenpo)"; the default asks from 18, and a kenpo
/// sets its own age when it opens the survey.
pub const DEFAULT_MIN_AGE: u8 = 18;

/// A survey as the kenpo asks for it.
#[derive(Debug, Clone)]
pub struct OpenSurvey {
    pub title: String,
    /// 基準日: ages are counted and eligibility looked at on this day.
    pub base_date: Date,
    /// 提出期限: the last day answers are taken.
    pub deadline: Date,
    pub scope: Scope,
}

/// Opens the survey: one 未回答 sheet per dependant in scope. Refuses an empty title, a
/// deadline before the base date, a named member who is not one of the kenpo's dependants, and
/// a scope with nobody in it.
pub async fn open(
    db: &impl SurveyStore,
    kenpo_id: &str,
    spec: OpenSurvey,
    opened_by: &str,
    now: OffsetDateTime,
) -> Result<(Survey, usize), SurveyError> {
    let title = spec.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(SurveyError::Invalid("title"));
    }
    if spec.deadline < spec.base_date {
        return Err(SurveyError::Invalid("deadline"));
    }
    let dependants = db.kenpo_dependants(kenpo_id).await?;
    if spec.scope.members.iter().any(|id| !dependants.iter().any(|m| &m.id == id)) {
        return Err(SurveyError::Invalid("member_ids"));
    }
    let chosen: Vec<(MemberId, HouseholdId)> = in_scope(&dependants, &spec.scope, spec.base_date)
        .into_iter()
        .map(|m| (m.id.clone(), m.household_id.clone()))
        .collect();
    if chosen.is_empty() {
        return Err(SurveyError::Invalid("scope"));
    }
    let survey = Survey {
        id: uuid::Uuid::new_v4().to_string(),
        kenpo_id: kenpo_id.to_owned(),
        title: title.to_owned(),
        base_date: spec.base_date.to_string(),
        deadline: spec.deadline.to_string(),
        min_age: spec.scope.min_age.map(i64::from),
        opened_by: opened_by.to_owned(),
        opened_at: millis(now),
    };
    db.open_survey(&survey, &chosen).await?;
    Ok((survey, chosen.len()))
}

/// One of the kenpo's sheets, with its documents.
pub async fn kenpo_sheet(
    db: &impl SurveyStore,
    kenpo_id: &str,
    sheet_id: &str,
) -> Result<(Sheet, Vec<crate::store::SheetFile>), SurveyError> {
    let sheet = db.kenpo_sheet(kenpo_id, sheet_id).await?.ok_or(SurveyError::NotFound)?;
    let files = db.sheet_files(&sheet.id).await?;
    Ok((sheet, files))
}

/// One document of one of the kenpo's sheets, with the sheet and the document's bytes.
pub async fn kenpo_file(
    db: &impl SurveyStore,
    files: &impl FileStore,
    kenpo_id: &str,
    sheet_id: &str,
    file_id: &str,
) -> Result<(Sheet, SheetFile, Vec<u8>), SurveyError> {
    let (sheet, stored) = kenpo_sheet(db, kenpo_id, sheet_id).await?;
    let file = stored.into_iter().find(|f| f.id == file_id).ok_or(SurveyError::NotFound)?;
    let bytes = files.get(&file.storage_key).await?;
    Ok((sheet, file, bytes))
}

async fn kenpo_change(
    db: &impl SurveyStore,
    kenpo_id: &str,
    sheet: Sheet,
    event: Event,
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<Sheet, SurveyError> {
    let to = sheet.status.next(event)?;
    let now = millis(now);
    let decided = matches!(event, Event::Decide(_) | Event::Lapse);
    let change = SheetChange {
        id: &sheet.id,
        from: sheet.status,
        to,
        answers: &sheet.answers,
        return_reason: reason,
        // A sheet that lapses was not handed in (again): an earlier submission that was sent back
        // is not what the decision was about.
        submitted_at: if event == Event::Lapse { None } else { sheet.submitted_at },
        decided_at: if decided { Some(now) } else { sheet.decided_at },
        now,
    };
    if !db.change_sheet(change).await? {
        return Err(SurveyError::Conflict);
    }
    db.kenpo_sheet(kenpo_id, &sheet.id).await?.ok_or(SurveyError::NotFound)
}

async fn found(db: &impl SurveyStore, kenpo_id: &str, sheet_id: &str) -> Result<Sheet, SurveyError> {
    db.kenpo_sheet(kenpo_id, sheet_id).await?.ok_or(SurveyError::NotFound)
}

/// 差し戻し: the member sees `reason` and may edit the answers and documents again.
pub async fn send_back(
    db: &impl SurveyStore,
    kenpo_id: &str,
    sheet_id: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Sheet, SurveyError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(SurveyError::Invalid("reason"));
    }
    let sheet = found(db, kenpo_id, sheet_id).await?;
    kenpo_change(db, kenpo_id, sheet, Event::SendBack, Some(reason), now).await
}

/// 審査中: the member can no longer change anything.
pub async fn start_review(
    db: &impl SurveyStore,
    kenpo_id: &str,
    sheet_id: &str,
    now: OffsetDateTime,
) -> Result<Sheet, SurveyError> {
    let sheet = found(db, kenpo_id, sheet_id).await?;
    kenpo_change(db, kenpo_id, sheet, Event::Review, None, now).await
}

/// 認定継続 or 削除 of a sheet under review; or 削除 of a sheet never handed in (未回答, 入力中,
/// 差し戻し) once its deadline has passed in Japan ([`decision`]): §5, no reply by the deadline
/// is loss of dependant status. Before that, [`SurveyError::EarlyLapse`].
pub async fn decide(
    db: &impl SurveyStore,
    kenpo_id: &str,
    sheet_id: &str,
    outcome: Outcome,
    now: OffsetDateTime,
) -> Result<Sheet, SurveyError> {
    let sheet = found(db, kenpo_id, sheet_id).await?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let deadline =
        Date::parse(&sheet.deadline, &format).map_err(|_| StoreError::Corrupt("surveys.deadline"))?;
    let today = crate::domain::japan_date(now);
    let event = decision(sheet.status, outcome, deadline, today)?;
    kenpo_change(db, kenpo_id, sheet, event, None, now).await
}

/// One reminder mail's worth: a household whose insured member has sheets to hand in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub household_id: HouseholdId,
    /// The 被保険者 to write to (the mail says only "please log in", never the answers).
    pub insured_id: MemberId,
    /// The sheets this reminder is about (pass them back to [`mark_reminded`]).
    pub sheet_ids: Vec<String>,
    /// The earliest deadline among them, `YYYY-MM-DD`.
    pub deadline: String,
    /// The surveys' titles, once each.
    pub surveys: Vec<String>,
}

/// The households of `kenpo_id` due a reminder `today` (Japan time): a sheet still 未回答, 入力中
/// or 差し戻し whose deadline is `days_before` (the kenpo's `survey_reminder_days`) or fewer
/// days away, at a reminder point not yet answered (`lifecycle::reminder_due`). One per
/// household, however many dependants it has.
///
/// For the mail outbox: call this once a day (or more; it is idempotent within a day), queue one
/// mail per [`Reminder`] to its `insured_id`, then call [`mark_reminded`] with the same list so
/// the next call today returns none of them.
pub async fn due_reminders(
    db: &impl SurveyStore,
    kenpo_id: &str,
    today: Date,
    days_before: &[u16],
) -> Result<Vec<Reminder>, StoreError> {
    let Some(&furthest) = days_before.iter().max() else { return Ok(Vec::new()) };
    let until = today.saturating_add(Duration::days(i64::from(furthest)));
    let rows = db.reminder_rows(kenpo_id, &today.to_string(), &until.to_string()).await?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut out: Vec<Reminder> = Vec::new();
    for row in rows {
        let Ok(deadline) = Date::parse(&row.deadline, &format) else { continue };
        let reminded_on = row.reminded_on.as_deref().and_then(|d| Date::parse(d, &format).ok());
        let candidate = ReminderCandidate { status: row.status, deadline, reminded_on };
        if !reminder_due(&candidate, today, days_before) {
            continue;
        }
        // The rows come by household (`reminder_rows` orders them so): a household's sheets
        // join the reminder just begun.
        match out.last_mut().filter(|r| r.household_id == row.household_id) {
            Some(r) => {
                r.sheet_ids.push(row.sheet_id);
                if row.deadline < r.deadline {
                    r.deadline = row.deadline;
                }
                if !r.surveys.contains(&row.survey_title) {
                    r.surveys.push(row.survey_title);
                }
            }
            None => out.push(Reminder {
                household_id: row.household_id,
                insured_id: row.insured_id,
                sheet_ids: vec![row.sheet_id],
                deadline: row.deadline,
                surveys: vec![row.survey_title],
            }),
        }
    }
    Ok(out)
}

/// Records that `reminders` went out `today`.
pub async fn mark_reminded(
    db: &impl SurveyStore,
    reminders: &[Reminder],
    today: Date,
) -> Result<(), StoreError> {
    let ids: Vec<String> = reminders.iter().flat_map(|r| r.sheet_ids.iter().cloned()).collect();
    db.mark_reminded(&ids, &today.to_string()).await
}

/// The answers a kenpo reads, with amounts as numbers where they parse.
pub fn typed_amounts(answers: &Answers) -> [(&'static str, Option<i64>); 3] {
    [
        ("annual_income_yen", super::parse_yen(&answers.annual_income)),
        ("remittance_yen", super::parse_yen(&answers.remittance)),
        ("spouse_income_yen", super::parse_yen(&answers.spouse_income)),
    ]
}
