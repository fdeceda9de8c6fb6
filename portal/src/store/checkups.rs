//! Writing 特定健診 exams: one row per CDA document, keyed by the document's id so a file sent
//! twice is one exam. The writes run in the import's transaction ([`ImportTx`]), like the CSV
//! files'.

use super::{Db, StoreError};
use std::future::Future;

/// An exam to store, already matched to a member.
#[derive(Debug, Clone)]
pub struct NewCheckup<'a> {
    pub kenpo_id: &'a str,
    pub document_id: &'a str,
    pub member_id: &'a str,
    pub exam_date: &'a str,
    pub institution: &'a str,
    pub document: &'a str,
}

/// Whether a document was new, replaced an earlier version, or was the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Inserted,
    Updated,
    Unchanged,
}

pub trait CheckupStore {
    /// The member whose card (記号・番号) and birth date the document names; with the 枝番
    /// when the document gives one.
    fn member_for_card(
        &self,
        kenpo_id: &str,
        symbol: Option<&str>,
        number: &str,
        branch: Option<&str>,
        birth_date: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

impl CheckupStore for Db {
    async fn member_for_card(
        &self,
        kenpo_id: &str,
        symbol: Option<&str>,
        number: &str,
        branch: Option<&str>,
        birth_date: &str,
    ) -> Result<Option<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT m.id FROM members m JOIN households h ON h.id = m.household_id \
             WHERE m.kenpo_id = $1 AND h.number = $2 AND ($3 = '' OR h.symbol = $3) \
             AND ($4 = '' OR m.branch = $4) AND m.birth_date = $5",
        )
        .bind(kenpo_id)
        .bind(number)
        .bind(symbol.unwrap_or_default())
        .bind(branch.unwrap_or_default())
        .bind(birth_date)
        .fetch_all(self.pool())
        .await?;
        // Twins on one card without a 枝番 cannot be told apart: better no match than a wrong one.
        Ok(if rows.len() == 1 { rows.into_iter().next().map(|r| r.0) } else { None })
    }
}
