//! Members and their households, as the pages read them. (The kenpo's files write them:
//! `store::import`.)

use super::{Db, StoreError};
use crate::domain::{HouseholdId, MemberId, Relation, Sex};
use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub kenpo_id: String,
    pub household_id: HouseholdId,
    /// The card's 記号・番号・枝番.
    pub symbol: String,
    pub number: String,
    pub branch: String,
    pub relation: Relation,
    pub name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub sex: Sex,
    pub subject: Option<String>,
    /// `YYYY-MM-DD` of 資格喪失, if lost.
    pub lost_on: Option<String>,
    pub hidden_from_household: bool,
}

pub trait MemberStore {
    /// The member the IdP user `subject` signs in as, in `kenpo_id`.
    fn member_by_subject(
        &self,
        kenpo_id: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Option<Member>, StoreError>> + Send;
    /// Everyone in the household, the insured first, then by 枝番.
    fn household(
        &self,
        household_id: &HouseholdId,
    ) -> impl Future<Output = Result<Vec<Member>, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
pub(super) struct MemberRow {
    id: String,
    kenpo_id: String,
    household_id: String,
    symbol: String,
    number: String,
    branch: String,
    relation: String,
    name: String,
    birth_date: String,
    sex: String,
    subject: Option<String>,
    lost_on: Option<String>,
    hidden_from_household: i64,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;
    fn try_from(r: MemberRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: MemberId::from_db(r.id),
            kenpo_id: r.kenpo_id,
            household_id: HouseholdId::from_db(r.household_id),
            symbol: r.symbol,
            number: r.number,
            branch: r.branch,
            relation: Relation::parse(&r.relation).ok_or(StoreError::Corrupt("members.relation"))?,
            name: r.name,
            birth_date: r.birth_date,
            sex: Sex::parse(&r.sex).ok_or(StoreError::Corrupt("members.sex"))?,
            subject: r.subject,
            lost_on: r.lost_on,
            hidden_from_household: r.hidden_from_household != 0,
        })
    }
}

pub(super) const SELECT: &str = "SELECT m.id, m.kenpo_id, m.household_id, h.symbol, h.number, m.branch, m.relation, m.name, \
     m.birth_date, m.sex, m.subject, m.lost_on, CAST(m.hidden_from_household AS BIGINT) AS hidden_from_household \
     FROM members m JOIN households h ON h.id = m.household_id";

impl MemberStore for Db {
    async fn member_by_subject(&self, kenpo_id: &str, subject: &str) -> Result<Option<Member>, StoreError> {
        sqlx::query_as::<_, MemberRow>(&format!("{SELECT} WHERE m.kenpo_id = $1 AND m.subject = $2"))
            .bind(kenpo_id)
            .bind(subject)
            .fetch_optional(self.pool())
            .await?
            .map(Member::try_from)
            .transpose()
    }

    async fn household(&self, household_id: &HouseholdId) -> Result<Vec<Member>, StoreError> {
        sqlx::query_as::<_, MemberRow>(&format!(
            "{SELECT} WHERE m.household_id = $1 ORDER BY CASE m.relation WHEN 'insured' THEN 0 ELSE 1 END, m.branch"
        ))
        .bind(household_id.as_str())
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(Member::try_from)
        .collect()
    }
}
