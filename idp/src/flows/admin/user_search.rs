//! Finding members: Keycloak's `GET /users` and `GET /users/count`.

use super::repr::{UserRepresentation, attribute};
use super::users::resource;
use super::{AdminError, Caller, perform};
use crate::domain::{AdminRole, BirthDate};
use crate::flows::tokens::Ctx;
use crate::store::{CredentialStore, CredentialType, Match, OperationType, UserQuery, UserSearchStore};

/// Keycloak's search parameters as they arrive.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchParams {
    pub search: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub exact: Option<bool>,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
    /// Keycloak's attribute query, `key:value` pairs separated by spaces; `birthdate` is read.
    pub q: Option<String>,
    pub first: Option<u32>,
    pub max: Option<u32>,
    pub brief_representation: Option<bool>,
}

impl SearchParams {
    /// Keycloak's rules: `search` is a prefix match, `*` at either end widens it, `"…"` is
    /// exact; the field filters are infix unless `exact=true`.
    fn query(&self) -> Result<UserQuery, AdminError> {
        let exact = self.exact.unwrap_or(false);
        let field = |raw: &Option<String>| {
            raw.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| if exact { Match::Exact(v.to_owned()) } else { Match::Contains(v.to_owned()) })
        };
        let search = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "*").map(|s| {
            if let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Match::Exact(inner.to_owned())
            } else if s.starts_with('*') {
                Match::Contains(s.trim_matches('*').to_owned())
            } else {
                Match::Prefix(s.trim_end_matches('*').to_owned())
            }
        });
        let name = match (&self.first_name, &self.last_name) {
            (Some(first), _) if !first.trim().is_empty() => field(&self.first_name),
            _ => field(&self.last_name),
        };
        let mut birthdate = None;
        for pair in self.q.as_deref().unwrap_or_default().split_whitespace() {
            match pair.split_once(':') {
                Some((attribute::BIRTHDATE, value)) => {
                    birthdate = Some(
                        BirthDate::parse_iso(value)
                            .or_else(|_| BirthDate::parse_compact(value))
                            .map_err(|e| AdminError::invalid(format!("q: {e}")))?,
                    );
                }
                _ => {
                    return Err(AdminError::invalid(format!(
                        "q: only {}:<date> is searchable",
                        attribute::BIRTHDATE
                    )));
                }
            }
        }
        Ok(UserQuery {
            search,
            username: field(&self.username),
            email: field(&self.email),
            name,
            birthdate,
            enabled: self.enabled,
            email_verified: self.email_verified,
        })
    }
}

/// `GET /users`: matching members, by user ID.
pub async fn search(
    ctx: Ctx<'_>,
    caller: &Caller,
    params: &SearchParams,
) -> Result<Vec<UserRepresentation>, AdminError> {
    let query = params.query()?;
    let (first, max) = super::page(params.first, params.max);
    let brief = params.brief_representation.unwrap_or(false);
    perform(ctx, caller, AdminRole::ViewUsers, OperationType::Read, resource("users"), None, async {
        let users = ctx.db.search_users(&ctx.realm.id, &query, first, max).await?;
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let with_app = ctx.db.holders_of(&ids, CredentialType::Otp).await?;
        Ok(users.iter().map(|u| UserRepresentation::of(u, with_app.contains(&u.id), brief)).collect())
    })
    .await
}

/// `GET /users/count`, with the same filters.
pub async fn count(ctx: Ctx<'_>, caller: &Caller, params: &SearchParams) -> Result<u64, AdminError> {
    let query = params.query()?;
    perform(ctx, caller, AdminRole::ViewUsers, OperationType::Read, resource("users/count"), None, async {
        Ok(ctx.db.count_matching_users(&ctx.realm.id, &query).await?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(search: &str) -> SearchParams {
        SearchParams { search: Some(search.to_owned()), ..SearchParams::default() }
    }

    #[test]
    fn search_follows_keycloaks_prefix_infix_and_exact_rules() {
        let read = |p: SearchParams| p.query().ok().and_then(|q| q.search);
        assert_eq!(read(params("yama")), Some(Match::Prefix("yama".to_owned())));
        assert_eq!(read(params("*yama*")), Some(Match::Contains("yama".to_owned())));
        assert_eq!(read(params("\"yamada01\"")), Some(Match::Exact("yamada01".to_owned())));
        assert_eq!(read(params("*")), None);
    }

    #[test]
    fn field_filters_are_infix_unless_exact() {
        let p = SearchParams { email: Some("example.jp".to_owned()), ..SearchParams::default() };
        assert_eq!(p.query().ok().and_then(|q| q.email), Some(Match::Contains("example.jp".to_owned())));
        let p = SearchParams {
            email: Some("a@example.jp".to_owned()),
            exact: Some(true),
            ..SearchParams::default()
        };
        assert_eq!(p.query().ok().and_then(|q| q.email), Some(Match::Exact("a@example.jp".to_owned())));
    }

    #[test]
    fn birthdate_is_searchable_by_q_and_other_attributes_are_refused() {
        let p = SearchParams { q: Some("birthdate:1979-08-22".to_owned()), ..SearchParams::default() };
        assert_eq!(
            p.query().ok().and_then(|q| q.birthdate).map(|d| d.to_string()).as_deref(),
            Some("1979-08-22")
        );
        let p = SearchParams { q: Some("birthdate:19790822".to_owned()), ..SearchParams::default() };
        assert!(p.query().is_ok());
        let p = SearchParams { q: Some("phone:1".to_owned()), ..SearchParams::default() };
        assert!(p.query().is_err());
    }
}
