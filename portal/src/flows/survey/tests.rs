//! The survey's flows and store on both backends: 削除 of a sheet never handed in once the
//! deadline has passed, and document changes that never land on a sheet the kenpo has moved on.

use super::*;
use crate::store::qualification_fixtures::{TARO_SUBJECT, household};
use crate::store::test_db::on_both_backends;
use crate::store::{
    Db, DocumentWrite, FileError, FileStore, FsFileStore, Member, MemberStore, Sheet, SheetChange, SheetFile,
    SurveyStore,
};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

on_both_backends!(
    a_sheet_never_handed_in_is_removed_only_after_the_deadline,
    the_store_refuses_document_changes_and_saves_once_the_sheet_is_under_review,
    an_upload_overtaken_by_the_review_is_refused_and_its_bytes_removed,
);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";

/// 健保 太郎 (the insured, who answers) and the sheet about 健保 花子 of a survey with `deadline`.
async fn survey_with_deadline(db: &Db, deadline: Date) -> (String, Member, Sheet) {
    let (kenpo, _, hanako) = household(db).await;
    let spec = OpenSurvey {
        title: "被扶養者資格確認".to_owned(),
        base_date: date!(2026 - 06 - 01),
        deadline,
        scope: Scope { min_age: None, members: vec![hanako] },
    };
    let (survey, n) = open(db, &kenpo, spec, "kihan-system", datetime!(2026-07-01 00:00 UTC))
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    assert_eq!(n, 1);
    let sheets = db.survey_sheets(&survey.id, None).await.unwrap_or_else(|e| panic!("{e}"));
    let sheet = sheets.into_iter().next().unwrap_or_else(|| panic!("a sheet"));
    let taro = db.member_by_subject(&kenpo, TARO_SUBJECT).await.ok().flatten();
    (kenpo, taro.unwrap_or_else(|| panic!("taro")), sheet)
}

/// 09:00 in Japan on `day`.
fn japan_morning(day: Date) -> OffsetDateTime {
    day.with_hms(0, 0, 0).unwrap_or_else(|e| panic!("{e}")).assume_utc()
}

async fn status(db: &Db, kenpo: &str, sheet: &str) -> Status {
    let found = db.kenpo_sheet(kenpo, sheet).await.unwrap_or_else(|e| panic!("{e}"));
    found.unwrap_or_else(|| panic!("the sheet")).status
}

async fn a_sheet_never_handed_in_is_removed_only_after_the_deadline(db: Db) {
    let deadline = date!(2026 - 09 - 30);
    let (kenpo, taro, sheet) = survey_with_deadline(&db, deadline).await;
    // The member saved something: 入力中, never submitted.
    let saved =
        save(&db, &taro, &sheet.id, Answers::default(), false, japan_morning(date!(2026 - 07 - 02))).await;
    assert!(matches!(saved, Ok(Saved::Saved)), "{saved:?}");

    // On the deadline day (and 23:59 in Japan is still that day) the member may still answer.
    let last_minute = datetime!(2026-09-30 14:59 UTC);
    let early = decide(&db, &kenpo, &sheet.id, Outcome::Removed, last_minute).await;
    assert!(
        matches!(early, Err(SurveyError::EarlyLapse(EarlyLapse { deadline: d })) if d == deadline),
        "{early:?}"
    );
    assert_eq!(status(&db, &kenpo, &sheet.id).await, Status::InProgress);
    // 認定継続 needs answers, whatever the date.
    let continued =
        decide(&db, &kenpo, &sheet.id, Outcome::Continued, japan_morning(date!(2026 - 10 - 01))).await;
    assert!(matches!(continued, Err(SurveyError::Illegal(_))), "{continued:?}");

    // 00:00 on 10/1 in Japan is 15:00 UTC on 9/30: the deadline has passed.
    let after = datetime!(2026-09-30 15:00 UTC);
    let removed = decide(&db, &kenpo, &sheet.id, Outcome::Removed, after).await;
    let removed = removed.unwrap_or_else(|e| panic!("removed after the deadline: {e}"));
    assert_eq!(removed.status, Status::Removed);
    assert_eq!(removed.decided_at, Some(millis(after)));
    assert_eq!(removed.submitted_at, None, "never handed in");

    // Decided: the member can no longer change anything.
    let late = save(&db, &taro, &sheet.id, Answers::default(), false, after).await;
    assert!(matches!(late, Err(SurveyError::Illegal(_))), "{late:?}");
    let again = decide(&db, &kenpo, &sheet.id, Outcome::Removed, after).await;
    assert!(matches!(again, Err(SurveyError::Illegal(_))), "decided once: {again:?}");

    // A sheet sent back and never handed in again lapses too, and shows as not handed in.
    let spec = OpenSurvey {
        title: "再確認".to_owned(),
        base_date: date!(2026 - 06 - 01),
        deadline,
        scope: Scope { min_age: None, members: vec![sheet.member_id.clone()] },
    };
    let (second, _) = open(&db, &kenpo, spec, "kihan-system", after).await.unwrap_or_else(|e| panic!("{e}"));
    let returned = db.survey_sheets(&second.id, None).await.unwrap_or_else(|e| panic!("{e}"));
    let returned = returned.into_iter().next().unwrap_or_else(|| panic!("a sheet"));
    move_sheet(&db, &returned, Status::Unanswered, Status::Returned).await;
    let lapsed = decide(&db, &kenpo, &returned.id, Outcome::Removed, after).await;
    let lapsed = lapsed.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((lapsed.status, lapsed.submitted_at), (Status::Removed, None));
}

fn file_of(sheet: &Sheet, key: &str) -> SheetFile {
    SheetFile {
        id: uuid::Uuid::new_v4().to_string(),
        sheet_id: sheet.id.clone(),
        kind: DocumentKind::Other,
        content_type: "image/png".to_owned(),
        size_bytes: 10,
        sha256: "00".repeat(32),
        storage_key: key.to_owned(),
        original_name: "x.png".to_owned(),
        uploaded_at: 1,
    }
}

/// The kenpo's move, as the store writes it (the flows' checks are not the point here).
async fn move_sheet(db: &Db, sheet: &Sheet, from: Status, to: Status) {
    let change = SheetChange {
        id: &sheet.id,
        from,
        to,
        answers: &sheet.answers,
        return_reason: None,
        submitted_at: Some(1),
        decided_at: None,
        now: 2,
    };
    assert!(db.change_sheet(change).await.unwrap_or_else(|e| panic!("{e}")), "{from:?} → {to:?}");
}

async fn the_store_refuses_document_changes_and_saves_once_the_sheet_is_under_review(db: Db) {
    let (kenpo, _, sheet) = survey_with_deadline(&db, date!(2026 - 09 - 30)).await;
    let moves = [(Status::Unanswered, Status::InProgress), (Status::InProgress, Status::InProgress)];
    let kept = file_of(&sheet, "0123456789abcdef0123456789abcdef");
    let written = db.add_file(&kept, &moves, 5).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written, DocumentWrite::Written);
    assert_eq!(status(&db, &kenpo, &sheet.id).await, Status::InProgress, "the first document moves it");

    move_sheet(&db, &sheet, Status::InProgress, Status::UnderReview).await;
    let late = file_of(&sheet, "fedcba9876543210fedcba9876543210");
    let refused = db.add_file(&late, &moves, 6).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused, DocumentWrite::Closed);
    let removal = db.remove_file(&sheet.id, &kept.id, &moves, 6).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(removal, DocumentWrite::Closed);
    let files = db.sheet_files(&sheet.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(files.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), [kept.id.as_str()]);
    let under_review = db.kenpo_sheet(&kenpo, &sheet.id).await.ok().flatten();
    let under_review = under_review.unwrap_or_else(|| panic!("the sheet"));
    assert_eq!((under_review.status, under_review.updated_at), (Status::UnderReview, 2), "untouched");

    // A member's save read the sheet as 入力中: it does not land either.
    let answers = Answers { relationship: "spouse".to_owned(), ..Answers::default() };
    let save = SheetChange {
        id: &sheet.id,
        from: Status::InProgress,
        to: Status::InProgress,
        answers: &answers,
        return_reason: None,
        submitted_at: None,
        decided_at: None,
        now: 7,
    };
    assert!(!db.change_sheet(save).await.unwrap_or_else(|e| panic!("{e}")));
    let stored = db.kenpo_sheet(&kenpo, &sheet.id).await.ok().flatten().map(|s| s.answers);
    assert_eq!(stored, Some(Answers::default()));

    // While the sheet takes documents, a removal of a file it does not have says so.
    move_sheet(&db, &sheet, Status::UnderReview, Status::InProgress).await;
    let missing = db.remove_file(&sheet.id, "nope", &moves, 8).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing, DocumentWrite::NoFile);
    let removed = db.remove_file(&sheet.id, &kept.id, &moves, 8).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(removed, DocumentWrite::Written);
    assert!(db.sheet_files(&sheet.id).await.is_ok_and(|f| f.is_empty()));
}

/// A file store during whose write the kenpo starts reviewing: the upload read the sheet as
/// 入力中, and by the time its record is written the sheet is 審査中.
struct OvertakenByReview {
    inner: FsFileStore,
    db: Db,
    sheet: Sheet,
}

impl FileStore for OvertakenByReview {
    async fn put(&self, content: Vec<u8>) -> Result<String, FileError> {
        let key = self.inner.put(content).await?;
        move_sheet(&self.db, &self.sheet, Status::InProgress, Status::UnderReview).await;
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, FileError> {
        self.inner.get(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), FileError> {
        self.inner.delete(key).await
    }
}

fn stored_files(dir: &std::path::Path) -> usize {
    let Ok(shards) = std::fs::read_dir(dir.join("files")) else { return 0 };
    shards
        .flatten()
        .filter(|d| d.file_name() != "tmp")
        .map(|d| std::fs::read_dir(d.path()).map_or(0, Iterator::count))
        .sum()
}

async fn an_upload_overtaken_by_the_review_is_refused_and_its_bytes_removed(db: Db) {
    let (kenpo, taro, sheet) = survey_with_deadline(&db, date!(2026 - 09 - 30)).await;
    let now = japan_morning(date!(2026 - 07 - 02));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let upload_png =
        || Upload { kind: Some(DocumentKind::Other), file_name: "x.png".to_owned(), content: PNG.to_vec() };

    // An upload with nobody in its way lands, and makes the sheet 入力中.
    let plain = FsFileStore::under(dir.path());
    let first = upload(&db, &plain, &taro, &sheet.id, upload_png(), now).await;
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(stored_files(dir.path()), 1);

    let racing = OvertakenByReview { inner: plain.clone(), db: db.clone(), sheet: sheet.clone() };
    let refused = upload(&db, &racing, &taro, &sheet.id, upload_png(), now).await;
    assert!(matches!(refused, Err(SurveyError::Upload(UploadRefusal::Closed))), "{refused:?}");
    assert_eq!(status(&db, &kenpo, &sheet.id).await, Status::UnderReview);
    assert_eq!(db.sheet_files(&sheet.id).await.map(|f| f.len()).ok(), Some(1), "no record of it");
    assert_eq!(stored_files(dir.path()), 1, "its bytes were removed again");

    // Removing the first document is refused too, and keeps its bytes.
    let kept = first.unwrap_or_else(|e| panic!("{e}"));
    let removal = remove_file(&db, &plain, &taro, &sheet.id, &kept.id, now).await;
    assert!(matches!(removal, Err(SurveyError::Upload(UploadRefusal::Closed))), "{removal:?}");
    assert_eq!(plain.get(&kept.storage_key).await.ok().as_deref(), Some(PNG));
}
