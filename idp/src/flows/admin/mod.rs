//! The admin REST API's decisions (Keycloak's `/admin/realms/{realm}/…`): who is calling and
//! what they may do, and one module per resource. Every call is recorded as an admin event,
//! refusals included, so the kenpo can answer who did what to whose account.

pub mod clients;
pub mod events;
pub mod realm;
pub mod repr;
pub mod roles;
pub mod user_access;
pub mod user_search;
pub mod users;

use super::FlowError;
use super::access::{self, BearerError};
use super::tokens::{Ctx, TokenError};
use crate::domain::{AdminRole, Principal};
use crate::store::{AdminStore, NewAdminEvent, OperationType, StoreError, UserStore};

/// Why an admin call did not happen. Each maps to one HTTP status (see `http::admin`).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No token, or one that is invalid, expired, revoked or of another realm: 401.
    #[error("a valid bearer token of this realm is required")]
    Unauthenticated,
    /// A valid token whose holder lacks the role: 403.
    #[error("the caller lacks the {0} role")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409, Keycloak's "User exists with same username" and the like.
    #[error("{0}")]
    Conflict(String),
    /// 400: the request itself is wrong.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken | StoreError::IssuedUsernameTaken => {
                Self::Conflict("User exists with same username".to_owned())
            }
            StoreError::EmailTaken => Self::Conflict("User exists with same email".to_owned()),
            StoreError::ClientIdTaken => Self::Conflict("Client already exists".to_owned()),
            StoreError::CredentialLabelTaken => {
                Self::Conflict("Device already exists with the same name".to_owned())
            }
            StoreError::NotFound(what) => Self::NotFound(what),
            other => Self::Flow(other.into()),
        }
    }
}

impl From<crate::ephemeral::EphemeralError> for AdminError {
    fn from(e: crate::ephemeral::EphemeralError) -> Self {
        Self::Flow(e.into())
    }
}

impl AdminError {
    /// The short code an admin event records for a refused call.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Unauthenticated => Some("unauthenticated"),
            Self::Forbidden(_) => Some("forbidden"),
            Self::NotFound(_) => Some("not_found"),
            Self::Conflict(_) => Some("conflict"),
            Self::Invalid(_) => Some("invalid_request"),
            Self::Flow(_) => None,
        }
    }

    pub(crate) fn invalid(reason: impl ToString) -> Self {
        Self::Invalid(reason.to_string())
    }
}

/// Who is calling, proven by a bearer token of this realm, and the roles they hold now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The client the token was issued to.
    pub client_id: Option<String>,
    pub ip_address: Option<String>,
    roles: Vec<AdminRole>,
}

impl Caller {
    pub fn has(&self, wanted: AdminRole) -> bool {
        self.roles.iter().any(|held| held.grants(wanted))
    }

    pub fn roles(&self) -> &[AdminRole] {
        &self.roles
    }
}

/// Verifies the bearer token (signature, issuer, expiry, live grant; see `flows::access`) and
/// reads the caller's roles from the store, so a revoked role or disabled account stops at once.
pub async fn authenticate(
    ctx: Ctx<'_>,
    token: Option<&str>,
    ip: Option<String>,
) -> Result<Caller, AdminError> {
    let token = token.ok_or(AdminError::Unauthenticated)?;
    let access = match access::verify(ctx, token).await {
        Ok(access) => access,
        Err(BearerError::InvalidToken | BearerError::InsufficientScope) => {
            return Err(AdminError::Unauthenticated);
        }
        Err(BearerError::Token(TokenError::Flow(e))) => return Err(AdminError::Flow(e)),
        Err(BearerError::Token(_)) => return Err(AdminError::Unauthenticated),
    };
    let client_id = access.client_id().map(str::to_owned);
    let principal = match access.grant.as_ref().and_then(|g| g.user_id.clone()) {
        Some(user_id) => {
            let enabled = ctx.db.user_by_id(&ctx.realm.id, &user_id).await?.is_some_and(|u| u.enabled);
            if !enabled {
                return Err(AdminError::Unauthenticated);
            }
            Principal::User(user_id)
        }
        None => Principal::ServiceAccount(client_id.clone().ok_or(AdminError::Unauthenticated)?),
    };
    let roles = ctx.db.roles_of(&ctx.realm.id, &principal).await?;
    Ok(Caller { principal, client_id, ip_address: ip, roles })
}

/// What an admin call touches, for its admin event: Keycloak's resource type and the path
/// below the realm.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: &'static str,
    pub path: String,
}

impl Resource {
    pub fn new(kind: &'static str, path: impl Into<String>) -> Self {
        Self { kind, path: path.into() }
    }
}

/// Checks the caller holds `role` for this call. A refusal is recorded as an admin event with
/// its error before it is returned.
pub async fn require(
    ctx: Ctx<'_>,
    caller: &Caller,
    role: AdminRole,
    operation: OperationType,
    resource: &Resource,
) -> Result<(), AdminError> {
    if caller.has(role) {
        return Ok(());
    }
    let refused = AdminError::Forbidden(role.as_str());
    record(ctx, caller, operation, resource, None, refused.code()).await?;
    Err(refused)
}

/// Records a call that happened. `representation` is what was sent, secrets already removed.
pub async fn record(
    ctx: Ctx<'_>,
    caller: &Caller,
    operation: OperationType,
    resource: &Resource,
    representation: Option<String>,
    error: Option<&str>,
) -> Result<(), AdminError> {
    let (auth_user_id, auth_client_id) = match &caller.principal {
        Principal::User(id) => (Some(id.clone()), caller.client_id.clone()),
        Principal::ServiceAccount(client) => (None, Some(client.clone())),
    };
    let event = NewAdminEvent {
        operation,
        resource_type: resource.kind,
        resource_path: resource.path.clone(),
        representation,
        error: error.map(str::to_owned),
        auth_client_id,
        auth_user_id,
        auth_ip_address: caller.ip_address.clone(),
    };
    ctx.db.record_admin_event(&ctx.realm.id, event, ctx.now).await?;
    Ok(())
}

/// `require`, then run `work`, then record it. The usual shape of an admin call.
pub async fn perform<T, F>(
    ctx: Ctx<'_>,
    caller: &Caller,
    role: AdminRole,
    operation: OperationType,
    resource: Resource,
    representation: Option<String>,
    work: F,
) -> Result<T, AdminError>
where
    F: Future<Output = Result<T, AdminError>>,
{
    require(ctx, caller, role, operation, &resource).await?;
    match work.await {
        Ok(done) => {
            record(ctx, caller, operation, &resource, representation, None).await?;
            Ok(done)
        }
        Err(refused) => {
            // A refusal is kept too (a failure of ours is logged by the HTTP layer instead).
            if let Some(error) = refused.code() {
                record(ctx, caller, operation, &resource, representation, Some(error)).await?;
            }
            Err(refused)
        }
    }
}

/// A flow's refusal of bad input is the caller's 400; anything else stays an error.
pub(crate) fn bad_input(e: FlowError) -> AdminError {
    match e {
        FlowError::Invalid { field, reason } => AdminError::invalid(format!("{field}: {reason}")),
        FlowError::Store(e) => AdminError::from(e),
        other => AdminError::Flow(other),
    }
}

/// Paging as Keycloak reads it: `first` from 0, `max` defaulting to 100 (at most 1000).
pub fn page(first: Option<u32>, max: Option<u32>) -> (u32, u32) {
    (first.unwrap_or(0), max.unwrap_or(100).clamp(1, 1000))
}
