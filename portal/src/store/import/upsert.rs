//! One table's upsert, described once ([`Upsert`]) and written two ways: batched multi-row
//! `INSERT … VALUES` through the `Any` driver ([`batched`], SQLite), or `COPY` into a staging
//! table and one `INSERT … SELECT` on PostgreSQL (`super::copy`). Both share the conflict clause,
//! so both decide "changed" the same way.
//!
//! Counting is the same on both paths: `ON CONFLICT (key) DO UPDATE … WHERE (a column differs)
//! RETURNING id`. A row that changed nothing returns nothing; a returned id that we minted for
//! this statement is an insert, any other id an update. No `xmax` trick, no pre-read of the rows.

use super::Upserted;
use crate::store::StoreError;
use shared_runtime::db::Backend;
use sqlx::{AnyConnection, Row as _};
use std::collections::{HashMap, HashSet};

/// A value of a row to write. Owned strings only for what we format or mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Val<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Owned(String),
}

/// One table's upsert: `columns` start with `id`, then `kenpo_id`; `stamp` is set on insert and
/// on a real update; `key` is the conflict target.
#[derive(Debug)]
pub(super) struct Upsert {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub key: &'static str,
    pub stamp: &'static str,
}

/// The most bind parameters one statement may carry: SQLite's SQLITE_MAX_VARIABLE_NUMBER
/// (32766 since 3.32) and PostgreSQL's 16-bit parameter count.
pub(super) fn bind_limit(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 65_535,
        Backend::Sqlite => 32_766,
    }
}

/// Rows per statement at most, even where the bind limit allows more: PostgreSQL plans a huge
/// VALUES list slower than several smaller ones (measured with `kenpo-bench import`).
const MAX_ROWS: usize = 1000;

impl Upsert {
    /// Rows per statement under the backend's bind-parameter limit.
    fn chunk(&self, backend: Backend) -> usize {
        (bind_limit(backend) / self.columns.len()).clamp(1, MAX_ROWS)
    }

    /// `INSERT … VALUES ($1, …), … <conflict clause>` for `rows` rows.
    fn values_sql(&self, rows: usize) -> String {
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
        sql.push_str(&self.on_conflict());
        sql
    }

    /// ` ON CONFLICT (key) DO UPDATE SET (data and stamp) WHERE (a data column differs) RETURNING id`.
    pub(super) fn on_conflict(&self) -> String {
        let keys: Vec<&str> = self.key.split(", ").collect();
        let data: Vec<&str> =
            self.columns[2..].iter().copied().filter(|c| !keys.contains(c) && *c != self.stamp).collect();
        let set: Vec<String> =
            data.iter().chain([&self.stamp]).map(|c| format!("{c} = excluded.{c}")).collect();
        let differs: Vec<String> =
            data.iter().map(|c| format!("{t}.{c} IS DISTINCT FROM excluded.{c}", t = self.table)).collect();
        format!(
            " ON CONFLICT ({}) DO UPDATE SET {} WHERE {} RETURNING id",
            self.key,
            set.join(", "),
            differs.join(" OR ")
        )
    }
}

/// Multi-row `INSERT … VALUES` statements of at most [`Upsert::chunk`] rows each.
pub(super) async fn batched(
    conn: &mut AnyConnection,
    backend: Backend,
    spec: &Upsert,
    rows: &[Vec<Val<'_>>],
) -> Result<Upserted, StoreError> {
    let mut counts = Upserted::default();
    let mut sql_cache: HashMap<usize, String> = HashMap::new();
    for chunk in rows.chunks(spec.chunk(backend)) {
        let sql = sql_cache.entry(chunk.len()).or_insert_with(|| spec.values_sql(chunk.len()));
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
        for returned in query.fetch_all(&mut *conn).await? {
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
