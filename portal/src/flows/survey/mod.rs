//! 被扶養者資格確認 (検認, spec §5): the kenpo opens a survey; for each dependant in scope the
//! insured member answers the questions (saved as they go), uploads the documents the answers
//! call for, and submits once; the kenpo sends back, reviews and decides.
//!
//! - `lifecycle`: the statuses and the only transitions between them, scope, reminder timing.
//! - `answers`: the questions, their checks at 提出, the documents they require, the guidance.
//! - `attachments`: document kinds and what an upload is, by its content.
//! - `member`: what the insured member does; `review`: what the kenpo does, and reminders.

mod answers;
mod attachments;
mod lifecycle;
mod member;
mod review;

pub use answers::{
    Answers, CHANGES, FREQUENCIES, FieldError, Guidance, INCOME_KINDS, LIVING, OCCUPATIONS, RELATIONSHIPS,
    YES_NO, guidance, parse_yen,
};
pub use attachments::{DEFAULT_MAX_BYTES, DocumentKind, Sniffed, UploadRefusal, display_name, sniff};
pub use lifecycle::{
    EarlyLapse, Event, IllegalTransition, Outcome, ReminderCandidate, Scope, Status, age_on, decision,
    in_scope, reminder_due,
};
pub use member::{
    Banner, Saved, Upload, awaits_answers, banner, may_answer, member_file, member_sheet, member_sheets,
    remove_file, save, upload,
};
pub use review::{
    DEFAULT_MIN_AGE, OpenSurvey, Reminder, decide, due_reminders, kenpo_file, kenpo_sheet, mark_reminded,
    open, send_back, start_review, typed_amounts,
};

use crate::store::{FileError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    /// No such sheet, survey or file for this member or kenpo (another household's is "not found").
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// 削除 of a sheet never handed in, asked for before its deadline has passed.
    #[error(transparent)]
    EarlyLapse(#[from] EarlyLapse),
    /// The sheet moved on meanwhile (the kenpo decided while the member typed).
    #[error("the sheet changed meanwhile")]
    Conflict,
    #[error("upload refused: {0}")]
    Upload(#[from] UploadRefusal),
    /// The kenpo's request is wrong: which field.
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Files(#[from] FileError),
}

/// Milliseconds since the epoch, as the tables keep time.
fn millis(now: time::OffsetDateTime) -> i64 {
    shared_runtime::db::to_millis(now)
}

#[cfg(test)]
mod tests;
