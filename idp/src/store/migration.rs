//! A realm migrated from Keycloak, written in one transaction: its settings, clients, members
//! and their credentials all land, or none do.

use super::clients::insert_client;
use super::credentials::insert_credential;
use super::users::insert_user_as;
use super::{Db, NewClient, NewCredential, NewUser, RealmSettings, StoreError, to_json};
use crate::domain::AuthMethod;
use std::future::Future;
use time::OffsetDateTime;

/// A member as migrated: Keycloak's id kept as theirs (the `sub` relying parties know them by),
/// enabled or not, their method already chosen, and their credentials with the dates they were
/// made.
#[derive(Debug, Clone)]
pub struct MigratedMember {
    pub id: String,
    pub user: NewUser,
    pub enabled: bool,
    pub auth_method: Option<AuthMethod>,
    pub credentials: Vec<(NewCredential, OffsetDateTime)>,
}

/// Everything one migration writes.
#[derive(Debug, Clone, Default)]
pub struct Migration {
    /// The realm's new display name and settings, if the export changes them.
    pub display_name: Option<String>,
    pub settings: Option<RealmSettings>,
    pub clients: Vec<NewClient>,
    pub members: Vec<MigratedMember>,
}

pub trait MigrationStore {
    /// Whether a member of any realm has `id`: ids are unique across realms, and a Keycloak
    /// export imported into two realms brings the same ids twice.
    fn user_id_taken(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Whether a passkey of any realm has WebAuthn credential id `webauthn_id` (unique across
    /// realms).
    fn webauthn_id_taken(&self, webauthn_id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Writes `migration` into realm `realm_id` in one transaction. A member or client that
    /// collides with an existing one fails the whole migration (callers check first).
    fn migrate_realm(
        &self,
        realm_id: &str,
        migration: Migration,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl MigrationStore for Db {
    async fn user_id_taken(&self, id: &str) -> Result<bool, StoreError> {
        let found: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    async fn webauthn_id_taken(&self, webauthn_id: &str) -> Result<bool, StoreError> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM credentials WHERE webauthn_credential_id = $1")
                .bind(webauthn_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    async fn migrate_realm(
        &self,
        realm_id: &str,
        migration: Migration,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        if let Some(display_name) = &migration.display_name {
            sqlx::query("UPDATE realms SET display_name = $1 WHERE id = $2")
                .bind(display_name)
                .bind(realm_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(settings) = &migration.settings {
            sqlx::query("UPDATE realms SET settings = $1 WHERE id = $2")
                .bind(to_json(settings))
                .bind(realm_id)
                .execute(&mut *tx)
                .await?;
        }
        for client in migration.clients {
            insert_client(&mut tx, realm_id, client, now).await?;
        }
        for member in migration.members {
            let state = (member.enabled, member.auth_method);
            let user = insert_user_as(&mut tx, member.id, realm_id, member.user, state, now).await?;
            for (credential, created_at) in member.credentials {
                insert_credential(&mut tx, &user.id, credential, created_at).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
