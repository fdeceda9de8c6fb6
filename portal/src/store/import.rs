//! The writes of an import, inside one transaction ([`ImportTx`]): members resolved once into a
//! map, then batched multi-row upserts keyed by the kenpo's natural keys.
//!
//! Counting is portable: each upsert is `ON CONFLICT (key) DO UPDATE … WHERE (a column differs)
//! RETURNING id`. A row that changed nothing returns nothing; a returned id that we minted for
//! this statement is an insert, any other id an update. No backend-specific `xmax` trick, no
//! pre-read of the rows.

use super::{Db, StoreError};
use crate::domain::{HouseholdId, KenpoId, MemberId};
use crate::import::MemberKey;
use crate::import::benefits::BenefitLine;
use crate::import::claims::ClaimLine;
use crate::import::members::MemberLine;
use crate::import::prescriptions::PrescriptionLine;
use shared_runtime::db::{Backend, flag, to_millis};
use sqlx::{Any, Row as _, Transaction};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// Rows a batch upsert inserted and updated; the rest of the batch was unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upserted {
    pub inserted: u64,
    pub updated: u64,
}

/// A member as the database knows them, for resolving lines to member ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownMember {
    pub id: MemberId,
    pub subject: Option<String>,
}

/// One import's transaction. Dropped without [`ImportTx::commit`], it rolls back.
#[derive(Debug)]
pub struct ImportTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    now: i64,
}

impl Db {
    pub async fn begin_import(&self, now: OffsetDateTime) -> Result<ImportTx, StoreError> {
        let mut tx = self.pool().begin().await?;
        super::lock_for_writing(&mut tx, self.backend()).await?;
        Ok(ImportTx { tx, backend: self.backend(), now: to_millis(now) })
    }
}

/// A value bound into a batch. Owned strings only for ids we mint.
#[derive(Debug)]
enum Val<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Owned(String),
}

/// The most bind parameters one statement may carry: SQLite's SQLITE_MAX_VARIABLE_NUMBER
/// (32766 since 3.32) and PostgreSQL's 16-bit parameter count.
fn bind_limit(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 65_535,
        Backend::Sqlite => 32_766,
    }
}

/// Rows per statement at most, even where the bind limit allows more: PostgreSQL plans a huge
/// VALUES list slower than several smaller ones (measured with `kenpo-bench import`).
const MAX_ROWS: usize = 1000;

/// One table's upsert: `columns` start with `id`, then `kenpo_id`; `stamp` is set on insert and
/// on a real update; `key` is the conflict target.
#[derive(Debug)]
struct Upsert {
    table: &'static str,
    columns: &'static [&'static str],
    key: &'static str,
    stamp: &'static str,
}

impl Upsert {
    /// Rows per statement under the backend's bind-parameter limit.
    fn chunk(&self, backend: Backend) -> usize {
        (bind_limit(backend) / self.columns.len()).clamp(1, MAX_ROWS)
    }

    fn sql(&self, rows: usize) -> String {
        let width = self.columns.len();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", self.table, self.columns.join(", "));
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..width {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(r * width + c + 1).to_string());
            }
            sql.push(')');
        }
        let keys: Vec<&str> = self.key.split(", ").collect();
        let data: Vec<&str> =
            self.columns[2..].iter().copied().filter(|c| !keys.contains(c) && *c != self.stamp).collect();
        let set: Vec<String> =
            data.iter().chain([&self.stamp]).map(|c| format!("{c} = excluded.{c}")).collect();
        let differs: Vec<String> =
            data.iter().map(|c| format!("{t}.{c} IS DISTINCT FROM excluded.{c}", t = self.table)).collect();
        sql.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {} WHERE {} RETURNING id",
            self.key,
            set.join(", "),
            differs.join(" OR ")
        ));
        sql
    }
}

impl ImportTx {
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }

    /// Every member of the kenpo by card, in one query.
    pub async fn members(&mut self, kenpo: &KenpoId) -> Result<HashMap<MemberKey, KnownMember>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.id, h.symbol, h.number, m.branch, m.subject FROM members m \
             JOIN households h ON h.id = m.household_id WHERE m.kenpo_id = $1",
        )
        .bind(kenpo.as_str())
        .fetch_all(&mut *self.tx)
        .await?;
        let mut map = HashMap::with_capacity(rows.len());
        for row in rows {
            let key = MemberKey { symbol: row.try_get(1)?, number: row.try_get(2)?, branch: row.try_get(3)? };
            map.insert(key, KnownMember { id: MemberId::from_db(row.try_get(0)?), subject: row.try_get(4)? });
        }
        Ok(map)
    }

    /// Creates the missing households and returns every household of the kenpo by 記号・番号.
    pub async fn households(
        &mut self,
        kenpo: &KenpoId,
        cards: &HashSet<(&str, &str)>,
    ) -> Result<HashMap<(String, String), HouseholdId>, StoreError> {
        let cards: Vec<&(&str, &str)> = cards.iter().collect();
        for chunk in cards.chunks(bind_limit(self.backend) / 5) {
            let mut sql =
                "INSERT INTO households (id, kenpo_id, symbol, number, created_at) VALUES ".to_owned();
            for i in 0..chunk.len() {
                let b = i * 5;
                sql.push_str(&format!(
                    "{}(${}, ${}, ${}, ${}, ${})",
                    if i == 0 { "" } else { ", " },
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                ));
            }
            sql.push_str(" ON CONFLICT (kenpo_id, symbol, number) DO NOTHING");
            let mut query = sqlx::query(&sql);
            for (symbol, number) in chunk {
                query = query
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(kenpo.as_str())
                    .bind(*symbol)
                    .bind(*number)
                    .bind(self.now);
            }
            query.execute(&mut *self.tx).await?;
        }
        let rows = sqlx::query("SELECT id, symbol, number FROM households WHERE kenpo_id = $1")
            .bind(kenpo.as_str())
            .fetch_all(&mut *self.tx)
            .await?;
        rows.into_iter()
            .map(|r| Ok(((r.try_get(1)?, r.try_get(2)?), HouseholdId::from_db(r.try_get(0)?))))
            .collect()
    }

    pub async fn upsert_members(
        &mut self,
        kenpo: &KenpoId,
        rows: &[(&HouseholdId, &MemberLine)],
    ) -> Result<Upserted, StoreError> {
        const SPEC: Upsert = Upsert {
            table: "members",
            columns: &[
                "id",
                "kenpo_id",
                "household_id",
                "branch",
                "relation",
                "name",
                "name_kana",
                "birth_date",
                "sex",
                "subject",
                "acquired_on",
                "lost_on",
                "updated_at",
            ],
            key: "household_id, branch",
            stamp: "updated_at",
        };
        let now = self.now;
        let values = rows.iter().map(|(household, m)| {
            vec![
                Val::Owned(MemberId::new().to_string()),
                Val::Text(kenpo.as_str()),
                Val::Text(household.as_str()),
                Val::Text(&m.key.branch),
                Val::Text(m.relation.as_str()),
                Val::Text(&m.name),
                Val::Text(&m.name_kana),
                Val::Text(&m.birth_date),
                Val::Text(m.sex.as_str()),
                Val::OptText(m.subject.as_deref()),
                Val::OptText(m.acquired_on.as_deref()),
                Val::OptText(m.lost_on.as_deref()),
                Val::Int(now),
            ]
        });
        self.upsert(&SPEC, values.collect()).await
    }

    pub async fn upsert_claims(
        &mut self,
        kenpo: &KenpoId,
        rows: &[(&MemberId, &ClaimLine)],
    ) -> Result<Upserted, StoreError> {
        const SPEC: Upsert = Upsert {
            table: "claims",
            columns: &[
                "id",
                "kenpo_id",
                "claim_no",
                "member_id",
                "service_month",
                "category",
                "institution",
                "days",
                "total_yen",
                "insurer_yen",
                "public_yen",
                "patient_yen",
                "meal_yen",
                "statutory_refund_yen",
                "additional_refund_yen",
                "reduced",
                "imported_at",
            ],
            key: "kenpo_id, claim_no",
            stamp: "imported_at",
        };
        let now = self.now;
        let values = rows.iter().map(|(member, c)| {
            vec![
                Val::Owned(uuid::Uuid::new_v4().to_string()),
                Val::Text(kenpo.as_str()),
                Val::Text(&c.claim_no),
                Val::Text(member.as_str()),
                Val::Owned(c.service_month.to_string()),
                Val::Text(c.category.as_str()),
                Val::OptText(c.institution.as_deref()),
                Val::Int(c.days),
                Val::Int(c.total_yen),
                Val::Int(c.insurer_yen),
                Val::Int(c.public_yen),
                Val::Int(c.patient_yen),
                Val::Int(c.meal_yen),
                Val::Int(c.statutory_refund_yen),
                Val::Int(c.additional_refund_yen),
                Val::Int(flag(c.reduced).into()),
                Val::Int(now),
            ]
        });
        self.upsert(&SPEC, values.collect()).await
    }

    pub async fn upsert_benefits(
        &mut self,
        kenpo: &KenpoId,
        rows: &[(&MemberId, &BenefitLine)],
    ) -> Result<Upserted, StoreError> {
        const SPEC: Upsert = Upsert {
            table: "benefits",
            columns: &[
                "id",
                "kenpo_id",
                "notice_no",
                "member_id",
                "kind",
                "paid_month",
                "service_month",
                "period_from",
                "period_to",
                "days",
                "total_yen",
                "public_yen",
                "patient_yen",
                "insurer_yen",
                "amount_yen",
                "daily_amount_yen",
                "decided_on",
                "paid_on",
                "payee",
                "income_category",
                "many_times",
                "imported_at",
            ],
            key: "kenpo_id, notice_no",
            stamp: "imported_at",
        };
        let now = self.now;
        let values = rows.iter().map(|(member, b)| {
            vec![
                Val::Owned(uuid::Uuid::new_v4().to_string()),
                Val::Text(kenpo.as_str()),
                Val::Text(&b.notice_no),
                Val::Text(member.as_str()),
                Val::Text(b.kind.as_str()),
                Val::Owned(b.paid_month.to_string()),
                match b.service_month {
                    Some(m) => Val::Owned(m.to_string()),
                    None => Val::OptText(None),
                },
                Val::OptText(b.period_from.as_deref()),
                Val::OptText(b.period_to.as_deref()),
                Val::OptInt(b.days),
                Val::OptInt(b.total_yen),
                Val::OptInt(b.public_yen),
                Val::OptInt(b.patient_yen),
                Val::OptInt(b.insurer_yen),
                Val::Int(b.amount_yen),
                Val::OptInt(b.daily_amount_yen),
                Val::Text(&b.decided_on),
                Val::OptText(b.paid_on.as_deref()),
                Val::Text(b.payee.as_str()),
                Val::OptText(b.income_category.as_deref()),
                Val::Int(flag(b.many_times).into()),
                Val::Int(now),
            ]
        });
        self.upsert(&SPEC, values.collect()).await
    }

    pub async fn upsert_prescriptions(
        &mut self,
        kenpo: &KenpoId,
        rows: &[(&MemberId, &PrescriptionLine)],
    ) -> Result<Upserted, StoreError> {
        const SPEC: Upsert = Upsert {
            table: "prescriptions",
            columns: &[
                "id",
                "kenpo_id",
                "claim_no",
                "line_no",
                "member_id",
                "dispensed_month",
                "pharmacy",
                "prescriber",
                "drug_name",
                "generic_name",
                "strength",
                "quantity",
                "days",
                "is_generic",
                "amount_yen",
                "imported_at",
            ],
            key: "kenpo_id, claim_no, line_no",
            stamp: "imported_at",
        };
        let now = self.now;
        let values = rows.iter().map(|(member, p)| {
            vec![
                Val::Owned(uuid::Uuid::new_v4().to_string()),
                Val::Text(kenpo.as_str()),
                Val::Text(&p.claim_no),
                Val::Int(p.line_no),
                Val::Text(member.as_str()),
                Val::Owned(p.dispensed_month.to_string()),
                Val::Text(&p.pharmacy),
                Val::OptText(p.prescriber.as_deref()),
                Val::Text(&p.drug_name),
                Val::OptText(p.generic_name.as_deref()),
                Val::Text(&p.strength),
                Val::Text(&p.quantity),
                Val::Int(p.days),
                Val::Int(flag(p.is_generic).into()),
                Val::Int(p.amount_yen),
                Val::Int(now),
            ]
        });
        self.upsert(&SPEC, values.collect()).await
    }

    async fn upsert(&mut self, spec: &Upsert, rows: Vec<Vec<Val<'_>>>) -> Result<Upserted, StoreError> {
        let mut counts = Upserted::default();
        let mut sql_cache: HashMap<usize, String> = HashMap::new();
        for chunk in rows.chunks(spec.chunk(self.backend)) {
            let sql = sql_cache.entry(chunk.len()).or_insert_with(|| spec.sql(chunk.len()));
            let mut minted = HashSet::with_capacity(chunk.len());
            let mut query = sqlx::query(sql.as_str());
            for row in chunk {
                for value in row {
                    query = match value {
                        Val::Text(s) => query.bind(*s),
                        Val::OptText(s) => query.bind(*s),
                        Val::Int(i) => query.bind(*i),
                        Val::OptInt(i) => query.bind(*i),
                        Val::Owned(s) => query.bind(s.as_str()),
                    };
                }
                if let Some(Val::Owned(id)) = row.first() {
                    minted.insert(id.as_str());
                }
            }
            for returned in query.fetch_all(&mut *self.tx).await? {
                let id: String = returned.try_get(0)?;
                if minted.contains(id.as_str()) {
                    counts.inserted += 1;
                } else {
                    counts.updated += 1;
                }
            }
        }
        Ok(counts)
    }

    /// Records the file; says whether a file with the same digest was imported before.
    pub async fn record_import(
        &mut self,
        kenpo: &KenpoId,
        kind: &str,
        file_name: &str,
        sha256: &str,
        rows: u64,
    ) -> Result<bool, StoreError> {
        let seen =
            sqlx::query("SELECT 1 FROM imports WHERE kenpo_id = $1 AND kind = $2 AND sha256 = $3 LIMIT 1")
                .bind(kenpo.as_str())
                .bind(kind)
                .bind(sha256)
                .fetch_optional(&mut *self.tx)
                .await?
                .is_some();
        sqlx::query(
            "INSERT INTO imports (id, kenpo_id, kind, file_name, sha256, rows, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(kenpo.as_str())
        .bind(kind)
        .bind(file_name)
        .bind(sha256)
        .bind(i64::try_from(rows).unwrap_or(i64::MAX))
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(seen)
    }
}

/// API tokens of the kenpo's systems; only their SHA-256 (hex) is stored.
impl Db {
    pub async fn add_import_token(
        &self,
        kenpo: &KenpoId,
        sha256: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO import_tokens (id, kenpo_id, token_sha256, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(kenpo.as_str())
        .bind(sha256)
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Revokes every live token of the kenpo; returns how many.
    pub async fn revoke_import_tokens(
        &self,
        kenpo: &KenpoId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE import_tokens SET revoked_at = $2 WHERE kenpo_id = $1 AND revoked_at IS NULL",
        )
        .bind(kenpo.as_str())
        .bind(to_millis(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// The kenpo whose live token has this digest.
    pub async fn kenpo_of_import_token(&self, sha256: &str) -> Result<Option<KenpoId>, StoreError> {
        let row =
            sqlx::query("SELECT kenpo_id FROM import_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL")
                .bind(sha256)
                .fetch_optional(self.pool())
                .await?;
        Ok(match row {
            Some(r) => Some(KenpoId::from_db(r.try_get(0)?)),
            None => None,
        })
    }
}

/// For the other stores' writes that belong to an import (checkups), in the same transaction.
impl ImportTx {
    pub(super) fn parts(&mut self) -> (&mut sqlx::AnyConnection, i64) {
        (&mut self.tx, self.now)
    }
}
