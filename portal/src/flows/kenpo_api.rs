//! Who may call the kenpo API: the kenpo's own systems, each a client at the kenpo's IdP realm
//! with a client_credentials token, holding the role the operation needs. The IdP vouches for the
//! client (the token's signature and issuer); the portal's grants say what that client may do,
//! read at every call so a revoke holds at once.

use crate::oidc::{Registry, RpError, unverified_issuer};
use crate::store::{ApiGrantStore, Kenpo, KenpoStore, StoreError};
use std::fmt;

/// What a client may do through the kenpo API. Stored by `as_str`, the names Keycloak would give
/// client roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRole {
    /// Publish お知らせ and send MYメール.
    ManageNotices,
    /// Open 被扶養者資格確認 surveys and review the answers.
    ManageSurveys,
    /// Record 資格情報のお知らせ and 資格確認書 issues, and review reissue applications.
    ManageQualification,
}

impl ApiRole {
    pub const ALL: [Self; 3] = [Self::ManageNotices, Self::ManageSurveys, Self::ManageQualification];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ManageNotices => "manage-notices",
            Self::ManageSurveys => "manage-surveys",
            Self::ManageQualification => "manage-qualification",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for ApiRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client allowed to make the call, and the kenpo it acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub kenpo: Kenpo,
    pub client_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiAuthError {
    /// No token, or one no kenpo's IdP signed, or expired: 401.
    #[error("no valid bearer token: {0}")]
    Unauthenticated(&'static str),
    /// A good token whose client lacks the role: 403.
    #[error("the client {client_id} does not hold {role}")]
    Forbidden { client_id: String, role: ApiRole },
    /// The IdP's keys could not be had, or the kenpo's registration is unusable: 503.
    #[error(transparent)]
    Provider(RpError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The caller behind `token`, if it holds `role`.
pub async fn authorize<D: KenpoStore + ApiGrantStore>(
    db: &D,
    rps: &Registry,
    token: &str,
    role: ApiRole,
    now: i64,
) -> Result<Caller, ApiAuthError> {
    let caller = identify(db, rps, token, now).await?;
    let roles = db.api_roles(&caller.kenpo.id, &caller.client_id).await?;
    if !roles.iter().any(|r| r == role.as_str()) {
        return Err(ApiAuthError::Forbidden { client_id: caller.client_id, role });
    }
    Ok(caller)
}

/// The client `token` stands for, whatever it may do. The token names its issuer, which picks
/// the kenpo; the kenpo's realm must have signed it.
pub async fn identify<D: KenpoStore>(
    db: &D,
    rps: &Registry,
    token: &str,
    now: i64,
) -> Result<Caller, ApiAuthError> {
    let issuer = unverified_issuer(token).ok_or(ApiAuthError::Unauthenticated("not a JWT"))?;
    let kenpo = db
        .kenpo_by_issuer(issuer.trim_end_matches('/'))
        .await?
        .ok_or(ApiAuthError::Unauthenticated("no kenpo has this issuer"))?;
    let rp = rps.for_kenpo(&kenpo).await.map_err(ApiAuthError::Provider)?;
    let client = rp.verify_client_token(token, now).await.map_err(|e| match e {
        RpError::AccessToken(reason) => ApiAuthError::Unauthenticated(reason),
        other => ApiAuthError::Provider(other),
    })?;
    Ok(Caller { kenpo, client_id: client.client_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_what_they_store_and_nothing_else() {
        for role in ApiRole::ALL {
            assert_eq!(ApiRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(ApiRole::parse("manage-everything"), None);
        assert_eq!(ApiRole::parse("Manage-Notices"), None);
    }
}
