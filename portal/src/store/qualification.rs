//! 資格情報のお知らせ issued, 資格確認書 issued and returned, and the members' applications for a
//! card, with the kenpo's decisions on them (spec §6). Reads are for members the access rules
//! already allowed (`flows::access::qualification_people`), or for the kenpo's own review.

use super::{Db, StoreError};
use crate::domain::{ApplicationReason, ApplicationStatus, Copay, HouseholdId, MemberId, NoticeReason};
use rows::{
    APPLICATION, ApplicationRow, CERTIFICATE, CardPersonRow, CardRow, CertificateRow, NOTICE, NoticeRow,
    copay_columns,
};
use shared_runtime::db::{to_millis, unique_violation};
use std::future::Future;
use time::{Date, OffsetDateTime};

/// One 資格情報のお知らせ issued to a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedNotice {
    pub id: String,
    pub member_id: MemberId,
    pub issued_on: Date,
    pub reason: NoticeReason,
    pub copay: Option<Copay>,
    /// The member's 資格取得年月日, as the kenpo's member file gives it.
    pub acquired_on: Option<Date>,
    /// What the notice stated when it was issued; `None` for notices recorded before snapshots
    /// were kept, which are drawn from the member as they stand.
    pub snapshot: Option<NoticeSnapshot>,
}

#[derive(Debug, Clone)]
pub struct NewIssuedNotice<'a> {
    pub kenpo_id: &'a str,
    pub member_id: &'a MemberId,
    pub issued_on: Date,
    pub reason: NoticeReason,
    pub copay: Option<Copay>,
    /// What the notice states, kept as issued.
    pub snapshot: Option<&'a NoticeSnapshot>,
    pub at: OffsetDateTime,
}

/// A notice whose update mail has not been queued yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unannounced {
    pub notice_id: String,
    pub member_id: MemberId,
    pub household_id: HouseholdId,
}

/// One 資格確認書 issued to a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub id: String,
    pub member_id: MemberId,
    /// 交付年月日
    pub issued_on: Date,
    /// 有効期限
    pub valid_until: Date,
    pub copay: Option<Copay>,
    pub returned_on: Option<Date>,
}

#[derive(Debug, Clone)]
pub struct NewCertificate<'a> {
    pub kenpo_id: &'a str,
    pub member_id: &'a MemberId,
    pub issued_on: Date,
    pub valid_until: Date,
    pub copay: Option<Copay>,
    pub at: OffsetDateTime,
}

/// An application for a (re)issued 資格確認書.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub kenpo_id: String,
    /// Whom the card is for.
    pub member_id: MemberId,
    /// Who applied (the insured, for a dependant).
    pub applicant_id: MemberId,
    pub reason: ApplicationReason,
    pub note: String,
    pub status: ApplicationStatus,
    /// 却下の理由.
    pub rejection: Option<String>,
    /// The card issued in answer.
    pub certificate_id: Option<String>,
    pub applied_at: i64,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewApplication<'a> {
    pub kenpo_id: &'a str,
    pub member_id: &'a MemberId,
    pub applicant_id: &'a MemberId,
    pub reason: ApplicationReason,
    pub note: &'a str,
    pub at: OffsetDateTime,
}

/// The person an application is for, as the kenpo knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub symbol: String,
    pub number: String,
    pub branch: String,
    pub name: String,
}

/// What the kenpo decided, as written.
#[derive(Debug, Clone)]
pub enum Decided<'a> {
    Accepted,
    Rejected(&'a str),
    /// The card was issued: the certificate is recorded with the decision.
    Issued(NewCertificate<'a>),
}

pub trait QualificationStore {
    /// The member of `kenpo_id` with this card (記号・番号・枝番).
    fn card_holder(
        &self,
        kenpo_id: &str,
        card: (&str, &str, &str),
    ) -> impl Future<Output = Result<Option<MemberId>, StoreError>> + Send;
    /// The member of `kenpo_id` with this card, as a notice states them.
    fn card_person(
        &self,
        kenpo_id: &str,
        card: (&str, &str, &str),
    ) -> impl Future<Output = Result<Option<CardPerson>, StoreError>> + Send;
    fn record_notice(
        &self,
        new: NewIssuedNotice<'_>,
    ) -> impl Future<Output = Result<IssuedNotice, StoreError>> + Send;
    /// The notices of `members`, newest first.
    fn notices(
        &self,
        members: &[MemberId],
    ) -> impl Future<Output = Result<Vec<IssuedNotice>, StoreError>> + Send;
    /// The kenpo's notices not announced yet, oldest first.
    fn unannounced_notices(
        &self,
        kenpo_id: &str,
    ) -> impl Future<Output = Result<Vec<Unannounced>, StoreError>> + Send;
    /// Marks notices announced; those already marked stay as they were.
    fn mark_announced(
        &self,
        notice_ids: &[String],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn record_certificate(
        &self,
        new: NewCertificate<'_>,
    ) -> impl Future<Output = Result<Certificate, StoreError>> + Send;
    /// Records the card's return; false when the kenpo has no such unreturned card.
    fn return_certificate(
        &self,
        kenpo_id: &str,
        certificate_id: &str,
        returned_on: Date,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The certificates of `members`, newest first.
    fn certificates(
        &self,
        members: &[MemberId],
    ) -> impl Future<Output = Result<Vec<Certificate>, StoreError>> + Send;
    /// A new application; [`StoreError::ApplicationOpen`] when the person already has an open one.
    fn open_application(
        &self,
        new: NewApplication<'_>,
    ) -> impl Future<Output = Result<Application, StoreError>> + Send;
    /// The applications for `members`, newest first.
    fn applications_for(
        &self,
        members: &[MemberId],
    ) -> impl Future<Output = Result<Vec<Application>, StoreError>> + Send;
    /// The kenpo's applications (in `status`, when given), oldest first, with whom each is for.
    fn kenpo_applications(
        &self,
        kenpo_id: &str,
        status: Option<ApplicationStatus>,
    ) -> impl Future<Output = Result<Vec<(Application, Applicant)>, StoreError>> + Send;
    fn application(
        &self,
        kenpo_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<Application>, StoreError>> + Send;
    /// Moves the application from `from` as decided, in one transaction with the certificate an
    /// issue records; `None` when it is no longer in `from` (decided meanwhile).
    fn decide(
        &self,
        kenpo_id: &str,
        id: &str,
        from: ApplicationStatus,
        decided: Decided<'_>,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Application>, StoreError>> + Send;
}

/// `$first, $first+1, …` for an `IN (…)` list.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

async fn insert_certificate<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    new: &NewCertificate<'_>,
) -> Result<Certificate, StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    let (percent, from, _) = copay_columns(new.copay);
    sqlx::query(
        "INSERT INTO qualification_certificates \
         (id, kenpo_id, member_id, issued_on, valid_until, copay_percent, copay_from, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(new.kenpo_id)
    .bind(new.member_id.as_str())
    .bind(new.issued_on.to_string())
    .bind(new.valid_until.to_string())
    .bind(percent)
    .bind(from)
    .bind(to_millis(new.at))
    .execute(executor)
    .await?;
    Ok(Certificate {
        id,
        member_id: new.member_id.clone(),
        issued_on: new.issued_on,
        valid_until: new.valid_until,
        copay: new.copay.map(|c| Copay { until: None, ..c }),
        returned_on: None,
    })
}

impl QualificationStore for Db {
    async fn card_holder(
        &self,
        kenpo_id: &str,
        (symbol, number, branch): (&str, &str, &str),
    ) -> Result<Option<MemberId>, StoreError> {
        let id: Option<(String,)> = sqlx::query_as(
            "SELECT m.id FROM members m JOIN households h ON h.id = m.household_id \
             WHERE h.kenpo_id = $1 AND h.symbol = $2 AND h.number = $3 AND m.branch = $4",
        )
        .bind(kenpo_id)
        .bind(symbol)
        .bind(number)
        .bind(branch)
        .fetch_optional(self.pool())
        .await?;
        Ok(id.map(|(id,)| MemberId::from_db(id)))
    }

    async fn card_person(
        &self,
        kenpo_id: &str,
        (symbol, number, branch): (&str, &str, &str),
    ) -> Result<Option<CardPerson>, StoreError> {
        let row: Option<CardPersonRow> = sqlx::query_as(
            "SELECT m.id, m.name, m.birth_date, h.symbol, h.number, m.branch, m.relation, m.acquired_on \
             FROM members m JOIN households h ON h.id = m.household_id \
             WHERE h.kenpo_id = $1 AND h.symbol = $2 AND h.number = $3 AND m.branch = $4",
        )
        .bind(kenpo_id)
        .bind(symbol)
        .bind(number)
        .bind(branch)
        .fetch_optional(self.pool())
        .await?;
        row.map(CardPerson::try_from).transpose()
    }

    async fn record_notice(&self, new: NewIssuedNotice<'_>) -> Result<IssuedNotice, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let (percent, from, until) = copay_columns(new.copay);
        let snapshot = new
            .snapshot
            .map(serde_json::to_string)
            .transpose()
            .map_err(|_| StoreError::Corrupt("qualification_notices.snapshot"))?;
        sqlx::query(
            "INSERT INTO qualification_notices \
             (id, kenpo_id, member_id, issued_on, reason, copay_percent, copay_from, copay_until, \
             snapshot, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(new.kenpo_id)
        .bind(new.member_id.as_str())
        .bind(new.issued_on.to_string())
        .bind(new.reason.as_str())
        .bind(percent)
        .bind(from)
        .bind(until)
        .bind(snapshot)
        .bind(to_millis(new.at))
        .execute(self.pool())
        .await?;
        sqlx::query_as::<_, NoticeRow>(&format!("{NOTICE} WHERE n.id = $1"))
            .bind(&id)
            .fetch_one(self.pool())
            .await?
            .try_into()
    }

    async fn notices(&self, members: &[MemberId]) -> Result<Vec<IssuedNotice>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{NOTICE} WHERE n.member_id IN ({}) ORDER BY n.issued_on DESC, n.created_at DESC",
            placeholders(1, members.len())
        );
        let mut query = sqlx::query_as::<_, NoticeRow>(&sql);
        for m in members {
            query = query.bind(m.as_str());
        }
        query.fetch_all(self.pool()).await?.into_iter().map(IssuedNotice::try_from).collect()
    }

    async fn unannounced_notices(&self, kenpo_id: &str) -> Result<Vec<Unannounced>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT n.id, n.member_id, m.household_id FROM qualification_notices n \
             JOIN members m ON m.id = n.member_id \
             WHERE n.kenpo_id = $1 AND n.announced_at IS NULL ORDER BY n.created_at, n.id",
        )
        .bind(kenpo_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(notice_id, member, household)| Unannounced {
                notice_id,
                member_id: MemberId::from_db(member),
                household_id: HouseholdId::from_db(household),
            })
            .collect())
    }

    async fn mark_announced(&self, notice_ids: &[String], at: OffsetDateTime) -> Result<(), StoreError> {
        if notice_ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE qualification_notices SET announced_at = $1 WHERE announced_at IS NULL AND id IN ({})",
            placeholders(2, notice_ids.len())
        );
        let mut query = sqlx::query(&sql).bind(to_millis(at));
        for id in notice_ids {
            query = query.bind(id);
        }
        query.execute(self.pool()).await?;
        Ok(())
    }

    async fn record_certificate(&self, new: NewCertificate<'_>) -> Result<Certificate, StoreError> {
        insert_certificate(self.pool(), &new).await
    }

    async fn return_certificate(
        &self,
        kenpo_id: &str,
        certificate_id: &str,
        returned_on: Date,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE qualification_certificates SET returned_on = $1 \
             WHERE id = $2 AND kenpo_id = $3 AND returned_on IS NULL",
        )
        .bind(returned_on.to_string())
        .bind(certificate_id)
        .bind(kenpo_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn certificates(&self, members: &[MemberId]) -> Result<Vec<Certificate>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{CERTIFICATE} WHERE member_id IN ({}) ORDER BY issued_on DESC, created_at DESC",
            placeholders(1, members.len())
        );
        let mut query = sqlx::query_as::<_, CertificateRow>(&sql);
        for m in members {
            query = query.bind(m.as_str());
        }
        query.fetch_all(self.pool()).await?.into_iter().map(Certificate::try_from).collect()
    }

    async fn open_application(&self, new: NewApplication<'_>) -> Result<Application, StoreError> {
        let application = Application {
            id: uuid::Uuid::new_v4().to_string(),
            kenpo_id: new.kenpo_id.to_owned(),
            member_id: new.member_id.clone(),
            applicant_id: new.applicant_id.clone(),
            reason: new.reason,
            note: new.note.to_owned(),
            status: ApplicationStatus::Applied,
            rejection: None,
            certificate_id: None,
            applied_at: to_millis(new.at),
            decided_at: None,
        };
        sqlx::query(
            "INSERT INTO qualification_applications \
             (id, kenpo_id, member_id, applicant_id, reason, note, status, applied_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&application.id)
        .bind(&application.kenpo_id)
        .bind(application.member_id.as_str())
        .bind(application.applicant_id.as_str())
        .bind(application.reason.as_str())
        .bind(&application.note)
        .bind(application.status.as_str())
        .bind(application.applied_at)
        .execute(self.pool())
        .await
        .map_err(|e| match unique_violation(&e) {
            // PostgreSQL names the index; SQLite the indexed column.
            Some(c) if c.contains("qualification_applications") => StoreError::ApplicationOpen,
            _ => StoreError::Database(e),
        })?;
        Ok(application)
    }

    async fn applications_for(&self, members: &[MemberId]) -> Result<Vec<Application>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{APPLICATION} WHERE a.member_id IN ({}) ORDER BY a.applied_at DESC, a.id",
            placeholders(1, members.len())
        );
        let mut query = sqlx::query_as::<_, ApplicationRow>(&sql);
        for m in members {
            query = query.bind(m.as_str());
        }
        query.fetch_all(self.pool()).await?.into_iter().map(Application::try_from).collect()
    }

    async fn kenpo_applications(
        &self,
        kenpo_id: &str,
        status: Option<ApplicationStatus>,
    ) -> Result<Vec<(Application, Applicant)>, StoreError> {
        let sql = format!(
            "SELECT a.id, a.kenpo_id, a.member_id, a.applicant_id, a.reason, a.note, a.status, \
             a.rejection, a.certificate_id, a.applied_at, a.decided_at, \
             h.symbol, h.number, m.branch, m.name \
             FROM qualification_applications a JOIN members m ON m.id = a.member_id \
             JOIN households h ON h.id = m.household_id \
             WHERE a.kenpo_id = $1 {} ORDER BY a.applied_at, a.id",
            if status.is_some() { "AND a.status = $2" } else { "" }
        );
        let mut query = sqlx::query(&sql).bind(kenpo_id);
        if let Some(status) = status {
            query = query.bind(status.as_str());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                use sqlx::FromRow;
                let application = Application::try_from(ApplicationRow::from_row(row)?)?;
                let card = CardRow::from_row(row)?;
                Ok((
                    application,
                    Applicant {
                        symbol: card.symbol,
                        number: card.number,
                        branch: card.branch,
                        name: card.name,
                    },
                ))
            })
            .collect()
    }

    async fn application(&self, kenpo_id: &str, id: &str) -> Result<Option<Application>, StoreError> {
        sqlx::query_as::<_, ApplicationRow>(&format!("{APPLICATION} WHERE a.kenpo_id = $1 AND a.id = $2"))
            .bind(kenpo_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(Application::try_from)
            .transpose()
    }

    async fn decide(
        &self,
        kenpo_id: &str,
        id: &str,
        from: ApplicationStatus,
        decided: Decided<'_>,
        at: OffsetDateTime,
    ) -> Result<Option<Application>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let (status, rejection, certificate) = match &decided {
            Decided::Accepted => (ApplicationStatus::Accepted, None, None),
            Decided::Rejected(reason) => (ApplicationStatus::Rejected, Some((*reason).to_owned()), None),
            Decided::Issued(new) => {
                (ApplicationStatus::Issued, None, Some(insert_certificate(&mut *tx, new).await?.id))
            }
        };
        let done = sqlx::query(
            "UPDATE qualification_applications SET status = $1, rejection = $2, certificate_id = $3, \
             decided_at = $4 WHERE kenpo_id = $5 AND id = $6 AND status = $7",
        )
        .bind(status.as_str())
        .bind(rejection)
        .bind(certificate)
        .bind(to_millis(at))
        .bind(kenpo_id)
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // The certificate written for it goes too. Rolled back here, not on drop: a dropped
            // transaction is rolled back later, and until then SQLite's write lock stays taken.
            tx.rollback().await?;
            return Ok(None);
        }
        // The decision to announce (`QualificationNews`), with the decision itself.
        sqlx::query(
            "INSERT INTO qualification_decisions (application_id, kenpo_id, status, decided_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(kenpo_id)
        .bind(status.as_str())
        .bind(to_millis(at))
        .execute(&mut *tx)
        .await?;
        let application = sqlx::query_as::<_, ApplicationRow>(&format!("{APPLICATION} WHERE a.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        application.try_into().map(Some)
    }
}

mod news;
mod rows;
mod snapshot;
pub use news::{QualificationNews, UnannouncedCertificate, UnannouncedDecision};
pub use snapshot::{CardPerson, NoticeSnapshot};
#[cfg(test)]
pub(crate) mod tests;
