//! The qualification tables' rows as sqlx reads them, and their meaning: dates parsed, words
//! checked, a stored value this version cannot read reported as corrupt rather than guessed.

use crate::domain::{
    ApplicationReason, ApplicationStatus, Copay, MemberId, NoticeReason, Relation, parse_date,
};
use crate::store::{Application, CardPerson, Certificate, IssuedNotice, StoreError};
use time::Date;

pub(super) fn date(s: &str, column: &'static str) -> Result<Date, StoreError> {
    parse_date(s).ok_or(StoreError::Corrupt(column))
}

pub(super) fn optional_date(s: Option<&str>, column: &'static str) -> Result<Option<Date>, StoreError> {
    s.map(|s| date(s, column)).transpose()
}

pub(super) fn copay(
    percent: Option<i64>,
    from: Option<&str>,
    until: Option<&str>,
    column: &'static str,
) -> Result<Option<Copay>, StoreError> {
    let Some(percent) = percent else { return Ok(None) };
    let percent = u8::try_from(percent).map_err(|_| StoreError::Corrupt(column))?;
    Copay::new(percent, optional_date(from, column)?, optional_date(until, column)?)
        .map(Some)
        .ok_or(StoreError::Corrupt(column))
}

pub(super) fn copay_columns(c: Option<Copay>) -> (Option<i64>, Option<String>, Option<String>) {
    match c {
        Some(c) => {
            (Some(i64::from(c.percent)), c.from.map(|d| d.to_string()), c.until.map(|d| d.to_string()))
        }
        None => (None, None, None),
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct NoticeRow {
    pub(super) id: String,
    pub(super) member_id: String,
    pub(super) issued_on: String,
    pub(super) reason: String,
    pub(super) copay_percent: Option<i64>,
    pub(super) copay_from: Option<String>,
    pub(super) copay_until: Option<String>,
    pub(super) acquired_on: Option<String>,
    pub(super) snapshot: Option<String>,
}

impl TryFrom<NoticeRow> for IssuedNotice {
    type Error = StoreError;
    fn try_from(r: NoticeRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            member_id: MemberId::from_db(r.member_id),
            issued_on: date(&r.issued_on, "qualification_notices.issued_on")?,
            reason: NoticeReason::parse(&r.reason)
                .ok_or(StoreError::Corrupt("qualification_notices.reason"))?,
            copay: copay(
                r.copay_percent,
                r.copay_from.as_deref(),
                r.copay_until.as_deref(),
                "qualification_notices.copay",
            )?,
            acquired_on: optional_date(r.acquired_on.as_deref(), "members.acquired_on")?,
            snapshot: r
                .snapshot
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|_| StoreError::Corrupt("qualification_notices.snapshot"))?,
        })
    }
}

pub(super) const NOTICE: &str = "SELECT n.id, n.member_id, n.issued_on, n.reason, n.copay_percent, n.copay_from, \
     n.copay_until, m.acquired_on, n.snapshot FROM qualification_notices n JOIN members m ON m.id = n.member_id";

#[derive(sqlx::FromRow)]
pub(super) struct CertificateRow {
    pub(super) id: String,
    pub(super) member_id: String,
    pub(super) issued_on: String,
    pub(super) valid_until: String,
    pub(super) copay_percent: Option<i64>,
    pub(super) copay_from: Option<String>,
    pub(super) returned_on: Option<String>,
}

impl TryFrom<CertificateRow> for Certificate {
    type Error = StoreError;
    fn try_from(r: CertificateRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            member_id: MemberId::from_db(r.member_id),
            issued_on: date(&r.issued_on, "qualification_certificates.issued_on")?,
            valid_until: date(&r.valid_until, "qualification_certificates.valid_until")?,
            copay: copay(r.copay_percent, r.copay_from.as_deref(), None, "qualification_certificates.copay")?,
            returned_on: optional_date(r.returned_on.as_deref(), "qualification_certificates.returned_on")?,
        })
    }
}

pub(super) const CERTIFICATE: &str = "SELECT id, member_id, issued_on, valid_until, copay_percent, copay_from, returned_on \
     FROM qualification_certificates";

#[derive(sqlx::FromRow)]
pub(super) struct ApplicationRow {
    pub(super) id: String,
    pub(super) kenpo_id: String,
    pub(super) member_id: String,
    pub(super) applicant_id: String,
    pub(super) reason: String,
    pub(super) note: String,
    pub(super) status: String,
    pub(super) rejection: Option<String>,
    pub(super) certificate_id: Option<String>,
    pub(super) applied_at: i64,
    pub(super) decided_at: Option<i64>,
}

impl TryFrom<ApplicationRow> for Application {
    type Error = StoreError;
    fn try_from(r: ApplicationRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id,
            kenpo_id: r.kenpo_id,
            member_id: MemberId::from_db(r.member_id),
            applicant_id: MemberId::from_db(r.applicant_id),
            reason: ApplicationReason::parse(&r.reason)
                .ok_or(StoreError::Corrupt("qualification_applications.reason"))?,
            note: r.note,
            status: ApplicationStatus::parse(&r.status)
                .ok_or(StoreError::Corrupt("qualification_applications.status"))?,
            rejection: r.rejection,
            certificate_id: r.certificate_id,
            applied_at: r.applied_at,
            decided_at: r.decided_at,
        })
    }
}

pub(super) const APPLICATION: &str = "SELECT a.id, a.kenpo_id, a.member_id, a.applicant_id, a.reason, a.note, a.status, \
     a.rejection, a.certificate_id, a.applied_at, a.decided_at FROM qualification_applications a";

#[derive(sqlx::FromRow)]
pub(super) struct CardRow {
    pub(super) symbol: String,
    pub(super) number: String,
    pub(super) branch: String,
    pub(super) name: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct CardPersonRow {
    id: String,
    name: String,
    birth_date: String,
    symbol: String,
    number: String,
    branch: String,
    relation: String,
    acquired_on: Option<String>,
}

impl TryFrom<CardPersonRow> for CardPerson {
    type Error = StoreError;
    fn try_from(r: CardPersonRow) -> Result<Self, StoreError> {
        Ok(Self {
            member_id: MemberId::from_db(r.id),
            name: r.name,
            birth_date: r.birth_date,
            symbol: r.symbol,
            number: r.number,
            branch: r.branch,
            relation: Relation::parse(&r.relation).ok_or(StoreError::Corrupt("members.relation"))?,
            acquired_on: r.acquired_on,
        })
    }
}
