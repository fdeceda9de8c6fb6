//! 資格情報のお知らせ and 資格確認書 (spec §6): what a member sees of each person whose documents
//! they handle (`access::qualification_people`), their application for a (re)issued card, the
//! kenpo's decisions on it, the issues the kenpo records, and which logins to tell about a new
//! notice. Time comes in as an argument; the stores persist.

use crate::domain::{
    ApplicationReason, ApplicationStatus, Copay, MemberId, NoticeReason, Relation, parse_date,
};
use crate::export::QualificationNotice;
use crate::flows::access;
use crate::store::{
    Application, CardPerson, Certificate, Decided, IssuedNotice, Kenpo, KenpoStore, Member, MemberStore,
    NewApplication, NewCertificate, NewIssuedNotice, NoticeSnapshot, QualificationStore, StoreError,
};
use crate::tenant::MailCategory;
use serde::Serialize;
use time::{Date, OffsetDateTime};

/// The update-mail category of a new 資格情報のお知らせ (通知設定).
pub const MAIL_CATEGORY: MailCategory = MailCategory::QualificationNotice;
/// The longest free text a member adds to an application, in characters.
pub const NOTE_MAX_CHARS: usize = 200;
/// The longest reason the kenpo gives for a rejection, in characters.
pub const REJECTION_MAX_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum QualificationError {
    /// What the member typed is not an application; the page says why and keeps the input.
    #[error("application form: {0:?}")]
    Form(FormError),
    #[error("an application for this person is already open")]
    AlreadyOpen,
    /// No such person, notice, application or card among those the caller may see.
    #[error("not found")]
    NotFound,
    /// The kenpo's request does not fit: a date, a 負担割合, a reason.
    #[error("{0}")]
    Invalid(Invalid),
    #[error("the application is {from:?}; it cannot become {to:?}")]
    Transition { from: ApplicationStatus, to: ApplicationStatus },
    /// Another decision came first.
    #[error("the application was decided meanwhile")]
    Changed,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for QualificationError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ApplicationOpen => Self::AlreadyOpen,
            e => Self::Store(e),
        }
    }
}

/// A member's application form that cannot be sent, as a catalogue key the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FormError {
    NoPerson,
    NoReason,
    NoteTooLong,
}

impl FormError {
    pub fn key(self) -> &'static str {
        match self {
            Self::NoPerson => "qualification.error.person",
            Self::NoReason => "qualification.error.reason",
            Self::NoteTooLong => "qualification.error.note_too_long",
        }
    }
}

/// A kenpo request that does not fit, in both languages (the API answers with both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("valid_until must be on or after issued_on and at most five years later")]
    Validity,
    #[error("a rejection needs a reason of at most 500 characters")]
    Rejection,
}

impl Invalid {
    pub fn code(self) -> &'static str {
        match self {
            Self::Validity => "invalid_validity",
            Self::Rejection => "invalid_rejection",
        }
    }

    pub fn message_ja(self) -> &'static str {
        match self {
            Self::Validity => "有効期限は交付年月日以降、交付年月日から5年以内の日付にしてください。",
            Self::Rejection => "却下の理由を500文字以内で入力してください。",
        }
    }
}

/// The state of a person's 資格確認書, from their latest card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    /// 未交付
    NotIssued,
    /// 交付済み
    Issued,
    /// 有効期限切れ
    Expired,
    /// 返却済み
    Returned,
}

pub fn certificate_status(latest: Option<&Certificate>, today: Date) -> CertificateStatus {
    match latest {
        None => CertificateStatus::NotIssued,
        Some(c) if c.returned_on.is_some_and(|r| r <= today) => CertificateStatus::Returned,
        Some(c) if c.valid_until < today => CertificateStatus::Expired,
        Some(_) => CertificateStatus::Issued,
    }
}

/// One person's documents, as the page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonDocuments<'a> {
    pub member: &'a Member,
    /// The latest 資格情報のお知らせ, the one downloaded.
    pub notice: Option<&'a IssuedNotice>,
    pub certificate: Option<&'a Certificate>,
    pub status: CertificateStatus,
    /// The latest application for a card.
    pub application: Option<&'a Application>,
}

/// Each person's latest notice, card and application (each list newest first, as the store
/// returns them).
pub fn documents<'a>(
    people: &[&'a Member],
    notices: &'a [IssuedNotice],
    certificates: &'a [Certificate],
    applications: &'a [Application],
    today: Date,
) -> Vec<PersonDocuments<'a>> {
    people
        .iter()
        .map(|m| {
            let certificate = certificates.iter().find(|c| c.member_id == m.id);
            PersonDocuments {
                member: m,
                notice: notices.iter().find(|n| n.member_id == m.id),
                certificate,
                status: certificate_status(certificate, today),
                application: applications.iter().find(|a| a.member_id == m.id),
            }
        })
        .collect()
}

/// The application form as the browser sent it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplicationInput<'a> {
    pub person: &'a str,
    pub reason: &'a str,
    pub note: &'a str,
}

/// Checks the form: the person must be one of `people` (another id is not found, never
/// someone else's card), a reason chosen, the note short.
pub fn check_application<'a>(
    input: ApplicationInput<'_>,
    people: &[&'a Member],
) -> Result<(&'a Member, ApplicationReason, String), QualificationError> {
    let form = |e| Err(QualificationError::Form(e));
    if input.person.is_empty() {
        return form(FormError::NoPerson);
    }
    let person = access::narrow(people, Some(input.person))
        .and_then(|v| v.first().copied())
        .ok_or(QualificationError::NotFound)?;
    let Some(reason) = ApplicationReason::parse(input.reason) else { return form(FormError::NoReason) };
    let note = input.note.trim();
    if note.chars().count() > NOTE_MAX_CHARS {
        return form(FormError::NoteTooLong);
    }
    Ok((person, reason, note.to_owned()))
}

/// The member `applicant` applies for a (re)issued 資格確認書 for someone in `people`.
pub async fn apply(
    db: &impl QualificationStore,
    applicant: &Member,
    people: &[&Member],
    input: ApplicationInput<'_>,
    now: OffsetDateTime,
) -> Result<Application, QualificationError> {
    let (person, reason, note) = check_application(input, people)?;
    let new = NewApplication {
        kenpo_id: &applicant.kenpo_id,
        member_id: &person.id,
        applicant_id: &applicant.id,
        reason,
        note: &note,
        at: now,
    };
    Ok(db.open_application(new).await?)
}

/// A 資格確認書's dates: 有効期限 on or after 交付年月日 and at most five years on (spec §6).
pub fn check_validity(issued_on: Date, valid_until: Date) -> Result<(), QualificationError> {
    let limit = issued_on.replace_year(issued_on.year() + 5).unwrap_or_else(|_| {
        // 29 February + 5 years: the day before 1 March.
        issued_on.saturating_add(time::Duration::days(5 * 365 + 1))
    });
    if valid_until < issued_on || valid_until > limit {
        return Err(QualificationError::Invalid(Invalid::Validity));
    }
    Ok(())
}

/// What the kenpo decides on an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 受付
    Accept,
    /// 却下, with the reason the member reads.
    Reject { reason: String },
    /// 交付済み: the card was issued.
    Issue { issued_on: Date, valid_until: Date, copay: Option<Copay> },
}

/// 申請中 → 受付 → 交付済み, and 却下 from either open state; a closed application stays closed.
pub fn next_status(
    from: ApplicationStatus,
    decision: &Decision,
) -> Result<ApplicationStatus, QualificationError> {
    use ApplicationStatus::{Accepted, Applied, Issued, Rejected};
    let to = match decision {
        Decision::Accept => Accepted,
        Decision::Reject { .. } => Rejected,
        Decision::Issue { .. } => Issued,
    };
    match (from, to) {
        (Applied, Accepted) | (Applied | Accepted, Rejected | Issued) => Ok(to),
        _ => Err(QualificationError::Transition { from, to }),
    }
}

/// The kenpo decides on one of its applications.
pub async fn decide(
    db: &impl QualificationStore,
    kenpo_id: &str,
    id: &str,
    decision: Decision,
    now: OffsetDateTime,
) -> Result<Application, QualificationError> {
    let application = db.application(kenpo_id, id).await?.ok_or(QualificationError::NotFound)?;
    next_status(application.status, &decision)?;
    let decided = match &decision {
        Decision::Accept => Decided::Accepted,
        Decision::Reject { reason } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > REJECTION_MAX_CHARS {
                return Err(QualificationError::Invalid(Invalid::Rejection));
            }
            Decided::Rejected(reason)
        }
        Decision::Issue { issued_on, valid_until, copay } => {
            check_validity(*issued_on, *valid_until)?;
            Decided::Issued(NewCertificate {
                kenpo_id,
                member_id: &application.member_id,
                issued_on: *issued_on,
                valid_until: *valid_until,
                copay: *copay,
                at: now,
            })
        }
    };
    db.decide(kenpo_id, id, application.status, decided, now).await?.ok_or(QualificationError::Changed)
}

/// A card (記号・番号・枝番) as the kenpo's systems name a member.
#[derive(Debug, Clone, Copy)]
pub struct CardNumber<'a> {
    pub symbol: &'a str,
    pub number: &'a str,
    pub branch: &'a str,
}

async fn holder(
    db: &impl QualificationStore,
    kenpo_id: &str,
    card: CardNumber<'_>,
) -> Result<MemberId, QualificationError> {
    db.card_holder(kenpo_id, (card.symbol, card.number, card.branch))
        .await?
        .ok_or(QualificationError::NotFound)
}

/// The kenpo issued a 資格情報のお知らせ to the member with `card`. What it states of the person
/// and the insurer is kept with it as issued ([`NoticeSnapshot`]): a later member import does
/// not rewrite it.
pub async fn record_notice(
    db: &(impl QualificationStore + KenpoStore),
    kenpo_id: &str,
    card: CardNumber<'_>,
    issued_on: Date,
    reason: NoticeReason,
    copay: Option<Copay>,
    now: OffsetDateTime,
) -> Result<IssuedNotice, QualificationError> {
    let person = db
        .card_person(kenpo_id, (card.symbol, card.number, card.branch))
        .await?
        .ok_or(QualificationError::NotFound)?;
    let kenpo = db.kenpo(kenpo_id).await?.ok_or(QualificationError::NotFound)?;
    let snapshot = snapshot(&kenpo, &person);
    let new = NewIssuedNotice {
        kenpo_id,
        member_id: &person.member_id,
        issued_on,
        reason,
        copay,
        snapshot: Some(&snapshot),
        at: now,
    };
    Ok(db.record_notice(new).await?)
}

/// The kenpo's 保険者名称: its `insurer_name` setting, else its display name.
fn insurer_name(kenpo: &Kenpo) -> String {
    if kenpo.settings.insurer_name.is_empty() {
        kenpo.display_name.clone()
    } else {
        kenpo.settings.insurer_name.clone()
    }
}

/// What a notice issued now states of `person` under `kenpo`.
pub fn snapshot(kenpo: &Kenpo, person: &CardPerson) -> NoticeSnapshot {
    NoticeSnapshot {
        insurer_name: insurer_name(kenpo),
        insurer_number: kenpo.settings.insurer_number.clone(),
        name: person.name.clone(),
        birth_date: person.birth_date.clone(),
        symbol: person.symbol.clone(),
        number: person.number.clone(),
        branch: person.branch.clone(),
        insured: person.relation == Relation::Insured,
        acquired_on: person.acquired_on.clone(),
    }
}

/// The kenpo issued a 資格確認書 to the member with `card` (職権交付, or on paper outside the
/// portal's applications).
pub async fn record_certificate(
    db: &impl QualificationStore,
    kenpo_id: &str,
    card: CardNumber<'_>,
    issued_on: Date,
    valid_until: Date,
    copay: Option<Copay>,
    now: OffsetDateTime,
) -> Result<Certificate, QualificationError> {
    check_validity(issued_on, valid_until)?;
    let member_id = holder(db, kenpo_id, card).await?;
    let new = NewCertificate { kenpo_id, member_id: &member_id, issued_on, valid_until, copay, at: now };
    Ok(db.record_certificate(new).await?)
}

/// The card came back (資格喪失, or the member switched to マイナ保険証).
pub async fn return_certificate(
    db: &impl QualificationStore,
    kenpo_id: &str,
    certificate_id: &str,
    returned_on: Date,
) -> Result<(), QualificationError> {
    if db.return_certificate(kenpo_id, certificate_id, returned_on).await? {
        Ok(())
    } else {
        Err(QualificationError::NotFound)
    }
}

/// A new notice and the logins that may download it: whom the update mail (category
/// [`MAIL_CATEGORY`]) goes to, subject to each one's 通知設定.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub notice_id: String,
    pub member_id: MemberId,
    pub recipients: Vec<Member>,
}

/// The kenpo's notices not yet announced, each with the members who sign in (have a `subject`)
/// and handle that person's documents under the kenpo's settings. Call [`mark_announced`] once
/// the mails are queued.
pub async fn new_issues(
    db: &(impl QualificationStore + MemberStore),
    kenpo: &Kenpo,
    today: Date,
) -> Result<Vec<Announcement>, QualificationError> {
    let today = today.to_string();
    let mut announcements = Vec::new();
    for issue in db.unannounced_notices(&kenpo.id).await? {
        let household = db.household(&issue.household_id).await?;
        let recipients = household
            .iter()
            .filter(|login| login.subject.is_some())
            .filter(|login| {
                access::qualification_people(login, &household, &kenpo.settings, &today)
                    .is_ok_and(|people| people.iter().any(|p| p.id == issue.member_id))
            })
            .cloned()
            .collect();
        announcements.push(Announcement {
            notice_id: issue.notice_id,
            member_id: issue.member_id,
            recipients,
        });
    }
    Ok(announcements)
}

pub async fn mark_announced(
    db: &impl QualificationStore,
    announced: &[Announcement],
    now: OffsetDateTime,
) -> Result<(), QualificationError> {
    let ids: Vec<String> = announced.iter().map(|a| a.notice_id.clone()).collect();
    Ok(db.mark_announced(&ids, now).await?)
}

/// The printable 資格情報のお知らせ of `member`'s latest `notice`: as it was issued (its
/// snapshot), or, for a notice recorded before snapshots were kept, from the member as they
/// stand under the kenpo's names. `None` when a date cannot be read.
pub fn notice_document(kenpo: &Kenpo, member: &Member, notice: &IssuedNotice) -> Option<QualificationNotice> {
    if let Some(s) = &notice.snapshot {
        return Some(QualificationNotice {
            insurer_name: s.insurer_name.clone(),
            insurer_number: s.insurer_number.clone(),
            name: s.name.clone(),
            birth_date: parse_date(&s.birth_date)?,
            symbol: s.symbol.clone(),
            number: s.number.clone(),
            branch: s.branch.clone(),
            insured: s.insured,
            acquired_on: match s.acquired_on.as_deref() {
                Some(d) => Some(parse_date(d)?),
                None => None,
            },
            issued_on: notice.issued_on,
            copay: notice.copay,
        });
    }
    Some(QualificationNotice {
        insurer_name: insurer_name(kenpo),
        insurer_number: kenpo.settings.insurer_number.clone(),
        name: member.name.clone(),
        birth_date: parse_date(&member.birth_date)?,
        symbol: member.symbol.clone(),
        number: member.number.clone(),
        branch: member.branch.clone(),
        insured: member.relation == Relation::Insured,
        acquired_on: notice.acquired_on,
        issued_on: notice.issued_on,
        copay: notice.copay,
    })
}

pub mod announce;
pub mod on_import;
#[cfg(test)]
mod tests;
