//! お知らせ (spec §2.10): what a member sees of the kenpo's notices, and what the kenpo may
//! write. A member sees a notice of their own kenpo from its publication until it expires, and
//! nothing else: one outside that window, or another kenpo's, is not found. The kenpo's drafts
//! are checked here, with messages in both languages, before anything is stored.

use crate::domain::{AttachmentId, NoticeCategory, NoticeId};
use crate::store::{
    AttachmentInfo, Kenpo, Listed, NewAttachment, Notice, NoticeFields, NoticeStore, StoreError,
};
use crate::tenant::Settings;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Notices per page of `/notices`.
pub const PAGE_SIZE: i64 = 20;
/// Notices on the top page.
pub const LATEST: i64 = 5;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 20_000;
pub const MAX_ATTACHMENTS: usize = 5;
/// Each file; notices carry leaflets and forms, not archives.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;
/// What a file may be, by its content: PDF and the images browsers show.
pub const ATTACHMENT_TYPES: [&str; 4] = ["application/pdf", "image/png", "image/jpeg", "image/webp"];

fn millis(t: OffsetDateTime) -> i64 {
    shared_runtime::db::to_millis(t)
}

/// Whether members see the notice at `now`: published, not yet expired.
pub fn is_shown(fields: &NoticeFields, now: OffsetDateTime) -> bool {
    let now = millis(now);
    fields.published_at <= now && fields.expires_at.is_none_or(|end| now < end)
}

/// The page a member asked for (`?page=`): 1 when absent or not a page number.
pub fn page_number(asked: Option<&str>) -> i64 {
    asked.and_then(|p| p.trim().parse::<i64>().ok()).filter(|p| (1..=100_000).contains(p)).unwrap_or(1)
}

/// How many pages `total` items fill (at least one, the empty page).
pub fn page_count(total: i64, size: i64) -> i64 {
    ((total + size - 1) / size).max(1)
}

/// Page `page` of the kenpo's notices shown at `now`, of `category` when given.
pub async fn shown(
    db: &impl NoticeStore,
    kenpo_id: &str,
    category: Option<NoticeCategory>,
    page: i64,
    now: OffsetDateTime,
) -> Result<Listed<Notice>, StoreError> {
    db.published_notices(kenpo_id, millis(now), category, (page - 1) * PAGE_SIZE, PAGE_SIZE).await
}

/// The newest notices, for the top page.
pub async fn latest(
    db: &impl NoticeStore,
    kenpo_id: &str,
    now: OffsetDateTime,
) -> Result<Vec<Notice>, StoreError> {
    Ok(db.published_notices(kenpo_id, millis(now), None, 0, LATEST).await?.items)
}

/// One notice, if the member sees it now.
pub async fn one(
    db: &impl NoticeStore,
    kenpo_id: &str,
    id: &NoticeId,
    now: OffsetDateTime,
) -> Result<Option<Notice>, StoreError> {
    Ok(db.notice(kenpo_id, id).await?.filter(|n| is_shown(&n.fields, now)))
}

/// A file of a notice the member sees now.
pub async fn attachment(
    db: &impl NoticeStore,
    kenpo_id: &str,
    notice: &NoticeId,
    attachment: &AttachmentId,
    now: OffsetDateTime,
) -> Result<Option<(AttachmentInfo, Vec<u8>)>, StoreError> {
    if one(db, kenpo_id, notice, now).await?.is_none() {
        return Ok(None);
    }
    db.attachment(kenpo_id, notice, attachment).await
}

/// Notices per page of the kenpo API's list when it does not say (`?per_page=`).
pub const API_PAGE_SIZE: i64 = 50;
/// The most notices one page of the kenpo API's list holds: each comes with its files'
/// descriptions, never their content.
pub const API_MAX_PAGE_SIZE: i64 = 100;

/// Which page of a kenpo API list was asked for (`?page=&per_page=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiPage {
    /// From 1.
    pub page: i64,
    pub per_page: i64,
}

/// A `?page=` or `?per_page=` the kenpo API refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error("page must be a whole number from 1 to 100000")]
    Page,
    #[error("per_page must be a whole number from 1 to {API_MAX_PAGE_SIZE}")]
    PerPage,
}

impl PagingError {
    pub fn message_ja(self) -> String {
        match self {
            Self::Page => "page は1〜100000の整数で指定してください".to_owned(),
            Self::PerPage => format!("per_page は1〜{API_MAX_PAGE_SIZE}の整数で指定してください"),
        }
    }
}

/// Reads a kenpo API list's paging: page 1 and [`API_PAGE_SIZE`] when absent; a value that is
/// not a number in range is refused, never silently replaced.
pub fn api_paging(page: Option<&str>, per_page: Option<&str>) -> Result<ApiPage, PagingError> {
    let number = |s: &str, max: i64| s.trim().parse::<i64>().ok().filter(|n| (1..=max).contains(n));
    let page = match page {
        None => 1,
        Some(p) => number(p, 100_000).ok_or(PagingError::Page)?,
    };
    let per_page = match per_page {
        None => API_PAGE_SIZE,
        Some(p) => number(p, API_MAX_PAGE_SIZE).ok_or(PagingError::PerPage)?,
    };
    Ok(ApiPage { page, per_page })
}

/// Page `page` (from 1) of all the kenpo's notices, scheduled and expired too, for its API.
pub async fn for_kenpo(
    db: &impl NoticeStore,
    kenpo_id: &str,
    page: i64,
    per_page: i64,
) -> Result<Listed<Notice>, StoreError> {
    db.kenpo_notices(kenpo_id, (page - 1) * per_page, per_page).await
}

/// The file of the kenpo's notice that the API's path names: by its id, or by its position in
/// the notice's list of files counted from 1 (`…/attachments/1` is the first).
pub async fn kenpo_attachment(
    db: &impl NoticeStore,
    kenpo_id: &str,
    notice: &NoticeId,
    file: &str,
) -> Result<Option<(AttachmentInfo, Vec<u8>)>, StoreError> {
    let id = match file.parse::<usize>() {
        Ok(n) if (1..=MAX_ATTACHMENTS).contains(&n) => {
            let Some(found) = db.notice(kenpo_id, notice).await? else { return Ok(None) };
            match found.attachments.into_iter().nth(n - 1) {
                Some(info) => info.id,
                None => return Ok(None),
            }
        }
        _ => match AttachmentId::parse(file) {
            Some(id) => id,
            None => return Ok(None),
        },
    };
    db.attachment(kenpo_id, notice, &id).await
}

/// The expiry before which a notice is purged at `now`: the start (midnight, Japan time) of the
/// month `notice_retention_months` back, as the other retention periods count whole months. A
/// notice is therefore kept at least that many months after it expired.
pub fn purge_expired_before(now: OffsetDateTime, settings: &Settings) -> i64 {
    crate::flows::inbox::month_start_back(now, settings.notice_retention_months)
}

/// For the retention job: deletes every kenpo's notices, with their files, that expired longer
/// ago than its `notice_retention_months`. Returns how many notices it deleted.
pub async fn purge(db: &impl NoticeStore, kenpos: &[Kenpo], now: OffsetDateTime) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for kenpo in kenpos {
        deleted +=
            db.purge_notices_expired_before(&kenpo.id, purge_expired_before(now, &kenpo.settings)).await?;
    }
    Ok(deleted)
}

/// A notice as the kenpo sends it, unchecked: the API's JSON, files already decoded.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub category: String,
    pub title: String,
    pub body: String,
    /// RFC 3339 with an offset, e.g. `2026-12-01T09:00:00+09:00`.
    pub published_at: String,
    pub expires_at: Option<String>,
    /// `None` keeps a notice's files when it is replaced; `Some(empty)` removes them.
    pub attachments: Option<Vec<DraftFile>>,
}

#[derive(Debug, Clone)]
pub struct DraftFile {
    pub file_name: String,
    pub content: Vec<u8>,
}

/// What is wrong with a draft.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    #[error("unknown category {0:?}")]
    Category(String),
    #[error("the title is empty or longer than {MAX_TITLE_CHARS} characters")]
    Title,
    #[error("the body is empty or longer than {MAX_BODY_CHARS} characters")]
    Body,
    #[error("{field} is not an RFC 3339 date-time with an offset")]
    DateTime { field: &'static str },
    #[error("expires_at is not after published_at")]
    ExpiresBeforePublished,
    #[error("more than {MAX_ATTACHMENTS} attachments")]
    TooManyFiles,
    #[error("attachment {0:?}: the file name is empty, too long or has a path")]
    FileName(String),
    #[error("attachment {0:?} is larger than {MAX_ATTACHMENT_BYTES} bytes")]
    FileTooLarge(String),
    #[error("attachment {0:?} is not a PDF, PNG, JPEG or WebP file by its content")]
    FileType(String),
}

impl DraftError {
    /// A machine-readable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Category(_) => "bad_category",
            Self::Title => "bad_title",
            Self::Body => "bad_body",
            Self::DateTime { .. } => "bad_date_time",
            Self::ExpiresBeforePublished => "expires_before_published",
            Self::TooManyFiles => "too_many_attachments",
            Self::FileName(_) => "bad_file_name",
            Self::FileTooLarge(_) => "attachment_too_large",
            Self::FileType(_) => "attachment_type",
        }
    }

    /// The message in Japanese, for the kenpo's staff.
    pub fn message_ja(&self) -> String {
        match self {
            Self::Category(c) => format!(
                "カテゴリ「{c}」はありません（important、health_insurance、checkups、other のいずれか）"
            ),
            Self::Title => format!("件名を1〜{MAX_TITLE_CHARS}文字で入力してください"),
            Self::Body => format!("本文を1〜{MAX_BODY_CHARS}文字で入力してください"),
            Self::DateTime { field } => {
                format!("{field} は「2026-12-01T09:00:00+09:00」の形式（時差付き）で指定してください")
            }
            Self::ExpiresBeforePublished => "掲載終了日時は掲載開始日時より後にしてください".to_owned(),
            Self::TooManyFiles => format!("添付ファイルは{MAX_ATTACHMENTS}個までです"),
            Self::FileName(n) => {
                format!("添付ファイル名「{n}」が正しくありません（空、長すぎる、またはパスを含む）")
            }
            Self::FileTooLarge(n) => {
                format!("添付ファイル「{n}」が大きすぎます（{}MBまで）", MAX_ATTACHMENT_BYTES / 1024 / 1024)
            }
            Self::FileType(n) => {
                format!("添付ファイル「{n}」の内容がPDF・PNG・JPEG・WebPのいずれでもありません")
            }
        }
    }

    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

fn date_time(s: &str, field: &'static str) -> Result<OffsetDateTime, DraftError> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| DraftError::DateTime { field })
}

/// Checks one file: its name, its size, and its type by its first bytes (the name's extension
/// says nothing). The stored media type is the one the content showed.
pub fn check_file(file: DraftFile) -> Result<NewAttachment, DraftError> {
    let name = file.file_name.trim();
    if name.is_empty()
        || name.chars().count() > 200
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
    {
        return Err(DraftError::FileName(file.file_name));
    }
    if file.content.len() > MAX_ATTACHMENT_BYTES {
        return Err(DraftError::FileTooLarge(name.to_owned()));
    }
    let media_type = infer::get(&file.content)
        .map(|t| t.mime_type())
        .filter(|m| ATTACHMENT_TYPES.contains(m))
        .ok_or_else(|| DraftError::FileType(name.to_owned()))?;
    Ok(NewAttachment { file_name: name.to_owned(), media_type: media_type.to_owned(), content: file.content })
}

/// Checks a draft as a whole: every error, not just the first.
pub fn check(draft: Draft) -> Result<(NoticeFields, Option<Vec<NewAttachment>>), Vec<DraftError>> {
    let mut errors = Vec::new();
    let category = NoticeCategory::parse(draft.category.trim());
    if category.is_none() {
        errors.push(DraftError::Category(draft.category.clone()));
    }
    let title = draft.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
        errors.push(DraftError::Title);
    }
    let body = draft.body.trim().to_owned();
    if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
        errors.push(DraftError::Body);
    }
    let published = date_time(&draft.published_at, "published_at").map_err(|e| errors.push(e)).ok();
    let expires = match draft.expires_at.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(s) => date_time(s, "expires_at").map_err(|e| errors.push(e)).ok(),
    };
    if let (Some(p), Some(e)) = (published, expires)
        && e <= p
    {
        errors.push(DraftError::ExpiresBeforePublished);
    }
    let files = match draft.attachments {
        None => None,
        Some(files) if files.len() > MAX_ATTACHMENTS => {
            errors.push(DraftError::TooManyFiles);
            None
        }
        Some(files) => {
            Some(files.into_iter().filter_map(|f| check_file(f).map_err(|e| errors.push(e)).ok()).collect())
        }
    };
    match (category, published) {
        (Some(category), Some(published)) if errors.is_empty() => Ok((
            NoticeFields {
                category,
                title,
                body,
                published_at: millis(published),
                expires_at: expires.map(millis),
            },
            files,
        )),
        _ => Err(errors),
    }
}

/// Why the kenpo's write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the notice is not valid")]
    Invalid(Vec<DraftError>),
    #[error("no such notice")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Publishes a new notice of the kenpo's.
pub async fn create(
    db: &impl NoticeStore,
    kenpo_id: &str,
    draft: Draft,
    now: OffsetDateTime,
) -> Result<Notice, WriteError> {
    let (fields, files) = check(draft).map_err(WriteError::Invalid)?;
    let id = db.insert_notice(kenpo_id, &fields, files.as_deref().unwrap_or_default(), millis(now)).await?;
    db.notice(kenpo_id, &id).await?.ok_or(WriteError::NotFound)
}

/// Replaces a notice's fields (and its files when the draft has some).
pub async fn replace(
    db: &impl NoticeStore,
    kenpo_id: &str,
    id: &NoticeId,
    draft: Draft,
    now: OffsetDateTime,
) -> Result<Notice, WriteError> {
    let (fields, files) = check(draft).map_err(WriteError::Invalid)?;
    if !db.update_notice(kenpo_id, id, &fields, files.as_deref(), millis(now)).await? {
        return Err(WriteError::NotFound);
    }
    db.notice(kenpo_id, id).await?.ok_or(WriteError::NotFound)
}

pub async fn delete(db: &impl NoticeStore, kenpo_id: &str, id: &NoticeId) -> Result<(), WriteError> {
    if db.delete_notice(kenpo_id, id).await? { Ok(()) } else { Err(WriteError::NotFound) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0\0\0\0\0\0\0";

    fn draft() -> Draft {
        Draft {
            category: "important".into(),
            title: " 保険証の切り替えについて ".into(),
            body: "本文".into(),
            published_at: "2026-12-01T09:00:00+09:00".into(),
            expires_at: Some("2027-01-01T00:00:00+09:00".into()),
            attachments: None,
        }
    }

    fn file(name: &str, content: &[u8]) -> DraftFile {
        DraftFile { file_name: name.into(), content: content.to_vec() }
    }

    #[test]
    fn a_notice_is_shown_from_its_publication_until_it_expires() -> Result<(), Vec<DraftError>> {
        let (fields, _) = check(draft())?;
        assert_eq!(fields.title, "保険証の切り替えについて");
        assert!(!is_shown(&fields, datetime!(2026-12-01 08:59:59 +09:00)), "not before");
        assert!(is_shown(&fields, datetime!(2026-12-01 09:00 +09:00)), "from the minute it is published");
        assert!(is_shown(&fields, datetime!(2026-12-31 23:59:59 +09:00)));
        assert!(!is_shown(&fields, datetime!(2027-01-01 00:00 +09:00)), "not from the minute it expires");
        let open_ended = NoticeFields { expires_at: None, ..fields };
        assert!(is_shown(&open_ended, datetime!(2040-01-01 00:00 UTC)));
        Ok(())
    }

    #[test]
    fn every_fault_of_a_draft_is_reported_in_both_languages() {
        let bad = Draft {
            category: "urgent".into(),
            title: "  ".into(),
            body: String::new(),
            published_at: "2026-12-01".into(),
            expires_at: Some("tomorrow".into()),
            attachments: None,
        };
        let errors = check(bad).err().unwrap_or_default();
        let codes: Vec<_> = errors.iter().map(DraftError::code).collect();
        assert_eq!(codes, ["bad_category", "bad_title", "bad_body", "bad_date_time", "bad_date_time"]);
        assert!(errors.iter().all(|e| !e.message_ja().is_empty() && !e.message_en().is_empty()));
        let backwards = Draft { expires_at: Some("2026-11-30T00:00:00+09:00".into()), ..draft() };
        assert_eq!(check(backwards).err(), Some(vec![DraftError::ExpiresBeforePublished]));
    }

    #[test]
    fn files_are_typed_by_their_content_not_their_name() {
        let pdf = check_file(file("案内.pdf", PDF)).map(|a| a.media_type);
        assert_eq!(pdf.as_deref(), Ok("application/pdf"));
        let png = check_file(file("leaflet.pdf", PNG)).map(|a| a.media_type);
        assert_eq!(png.as_deref(), Ok("image/png"), "the content decides, not the extension");
        assert_eq!(check_file(file("form.pdf", EXE)), Err(DraftError::FileType("form.pdf".into())));
        assert_eq!(check_file(file("a.txt", b"hello")), Err(DraftError::FileType("a.txt".into())));
        assert!(matches!(check_file(file("../x.pdf", PDF)), Err(DraftError::FileName(_))));
        let big = [PDF, &vec![b' '; MAX_ATTACHMENT_BYTES][..]].concat();
        assert!(matches!(check_file(file("big.pdf", &big)), Err(DraftError::FileTooLarge(_))));
        let many = Draft { attachments: Some(vec![file("a.pdf", PDF); MAX_ATTACHMENTS + 1]), ..draft() };
        assert_eq!(check(many).err(), Some(vec![DraftError::TooManyFiles]));
    }

    #[test]
    fn the_apis_paging_has_defaults_a_maximum_and_refuses_nonsense() {
        assert_eq!(api_paging(None, None), Ok(ApiPage { page: 1, per_page: API_PAGE_SIZE }));
        assert_eq!(api_paging(Some("3"), Some("100")), Ok(ApiPage { page: 3, per_page: 100 }));
        assert_eq!(api_paging(Some("0"), None), Err(PagingError::Page));
        assert_eq!(api_paging(Some("x"), None), Err(PagingError::Page));
        assert_eq!(api_paging(None, Some("101")), Err(PagingError::PerPage), "the maximum");
        assert_eq!(api_paging(None, Some("0")), Err(PagingError::PerPage));
        assert!(PagingError::PerPage.message_ja().contains("100"));
    }

    #[test]
    fn notices_are_purged_from_the_month_the_retention_reaches_back_to() {
        let now = datetime!(2026-11-24 10:00 +09:00);
        let months = |n| Settings { notice_retention_months: n, ..Settings::default() };
        let at = |t: OffsetDateTime| shared_runtime::db::to_millis(t);
        assert_eq!(purge_expired_before(now, &months(24)), at(datetime!(2024-11-01 00:00 +09:00)));
        assert_eq!(purge_expired_before(now, &months(1)), at(datetime!(2026-10-01 00:00 +09:00)));
        // 2026-11-30 16:00 UTC is already December 1st in Tokyo.
        assert_eq!(
            purge_expired_before(datetime!(2026-11-30 16:00 UTC), &months(24)),
            at(datetime!(2024-12-01 00:00 +09:00))
        );
    }

    #[test]
    fn pages_are_counted_and_a_bad_page_is_the_first() {
        assert_eq!(page_number(Some("3")), 3);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("abc")), 1);
        assert_eq!(page_number(None), 1);
        assert_eq!(page_count(0, 20), 1);
        assert_eq!(page_count(20, 20), 1);
        assert_eq!(page_count(21, 20), 2);
    }
}
