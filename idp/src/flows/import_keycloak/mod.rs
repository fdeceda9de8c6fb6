//! Migrating a kenpo from Keycloak: its realm export's settings, clients and members, with the
//! members' passwords, authenticator apps and passkeys, so they sign in as before.
//!
//! Nothing that exists here is overwritten: a member whose user ID (or Keycloak id) is taken, or
//! a client whose client_id is, is skipped with the reason. Anything without an equivalent here
//! (a HOTP token, an unknown hash, a wildcard redirect URI, a required action we do not run) is
//! skipped with the reason too, and the rest goes ahead: the report lists both. What is imported
//! is written in one transaction, so a store error leaves nothing half-done, and `dry_run`
//! checks and reports without writing. Importing the same export again skips every member and
//! client already there.

mod credentials;
mod realm;

use super::{FlowError, keys};
use crate::domain::{AuthMethod, BirthDate, Email, RequiredAction, Username};
use crate::import::keycloak::{RealmExport, UserExport};
use crate::store::{
    ClientStore, CredentialType, KeyStore, MigratedMember, Migration, MigrationStore, NewUser, Realm,
    UserStore,
};
use serde::Serialize;
use shared_crypto::MasterKey;
use std::collections::{BTreeMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// What an import did, or (`dry_run`) would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub dry_run: bool,
    /// The user IDs of the members imported.
    pub members: Vec<String>,
    /// Credentials imported, by Keycloak type (`password`, `otp`, `webauthn`, …).
    pub credentials: BTreeMap<String, usize>,
    /// The client_ids of the clients imported.
    pub clients: Vec<String>,
    /// Realm settings taken over, as `keycloakName = value`.
    pub settings: Vec<String>,
    /// What was left out, and why.
    pub skipped: Vec<Skipped>,
}

/// One thing left out of the import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// e.g. `user taro`, `credential otp "iPhone" of taro`, `client account`, `setting otpPolicyType`.
    pub what: String,
    pub why: String,
}

impl Report {
    fn skip(&mut self, what: impl Into<String>, why: impl Into<String>) {
        self.skipped.push(Skipped { what: what.into(), why: why.into() });
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not a Keycloak realm export: {0}")]
    Parse(#[from] serde_json::Error),
    #[error(transparent)]
    Flow(#[from] FlowError),
}

/// Imports `bytes`, a Keycloak realm export, into `realm`.
pub async fn import<S>(
    store: &S,
    master: &MasterKey,
    target: &Realm,
    bytes: &[u8],
    dry_run: bool,
    now: OffsetDateTime,
) -> Result<Report, ImportError>
where
    S: UserStore + ClientStore + KeyStore + MigrationStore + Sync,
{
    let export = RealmExport::parse(bytes)?;
    let mut report = Report { dry_run, ..Report::default() };
    let mut migration = Migration::default();

    if let Some(name) = export.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty())
        && name != target.display_name
    {
        report.settings.push(format!("displayName = {name}"));
        migration.display_name = Some(name.to_owned());
    }
    let settings = realm::settings(&export, &target.settings, &mut report);
    migration.settings = (settings != target.settings).then_some(settings);

    let mut algorithms = HashSet::new();
    for client in &export.clients {
        let Some(new) = realm::client(&export, client, master, &mut report) else { continue };
        let taken = store.client_by_client_id(&target.id, &new.client_id).await.map_err(FlowError::from)?;
        let twice = migration.clients.iter().any(|c| c.client_id == new.client_id);
        if taken.is_some() || twice {
            report
                .skip(format!("client {}", client.client_id), "a client with this client_id exists already");
            continue;
        }
        report.clients.push(new.client_id.as_str().to_owned());
        algorithms.insert(new.id_token_signing_alg);
        migration.clients.push(new);
    }

    let mut seen = Seen::default();
    for user in &export.users {
        if let Some(member) = member(store, master, &target.id, user, &mut seen, &mut report, now).await? {
            report.members.push(member.user.username.as_str().to_owned());
            migration.members.push(member);
        }
    }

    if !dry_run {
        for alg in algorithms {
            keys::ensure(store, master, &target.id, alg, now).await?;
        }
        store.migrate_realm(&target.id, migration, now).await.map_err(FlowError::from)?;
    }
    Ok(report)
}

/// What earlier users of the same file took.
#[derive(Default)]
struct Seen {
    usernames: HashSet<String>,
    ids: HashSet<String>,
    emails: HashSet<String>,
    passkeys: HashSet<String>,
}

/// One Keycloak user as a member, or `None` (with the reason in the report).
async fn member<S: UserStore + MigrationStore + Sync>(
    store: &S,
    master: &MasterKey,
    realm_id: &str,
    user: &UserExport,
    seen: &mut Seen,
    report: &mut Report,
    now: OffsetDateTime,
) -> Result<Option<MigratedMember>, FlowError> {
    let what = format!("user {}", user.username);
    if let Some(client) = &user.service_account_client_id {
        report.skip(what, format!("the service account of client {client}, not a member"));
        return Ok(None);
    }
    let username = match Username::parse_issued(&user.username) {
        Ok(name) => name,
        Err(e) => {
            report.skip(what, format!("not a user ID here: {e}"));
            return Ok(None);
        }
    };
    // Keycloak's id stays the member's id: relying parties know them by it (`sub`).
    let id = match user.id.as_deref().map(Uuid::parse_str) {
        Some(Ok(id)) => id.hyphenated().to_string(),
        _ => Uuid::new_v4().to_string(),
    };
    if store.user_by_id_or_issued(realm_id, &username).await?.is_some() {
        report.skip(what, "a member with this user ID exists already; not overwritten");
        return Ok(None);
    }
    if store.user_by_id(realm_id, &id).await?.is_some() {
        report.skip(what, format!("a member with Keycloak id {id} exists already; not overwritten"));
        return Ok(None);
    }
    // Ids are unique across realms: the same export imported into a second realm.
    let id = if store.user_id_taken(&id).await? {
        report.skip(
            format!("Keycloak id of {}", user.username),
            format!("{id} is a member's of another realm here; the member gets a new id (and `sub`)"),
        );
        Uuid::new_v4().to_string()
    } else {
        id
    };
    if !seen.usernames.insert(username.as_str().to_owned()) || !seen.ids.insert(id.clone()) {
        report.skip(what, "the export has this user ID or Keycloak id twice");
        return Ok(None);
    }
    let email = email(store, realm_id, user, seen, report).await?;
    let birthdate = user.attribute("birthdate").and_then(|raw| match BirthDate::parse_iso(raw.trim()) {
        Ok(date) => Some(date),
        Err(e) => {
            report.skip(format!("birthdate of {}", user.username), format!("{raw:?}: {e}"));
            None
        }
    });
    let mut required_actions = Vec::new();
    for alias in &user.required_actions {
        match RequiredAction::from_alias(alias) {
            Some(action) if !required_actions.contains(&action) => required_actions.push(action),
            Some(_) => {}
            None => report.skip(
                format!("required action {alias} of {}", user.username),
                "no equivalent here (we run VERIFY_BIRTHDATE, TERMS_AND_CONDITIONS, UPDATE_EMAIL, \
                 VERIFY_EMAIL, UPDATE_USER_ID, UPDATE_PASSWORD, CONFIGURE_TOTP, webauthn-register)",
            ),
        }
    }
    required_actions.sort();
    let mut credentials = credentials::convert_all(master, &id, user, &mut seen.passkeys, report, now);
    let mut kept = Vec::with_capacity(credentials.len());
    for (credential, created_at) in credentials.drain(..) {
        match &credential.webauthn_id {
            Some(webauthn_id) if store.webauthn_id_taken(webauthn_id).await? => report.skip(
                format!(
                    "credential webauthn {:?} of {}",
                    credential.user_label.as_deref().unwrap_or(""),
                    user.username
                ),
                "this passkey is registered here already (another realm, or an earlier import)",
            ),
            _ => kept.push((credential, created_at)),
        }
    }
    let credentials = kept;
    let kinds: Vec<CredentialType> = credentials.iter().map(|(c, _)| c.kind).collect();
    for kind in &kinds {
        *report.credentials.entry(kind.as_str().to_owned()).or_default() += 1;
    }
    if user.federation_link.is_some() && !kinds.contains(&CredentialType::Password) {
        report.skip(
            format!("password of {}", user.username),
            "kept by the user federation (LDAP/Kerberos) Keycloak linked; the member sets one with \
             「パスワードを忘れた方」",
        );
    }
    // The method Keycloak's conditional OTP / WebAuthn steps asked them for.
    let auth_method = if kinds.contains(&CredentialType::Otp) {
        Some(AuthMethod::Otp)
    } else if kinds.contains(&CredentialType::Webauthn) {
        Some(AuthMethod::Webauthn)
    } else {
        None
    };
    let new = NewUser {
        username,
        issued_username: None,
        email,
        email_verified: user.email_verified,
        display_name: display_name(user),
        birthdate,
        relationship: None,
        temporary_id: false,
        required_actions,
        locale: user.attribute("locale").filter(|l| matches!(*l, "ja" | "en")).map(str::to_owned),
    };
    let enabled = user.enabled.unwrap_or(true);
    Ok(Some(MigratedMember { id, user: new, enabled, auth_method, credentials }))
}

/// The member's email, unless it is not one or another member (here or earlier in the file)
/// has it: then the member comes without it, which the report says.
async fn email<S: UserStore + Sync>(
    store: &S,
    realm_id: &str,
    user: &UserExport,
    seen: &mut Seen,
    report: &mut Report,
) -> Result<Option<Email>, FlowError> {
    let Some(raw) = user.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) else { return Ok(None) };
    let what = format!("email of {}", user.username);
    let email = match Email::parse(raw) {
        Ok(email) => email,
        Err(e) => {
            report.skip(what, format!("{raw:?}: {e}"));
            return Ok(None);
        }
    };
    if store.user_by_email(realm_id, &email).await?.is_some() || !seen.emails.insert(email.key()) {
        report.skip(what, format!("{raw} belongs to another member; the member gives their own at login"));
        return Ok(None);
    }
    Ok(Some(email))
}

/// ユーザー名 in Japanese order, family name first; else Keycloak's `displayName` attribute, else
/// the user ID.
fn display_name(user: &UserExport) -> String {
    let part = |p: &Option<String>| p.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned);
    let names: Vec<String> = [part(&user.last_name), part(&user.first_name)].into_iter().flatten().collect();
    if !names.is_empty() {
        return names.join(" ");
    }
    user.attribute("displayName")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| user.username.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_family_name_first() {
        let user = |first: Option<&str>, last: Option<&str>| UserExport {
            username: "taro".to_owned(),
            first_name: first.map(str::to_owned),
            last_name: last.map(str::to_owned),
            ..UserExport::default()
        };
        assert_eq!(display_name(&user(Some("太郎"), Some("健保"))), "健保 太郎");
        assert_eq!(display_name(&user(None, Some("健保"))), "健保");
        assert_eq!(display_name(&user(Some(" "), None)), "taro");
    }
}
