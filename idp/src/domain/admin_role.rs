//! Keycloak's `realm-management` client roles: what the admin REST API lets a caller do.

use serde::{Deserialize, Serialize};

/// A role of Keycloak's `realm-management` client. `realm-admin` holds every other one, and
/// each `manage-*` role holds its `view-*` role, as in Keycloak's composite roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdminRole {
    RealmAdmin,
    ViewRealm,
    ManageRealm,
    ViewUsers,
    ManageUsers,
    ViewClients,
    ManageClients,
    ViewEvents,
    ManageEvents,
}

impl AdminRole {
    pub const ALL: [Self; 9] = [
        Self::RealmAdmin,
        Self::ViewRealm,
        Self::ManageRealm,
        Self::ViewUsers,
        Self::ManageUsers,
        Self::ViewClients,
        Self::ManageClients,
        Self::ViewEvents,
        Self::ManageEvents,
    ];

    /// Keycloak's role name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RealmAdmin => "realm-admin",
            Self::ViewRealm => "view-realm",
            Self::ManageRealm => "manage-realm",
            Self::ViewUsers => "view-users",
            Self::ManageUsers => "manage-users",
            Self::ViewClients => "view-clients",
            Self::ManageClients => "manage-clients",
            Self::ViewEvents => "view-events",
            Self::ManageEvents => "manage-events",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// Whether holding `self` grants `wanted` (itself, or as a composite).
    pub fn grants(self, wanted: Self) -> bool {
        self == wanted
            || self == Self::RealmAdmin
            || matches!(
                (self, wanted),
                (Self::ManageRealm, Self::ViewRealm)
                    | (Self::ManageUsers, Self::ViewUsers)
                    | (Self::ManageClients, Self::ViewClients)
                    | (Self::ManageEvents, Self::ViewEvents)
            )
    }
}

/// Who an admin role is granted to: a member of the realm's staff, or a client's service
/// account (its `client_credentials` tokens).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A user's id (`sub`).
    User(String),
    /// A client's `client_id`.
    ServiceAccount(String),
}

impl Principal {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::ServiceAccount(_) => "client",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::User(id) | Self::ServiceAccount(id) => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for role in AdminRole::ALL {
            assert_eq!(AdminRole::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_string(&role).ok(), Some(format!("\"{}\"", role.as_str())));
        }
        assert_eq!(AdminRole::parse("admin"), None);
    }

    #[test]
    fn composites_hold_their_view_roles_and_realm_admin_holds_all() {
        for role in AdminRole::ALL {
            assert!(AdminRole::RealmAdmin.grants(role));
        }
        assert!(AdminRole::ManageUsers.grants(AdminRole::ViewUsers));
        assert!(!AdminRole::ViewUsers.grants(AdminRole::ManageUsers));
        assert!(!AdminRole::ManageUsers.grants(AdminRole::ViewEvents));
        assert!(!AdminRole::ManageClients.grants(AdminRole::RealmAdmin));
    }
}
