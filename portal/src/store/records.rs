//! The kenpo's data about members, as the pages read it: always for a list of members the access
//! rules already allowed (`flows::access`), never "everything of the kenpo".

use super::{Db, StoreError};
use crate::domain::{Category, MemberId, Month};
use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: String,
    pub member_id: MemberId,
    pub service_month: Month,
    pub category: Category,
    pub institution: Option<String>,
    pub days: i64,
    pub total_yen: i64,
    pub insurer_yen: i64,
    pub public_yen: i64,
    pub patient_yen: i64,
    pub meal_yen: i64,
    pub statutory_refund_yen: i64,
    pub additional_refund_yen: i64,
    pub reduced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Benefit {
    pub id: String,
    pub notice_no: String,
    pub member_id: MemberId,
    pub kind: String,
    pub paid_month: Month,
    pub service_month: Option<Month>,
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    pub days: Option<i64>,
    pub total_yen: Option<i64>,
    pub public_yen: Option<i64>,
    pub patient_yen: Option<i64>,
    pub insurer_yen: Option<i64>,
    pub amount_yen: i64,
    pub daily_amount_yen: Option<i64>,
    pub decided_on: String,
    pub paid_on: Option<String>,
    pub payee: String,
    pub income_category: Option<String>,
    pub many_times: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prescription {
    pub member_id: MemberId,
    pub dispensed_month: Month,
    pub pharmacy: String,
    pub prescriber: Option<String>,
    pub drug_name: String,
    pub generic_name: Option<String>,
    pub strength: String,
    pub quantity: String,
    pub days: i64,
    pub is_generic: bool,
    pub amount_yen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupRecord {
    pub id: String,
    pub member_id: MemberId,
    /// `YYYY-MM-DD`.
    pub exam_date: String,
    pub institution: String,
    /// The document's observations as imported (JSON).
    pub document: String,
}

pub trait RecordStore {
    /// Claims of `members` for 診療年月 in `from..=to`, newest month first.
    fn claims(
        &self,
        members: &[MemberId],
        from: Month,
        to: Month,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send;
    /// Benefit decisions of `members` paid in `from..=to` (支給年月), newest first.
    fn benefits(
        &self,
        members: &[MemberId],
        from: Month,
        to: Month,
    ) -> impl Future<Output = Result<Vec<Benefit>, StoreError>> + Send;
    /// Drug lines of `members` dispensed in `from..=to`, whose name or generic name contains
    /// `drug` (any case) when given.
    fn prescriptions(
        &self,
        members: &[MemberId],
        from: Month,
        to: Month,
        drug: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Prescription>, StoreError>> + Send;
    /// Exams of `members` on or after `from` (`YYYY-MM-DD`), newest first.
    fn checkups(
        &self,
        members: &[MemberId],
        from: &str,
    ) -> impl Future<Output = Result<Vec<CheckupRecord>, StoreError>> + Send;
    /// The latest 診療年月 the kenpo has published claims for.
    fn latest_service_month(
        &self,
        kenpo_id: &str,
    ) -> impl Future<Output = Result<Option<Month>, StoreError>> + Send;
    /// Records who read whose health data (要配慮個人情報), what and when: one row per person read.
    fn record_reads(&self, read: HealthDataRead<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Who read health data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader<'a> {
    /// A member of the kenpo, signed in at the portal.
    Member(&'a MemberId),
    /// One of the kenpo's systems, by its IdP client_id, through the kenpo API.
    ApiClient(&'a str),
}

impl Reader<'_> {
    /// `health_data_reads.reader_kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Member(_) => "member",
            Self::ApiClient(_) => "api_client",
        }
    }

    /// `health_data_reads.reader_id`.
    pub fn id(&self) -> &str {
        match self {
            Self::Member(id) => id.as_str(),
            Self::ApiClient(client_id) => client_id,
        }
    }
}

/// One read of health data, for the kenpo's audit.
#[derive(Debug, Clone, Copy)]
pub struct HealthDataRead<'a> {
    pub kenpo_id: &'a str,
    pub reader: Reader<'a>,
    pub subjects: &'a [MemberId],
    /// The page or document: `medical_expenses`, `etax_xlsx`, `checkup` …
    pub what: &'a str,
    /// The filter or the document's id.
    pub detail: &'a str,
    pub at_millis: i64,
}

/// `$first, $first+1, …` for an `IN (…)` list.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: String,
    member_id: String,
    service_month: String,
    category: String,
    institution: Option<String>,
    days: i64,
    total_yen: i64,
    insurer_yen: i64,
    public_yen: i64,
    patient_yen: i64,
    meal_yen: i64,
    statutory_refund_yen: i64,
    additional_refund_yen: i64,
    reduced: i64,
}

#[derive(sqlx::FromRow)]
struct BenefitRow {
    id: String,
    notice_no: String,
    member_id: String,
    kind: String,
    paid_month: String,
    service_month: Option<String>,
    period_from: Option<String>,
    period_to: Option<String>,
    days: Option<i64>,
    total_yen: Option<i64>,
    public_yen: Option<i64>,
    patient_yen: Option<i64>,
    insurer_yen: Option<i64>,
    amount_yen: i64,
    daily_amount_yen: Option<i64>,
    decided_on: String,
    paid_on: Option<String>,
    payee: String,
    income_category: Option<String>,
    many_times: i64,
}

#[derive(sqlx::FromRow)]
struct PrescriptionRow {
    member_id: String,
    dispensed_month: String,
    pharmacy: String,
    prescriber: Option<String>,
    drug_name: String,
    generic_name: Option<String>,
    strength: String,
    quantity: String,
    days: i64,
    is_generic: i64,
    amount_yen: i64,
}

#[derive(sqlx::FromRow)]
struct CheckupRow {
    id: String,
    member_id: String,
    exam_date: String,
    institution: String,
    document: String,
}

fn month(s: &str, column: &'static str) -> Result<Month, StoreError> {
    Month::parse(s).map_err(|_| StoreError::Corrupt(column))
}

/// `%` and `_` in a search are taken literally.
fn like_pattern(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

impl RecordStore for Db {
    async fn claims(&self, members: &[MemberId], from: Month, to: Month) -> Result<Vec<Claim>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, member_id, service_month, category, institution, days, total_yen, insurer_yen, public_yen, \
             patient_yen, meal_yen, statutory_refund_yen, additional_refund_yen, CAST(reduced AS BIGINT) AS reduced \
             FROM claims WHERE service_month >= $1 AND service_month <= $2 AND member_id IN ({}) \
             ORDER BY service_month DESC, member_id, category, institution",
            placeholders(3, members.len())
        );
        let mut query = sqlx::query_as::<_, ClaimRow>(&sql).bind(from.to_string()).bind(to.to_string());
        for m in members {
            query = query.bind(m.as_str());
        }
        query
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|r| {
                Ok(Claim {
                    id: r.id,
                    member_id: MemberId::from_db(r.member_id),
                    service_month: month(&r.service_month, "claims.service_month")?,
                    category: Category::parse(&r.category).ok_or(StoreError::Corrupt("claims.category"))?,
                    institution: r.institution,
                    days: r.days,
                    total_yen: r.total_yen,
                    insurer_yen: r.insurer_yen,
                    public_yen: r.public_yen,
                    patient_yen: r.patient_yen,
                    meal_yen: r.meal_yen,
                    statutory_refund_yen: r.statutory_refund_yen,
                    additional_refund_yen: r.additional_refund_yen,
                    reduced: r.reduced != 0,
                })
            })
            .collect()
    }

    async fn benefits(
        &self,
        members: &[MemberId],
        from: Month,
        to: Month,
    ) -> Result<Vec<Benefit>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, notice_no, member_id, kind, paid_month, service_month, period_from, period_to, days, \
             total_yen, public_yen, patient_yen, insurer_yen, amount_yen, daily_amount_yen, decided_on, paid_on, \
             payee, income_category, CAST(many_times AS BIGINT) AS many_times \
             FROM benefits WHERE paid_month >= $1 AND paid_month <= $2 AND member_id IN ({}) \
             ORDER BY paid_month DESC, decided_on DESC, notice_no",
            placeholders(3, members.len())
        );
        let mut query = sqlx::query_as::<_, BenefitRow>(&sql).bind(from.to_string()).bind(to.to_string());
        for m in members {
            query = query.bind(m.as_str());
        }
        query
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|r| {
                Ok(Benefit {
                    id: r.id,
                    notice_no: r.notice_no,
                    member_id: MemberId::from_db(r.member_id),
                    kind: r.kind,
                    paid_month: month(&r.paid_month, "benefits.paid_month")?,
                    service_month: r
                        .service_month
                        .as_deref()
                        .map(|m| month(m, "benefits.service_month"))
                        .transpose()?,
                    period_from: r.period_from,
                    period_to: r.period_to,
                    days: r.days,
                    total_yen: r.total_yen,
                    public_yen: r.public_yen,
                    patient_yen: r.patient_yen,
                    insurer_yen: r.insurer_yen,
                    amount_yen: r.amount_yen,
                    daily_amount_yen: r.daily_amount_yen,
                    decided_on: r.decided_on,
                    paid_on: r.paid_on,
                    payee: r.payee,
                    income_category: r.income_category,
                    many_times: r.many_times != 0,
                })
            })
            .collect()
    }

    async fn prescriptions(
        &self,
        members: &[MemberId],
        from: Month,
        to: Month,
        drug: Option<&str>,
    ) -> Result<Vec<Prescription>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let drug_clause = if drug.is_some() {
            "AND (LOWER(drug_name) LIKE $3 ESCAPE '\\' OR LOWER(COALESCE(generic_name, '')) LIKE $3 ESCAPE '\\')"
        } else {
            "AND $3 = $3"
        };
        let sql = format!(
            "SELECT member_id, dispensed_month, pharmacy, prescriber, drug_name, generic_name, strength, quantity, \
             days, CAST(is_generic AS BIGINT) AS is_generic, amount_yen FROM prescriptions \
             WHERE dispensed_month >= $1 AND dispensed_month <= $2 {drug_clause} AND member_id IN ({}) \
             ORDER BY dispensed_month DESC, member_id, claim_no, line_no",
            placeholders(4, members.len())
        );
        let mut query = sqlx::query_as::<_, PrescriptionRow>(&sql)
            .bind(from.to_string())
            .bind(to.to_string())
            .bind(drug.map(like_pattern).unwrap_or_default());
        for m in members {
            query = query.bind(m.as_str());
        }
        query
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|r| {
                Ok(Prescription {
                    member_id: MemberId::from_db(r.member_id),
                    dispensed_month: month(&r.dispensed_month, "prescriptions.dispensed_month")?,
                    pharmacy: r.pharmacy,
                    prescriber: r.prescriber,
                    drug_name: r.drug_name,
                    generic_name: r.generic_name,
                    strength: r.strength,
                    quantity: r.quantity,
                    days: r.days,
                    is_generic: r.is_generic != 0,
                    amount_yen: r.amount_yen,
                })
            })
            .collect()
    }

    async fn checkups(&self, members: &[MemberId], from: &str) -> Result<Vec<CheckupRecord>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, member_id, exam_date, institution, document FROM checkups \
             WHERE exam_date >= $1 AND member_id IN ({}) ORDER BY exam_date DESC",
            placeholders(2, members.len())
        );
        let mut query = sqlx::query_as::<_, CheckupRow>(&sql).bind(from);
        for m in members {
            query = query.bind(m.as_str());
        }
        Ok(query
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|r| CheckupRecord {
                id: r.id,
                member_id: MemberId::from_db(r.member_id),
                exam_date: r.exam_date,
                institution: r.institution,
                document: r.document,
            })
            .collect())
    }

    async fn latest_service_month(&self, kenpo_id: &str) -> Result<Option<Month>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT MAX(service_month) FROM claims WHERE kenpo_id = $1")
                .bind(kenpo_id)
                .fetch_optional(self.pool())
                .await?;
        row.and_then(|r| r.0).map(|m| month(&m, "claims.service_month")).transpose()
    }

    async fn record_reads(&self, read: HealthDataRead<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for subject in read.subjects {
            sqlx::query(
                "INSERT INTO health_data_reads (id, kenpo_id, reader_kind, reader_id, subject_id, what, detail, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(read.kenpo_id)
            .bind(read.reader.kind())
            .bind(read.reader.id())
            .bind(subject.as_str())
            .bind(read.what)
            .bind(read.detail)
            .bind(read.at_millis)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_takes_wildcards_literally() {
        assert_eq!(like_pattern("ロキソ"), "%ロキソ%");
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
        assert_eq!(placeholders(3, 2), "$3, $4");
    }
}
