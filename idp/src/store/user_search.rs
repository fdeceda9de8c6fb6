//! Finding members for the kenpo's staff (the admin API's user search) and removing them.

use super::filter::{Bind, Filtered, contains_pattern};
use super::users::{SELECT, UserRow};
use super::{Db, StoreError, User};
use crate::domain::BirthDate;
use std::future::Future;

/// How a text filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Exact(String),
    Prefix(String),
    Contains(String),
}

/// Keycloak's user search parameters, already read (see `flows::admin::users`). Filters are
/// ANDed; `search` matches the user ID, 仮ID, email or name.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub search: Option<Match>,
    pub username: Option<Match>,
    pub email: Option<Match>,
    /// The name (ユーザー名), Keycloak's `firstName`/`lastName`.
    pub name: Option<Match>,
    pub birthdate: Option<BirthDate>,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
}

pub trait UserSearchStore {
    /// Matching members ordered by user ID, `max` (1..=1000) from `first`.
    fn search_users(
        &self,
        realm_id: &str,
        query: &UserQuery,
        first: u32,
        max: u32,
    ) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;
    fn count_matching_users(
        &self,
        realm_id: &str,
        query: &UserQuery,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Removes the member and, by cascade, their credentials, sessions, grants and tokens.
    /// Whether they existed.
    fn delete_user(&self, realm_id: &str, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// `column` matched case-insensitively (stored user IDs and emails are lower case already).
fn text_filter(sql: &mut Filtered, columns: &[&str], wanted: &Match) {
    let (op, value) = match wanted {
        Match::Exact(v) => ("=", v.to_lowercase()),
        Match::Prefix(v) => ("LIKE", contains_pattern(&v.to_lowercase())[1..].to_owned()),
        Match::Contains(v) => ("LIKE", contains_pattern(&v.to_lowercase())),
    };
    let escape = if op == "LIKE" { " ESCAPE '\\'" } else { "" };
    let clauses: Vec<String> = columns.iter().map(|c| format!("LOWER({c}) {op} ?{escape}")).collect();
    let binds = columns.iter().map(|_| Bind::Text(value.clone())).collect();
    sql.push(&format!(" AND ({})", clauses.join(" OR ")), binds);
}

fn filtered(base: &str, realm_id: &str, query: &UserQuery) -> Filtered {
    let mut sql = Filtered::new(&format!("{base} WHERE realm_id = ?"), vec![Bind::Text(realm_id.to_owned())]);
    if let Some(search) = &query.search {
        text_filter(&mut sql, &["username", "issued_username", "email", "display_name"], search);
    }
    if let Some(username) = &query.username {
        text_filter(&mut sql, &["username", "issued_username"], username);
    }
    if let Some(email) = &query.email {
        text_filter(&mut sql, &["email"], email);
    }
    if let Some(name) = &query.name {
        text_filter(&mut sql, &["display_name"], name);
    }
    if let Some(birthdate) = query.birthdate {
        sql.push(" AND birthdate = ?", vec![Bind::Text(birthdate.to_string())]);
    }
    if let Some(enabled) = query.enabled {
        sql.push(" AND enabled = ?", vec![Bind::Int(i64::from(enabled))]);
    }
    if let Some(verified) = query.email_verified {
        sql.push(" AND email_verified = ?", vec![Bind::Int(i64::from(verified))]);
    }
    sql
}

impl UserSearchStore for Db {
    async fn search_users(
        &self,
        realm_id: &str,
        query: &UserQuery,
        first: u32,
        max: u32,
    ) -> Result<Vec<User>, StoreError> {
        let mut sql = filtered(SELECT, realm_id, query);
        sql.push(" ORDER BY username, id", Vec::new());
        sql.page(first, max);
        sql.query_as::<UserRow>().fetch_all(self.pool()).await?.into_iter().map(User::try_from).collect()
    }

    async fn count_matching_users(&self, realm_id: &str, query: &UserQuery) -> Result<u64, StoreError> {
        let sql = filtered("SELECT COUNT(*) AS n FROM users", realm_id, query);
        let (n,): (i64,) = sql.query_as().fetch_one(self.pool()).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn delete_user(&self, realm_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        // Neither is tied to `users` by a foreign key (a lockout may name an unknown user ID).
        sqlx::query("DELETE FROM login_failures WHERE realm_id = $1 AND subject = $2")
            .bind(realm_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM admin_roles WHERE realm_id = $1 AND principal_kind = 'user' AND principal_id = $2",
        )
        .bind(realm_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM users WHERE realm_id = $1 AND id = $2")
            .bind(realm_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
