//! The admin API's own records: who holds which `realm-management` role, and the admin events.

use super::filter::{Bind, Filtered};
use super::{Db, StoreError};
use crate::domain::{AdminRole, Principal};
use shared_runtime::db::{from_millis, to_millis};
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

/// Keycloak's admin operation types, plus `READ` for reads of members' data (see the
/// migration): the kenpo must be able to tell who looked at whose account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationType {
    Create,
    Update,
    Delete,
    Action,
    Read,
}

impl OperationType {
    pub const ALL: [Self; 5] = [Self::Create, Self::Update, Self::Delete, Self::Action, Self::Read];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Action => "ACTION",
            Self::Read => "READ",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// A recorded admin call.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminEvent {
    pub id: String,
    pub realm_id: String,
    pub time: OffsetDateTime,
    pub operation: OperationType,
    /// Keycloak's resource type name: `USER`, `CLIENT`, `REALM`, `USER_SESSION`, …
    pub resource_type: String,
    /// The path below `/admin/realms/{realm}/`, e.g. `users/{id}/credentials/{id}`.
    pub resource_path: String,
    /// The JSON the call sent, secrets removed; only when the realm keeps representations.
    pub representation: Option<String>,
    pub error: Option<String>,
    pub auth_client_id: Option<String>,
    pub auth_user_id: Option<String>,
    pub auth_ip_address: Option<String>,
}

/// What recording an admin event takes.
#[derive(Debug, Clone)]
pub struct NewAdminEvent {
    pub operation: OperationType,
    pub resource_type: &'static str,
    pub resource_path: String,
    pub representation: Option<String>,
    pub error: Option<String>,
    pub auth_client_id: Option<String>,
    pub auth_user_id: Option<String>,
    pub auth_ip_address: Option<String>,
}

/// Keycloak's admin-event filters; results newest first.
#[derive(Debug, Clone, Default)]
pub struct AdminEventQuery {
    pub operations: Vec<OperationType>,
    pub resource_types: Vec<String>,
    /// Keycloak's `resourcePath`: `*` matches any run of characters.
    pub resource_path: Option<String>,
    pub auth_client_id: Option<String>,
    pub auth_user_id: Option<String>,
    pub auth_ip_address: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub first: u32,
    pub max: u32,
}

pub trait AdminStore {
    /// The roles granted to `principal` in the realm (directly; composites are the caller's).
    fn roles_of(
        &self,
        realm_id: &str,
        principal: &Principal,
    ) -> impl Future<Output = Result<Vec<AdminRole>, StoreError>> + Send;
    /// Grants `role`; granting one already held changes nothing.
    fn grant_role(
        &self,
        realm_id: &str,
        principal: &Principal,
        role: AdminRole,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether the role was held.
    fn revoke_role(
        &self,
        realm_id: &str,
        principal: &Principal,
        role: AdminRole,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn record_admin_event(
        &self,
        realm_id: &str,
        event: NewAdminEvent,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn admin_events(
        &self,
        realm_id: &str,
        query: &AdminEventQuery,
    ) -> impl Future<Output = Result<Vec<AdminEvent>, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct AdminEventRow {
    id: String,
    realm_id: String,
    time: i64,
    operation_type: String,
    resource_type: String,
    resource_path: String,
    representation: Option<String>,
    error: Option<String>,
    auth_client_id: Option<String>,
    auth_user_id: Option<String>,
    auth_ip_address: Option<String>,
}

impl TryFrom<AdminEventRow> for AdminEvent {
    type Error = StoreError;
    fn try_from(row: AdminEventRow) -> Result<Self, StoreError> {
        Ok(Self {
            operation: OperationType::parse(&row.operation_type).ok_or_else(|| {
                StoreError::corrupt(format!("admin_events.operation_type {:?}", row.operation_type))
            })?,
            id: row.id,
            realm_id: row.realm_id,
            time: from_millis(row.time),
            resource_type: row.resource_type,
            resource_path: row.resource_path,
            representation: row.representation,
            error: row.error,
            auth_client_id: row.auth_client_id,
            auth_user_id: row.auth_user_id,
            auth_ip_address: row.auth_ip_address,
        })
    }
}

/// Keycloak's `resourcePath` wildcard (`*`) as a `LIKE` pattern, other characters literal.
fn path_pattern(raw: &str) -> String {
    let mut pattern = String::new();
    for c in raw.chars() {
        match c {
            '*' => pattern.push('%'),
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            _ => pattern.push(c),
        }
    }
    pattern
}

impl AdminStore for Db {
    async fn roles_of(&self, realm_id: &str, principal: &Principal) -> Result<Vec<AdminRole>, StoreError> {
        let names: Vec<(String,)> = sqlx::query_as(
            "SELECT role FROM admin_roles WHERE realm_id = $1 AND principal_kind = $2 AND principal_id = $3 \
             ORDER BY role",
        )
        .bind(realm_id)
        .bind(principal.kind())
        .bind(principal.id())
        .fetch_all(self.pool())
        .await?;
        names
            .into_iter()
            .map(|(name,)| {
                AdminRole::parse(&name)
                    .ok_or_else(|| StoreError::corrupt(format!("admin_roles.role {name:?}")))
            })
            .collect()
    }

    async fn grant_role(
        &self,
        realm_id: &str,
        principal: &Principal,
        role: AdminRole,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_roles (realm_id, principal_kind, principal_id, role) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(realm_id)
        .bind(principal.kind())
        .bind(principal.id())
        .bind(role.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn revoke_role(
        &self,
        realm_id: &str,
        principal: &Principal,
        role: AdminRole,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM admin_roles WHERE realm_id = $1 AND principal_kind = $2 AND principal_id = $3 \
             AND role = $4",
        )
        .bind(realm_id)
        .bind(principal.kind())
        .bind(principal.id())
        .bind(role.as_str())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_admin_event(
        &self,
        realm_id: &str,
        event: NewAdminEvent,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_events (id, realm_id, time, operation_type, resource_type, resource_path, \
             representation, error, auth_client_id, auth_user_id, auth_ip_address) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(realm_id)
        .bind(to_millis(now))
        .bind(event.operation.as_str())
        .bind(event.resource_type)
        .bind(&event.resource_path)
        .bind(&event.representation)
        .bind(&event.error)
        .bind(&event.auth_client_id)
        .bind(&event.auth_user_id)
        .bind(&event.auth_ip_address)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn admin_events(
        &self,
        realm_id: &str,
        query: &AdminEventQuery,
    ) -> Result<Vec<AdminEvent>, StoreError> {
        let mut sql = Filtered::new(
            "SELECT id, realm_id, time, operation_type, resource_type, resource_path, representation, \
             error, auth_client_id, auth_user_id, auth_ip_address FROM admin_events WHERE realm_id = ?",
            vec![Bind::Text(realm_id.to_owned())],
        );
        let any_of = |sql: &mut Filtered, column: &str, values: Vec<String>| {
            if !values.is_empty() {
                let marks = vec!["?"; values.len()].join(", ");
                sql.push(
                    &format!(" AND {column} IN ({marks})"),
                    values.into_iter().map(Bind::Text).collect(),
                );
            }
        };
        any_of(&mut sql, "operation_type", query.operations.iter().map(|o| o.as_str().to_owned()).collect());
        any_of(&mut sql, "resource_type", query.resource_types.clone());
        if let Some(path) = &query.resource_path {
            sql.push(" AND resource_path LIKE ? ESCAPE '\\'", vec![Bind::Text(path_pattern(path))]);
        }
        for (column, value) in [
            ("auth_client_id", &query.auth_client_id),
            ("auth_user_id", &query.auth_user_id),
            ("auth_ip_address", &query.auth_ip_address),
        ] {
            if let Some(value) = value {
                sql.push(&format!(" AND {column} = ?"), vec![Bind::Text(value.clone())]);
            }
        }
        if let Some(from) = query.from {
            sql.push(" AND time >= ?", vec![Bind::Int(to_millis(from))]);
        }
        if let Some(to) = query.to {
            sql.push(" AND time <= ?", vec![Bind::Int(to_millis(to))]);
        }
        sql.push(" ORDER BY time DESC, id DESC", Vec::new());
        sql.page(query.first, query.max);
        sql.query_as::<AdminEventRow>()
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(AdminEvent::try_from)
            .collect()
    }
}
