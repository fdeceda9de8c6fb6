//! What the update-mail job announces of the kenpo's 資格確認書 and decisions on applications
//! (categories `qualification_certificate` and `applications`): each newly issued card and each
//! decision stays unannounced until its mails were queued, then is marked, once.

use super::placeholders;
use crate::domain::{ApplicationStatus, HouseholdId, MemberId};
use crate::store::{Db, StoreError};
use shared_runtime::db::to_millis;
use std::future::Future;
use time::OffsetDateTime;

/// A 資格確認書 whose update mail has not been queued yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnannouncedCertificate {
    pub certificate_id: String,
    /// Whom the card is for.
    pub member_id: MemberId,
    pub household_id: HouseholdId,
}

/// A decision on an application whose update mail has not been queued yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnannouncedDecision {
    pub application_id: String,
    /// What the application became.
    pub status: ApplicationStatus,
    /// Whom the card is for.
    pub member_id: MemberId,
    /// Who applied.
    pub applicant_id: MemberId,
    pub household_id: HouseholdId,
}

pub trait QualificationNews {
    /// The kenpo's cards not announced yet, oldest first.
    fn unannounced_certificates(
        &self,
        kenpo_id: &str,
    ) -> impl Future<Output = Result<Vec<UnannouncedCertificate>, StoreError>> + Send;
    /// Marks cards announced; those already marked stay as they were.
    fn mark_certificates_announced(
        &self,
        certificate_ids: &[String],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The kenpo's decisions not announced yet, oldest first.
    fn unannounced_decisions(
        &self,
        kenpo_id: &str,
    ) -> impl Future<Output = Result<Vec<UnannouncedDecision>, StoreError>> + Send;
    /// Marks decisions (application id, status) announced.
    fn mark_decisions_announced(
        &self,
        decisions: &[(String, ApplicationStatus)],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl QualificationNews for Db {
    async fn unannounced_certificates(
        &self,
        kenpo_id: &str,
    ) -> Result<Vec<UnannouncedCertificate>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT c.id, c.member_id, m.household_id FROM qualification_certificates c \
             JOIN members m ON m.id = c.member_id \
             WHERE c.kenpo_id = $1 AND c.announced_at IS NULL ORDER BY c.created_at, c.id",
        )
        .bind(kenpo_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(certificate_id, member, household)| UnannouncedCertificate {
                certificate_id,
                member_id: MemberId::from_db(member),
                household_id: HouseholdId::from_db(household),
            })
            .collect())
    }

    async fn mark_certificates_announced(
        &self,
        certificate_ids: &[String],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if certificate_ids.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "UPDATE qualification_certificates SET announced_at = $1 \
             WHERE announced_at IS NULL AND id IN ({})",
            placeholders(2, certificate_ids.len())
        );
        let mut query = sqlx::query(&sql).bind(to_millis(at));
        for id in certificate_ids {
            query = query.bind(id);
        }
        query.execute(self.pool()).await?;
        Ok(())
    }

    async fn unannounced_decisions(&self, kenpo_id: &str) -> Result<Vec<UnannouncedDecision>, StoreError> {
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT d.application_id, d.status, a.member_id, a.applicant_id, m.household_id \
             FROM qualification_decisions d \
             JOIN qualification_applications a ON a.id = d.application_id \
             JOIN members m ON m.id = a.member_id \
             WHERE d.kenpo_id = $1 AND d.announced_at IS NULL \
             ORDER BY d.decided_at, d.application_id, d.status",
        )
        .bind(kenpo_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(application_id, status, member, applicant, household)| {
                Ok(UnannouncedDecision {
                    application_id,
                    status: ApplicationStatus::parse(&status)
                        .ok_or(StoreError::Corrupt("qualification_decisions.status"))?,
                    member_id: MemberId::from_db(member),
                    applicant_id: MemberId::from_db(applicant),
                    household_id: HouseholdId::from_db(household),
                })
            })
            .collect()
    }

    async fn mark_decisions_announced(
        &self,
        decisions: &[(String, ApplicationStatus)],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // A handful per round: one statement each keeps the SQL the same on both backends.
        for (application_id, status) in decisions {
            sqlx::query(
                "UPDATE qualification_decisions SET announced_at = $1 \
                 WHERE application_id = $2 AND status = $3 AND announced_at IS NULL",
            )
            .bind(to_millis(at))
            .bind(application_id)
            .bind(status.as_str())
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }
}
