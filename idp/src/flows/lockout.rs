//! Brute-force protection at work: whose record an attempt counts on, the per-address limit,
//! the events Keycloak sends, and the admin's unlock. [`super::brute_force`] decides; this
//! module reads and writes.
//!
//! How the design limits the denial of service that locking invites (anyone who knows a
//! member's user ID could otherwise keep them out):
//! - records are per (member, device): browsers without the member's trusted-device cookie
//!   share one record, and each browser the member logged in on has its own (see
//!   [`super::trusted_device`]), so a stranger locks only the shared one;
//! - a user ID that does not exist has a record too, under a keyed hash of the typed ID, and
//!   locks the same way: the locked message says nothing about who is a member;
//! - one client address may fail only so often per hour across all IDs (password spraying);
//! - locks are temporary first; only repeated lockouts lock until an admin unlocks.

use super::FlowError;
use super::brute_force::{self, Lock};
use super::trusted_device;
use crate::domain::Username;
use crate::ephemeral::{Ephemeral, EphemeralStore};
use crate::store::{
    BruteForcePolicy, Db, DeviceFailures, EventStore, EventType, LoginFailureStore, NewEvent, Realm, User,
    UserStore,
};
use shared_crypto::{MasterKey, SecretHasher};
use std::net::IpAddr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The prefix of the subject of a user ID that does not exist.
pub const UNKNOWN_PREFIX: &str = "unknown:";
/// The device of a member's birth-date record; a trusted device's id is 22 characters.
pub const BIRTHDATE_DEVICE: &str = "birthdate";
const UNKNOWN_PURPOSE: &str = "login-failure-subject/v1";
/// The per-address window.
const ADDRESS_WINDOW_SECONDS: i64 = 60 * 60;

/// The record an attempt counts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureKey {
    /// The member's user id, or [`UNKNOWN_PREFIX`] and a keyed hash of the typed user ID.
    pub subject: String,
    /// The trusted device's id, or '' for every browser the member has not trusted.
    pub device: String,
}

impl FailureKey {
    /// A member's key: their device's record if `device_cookie` proves one for them, else the
    /// shared record of untrusted browsers.
    pub fn member(master: &MasterKey, realm: &Realm, user_id: &str, device_cookie: Option<&str>) -> Self {
        let device = trusted_device::trusted_device(master, &realm.id, user_id, device_cookie);
        Self { subject: user_id.to_owned(), device: device.unwrap_or_default() }
    }

    /// The key of a typed user ID that names nobody: the same for any case and surrounding
    /// space, and not readable back into the ID.
    pub fn unknown(master: &MasterKey, typed: &str) -> Self {
        let hasher = SecretHasher::from_key(master.derive(UNKNOWN_PURPOSE));
        let hash = hasher.hash(&typed.trim().to_lowercase());
        let tag = hash.rsplit(':').next().unwrap_or_default();
        Self { subject: format!("{UNKNOWN_PREFIX}{tag}"), device: String::new() }
    }

    /// The record of a member's wrong birth dates at the first login: one per member, whatever
    /// the browser, and not cleared by a right password. The birth date is asked only after the
    /// password, and a password login trusts its browser at once, so per-device records or a
    /// password-cleared one would let whoever holds the 仮ID letter guess dates without end.
    pub fn birthdate(user_id: &str) -> Self {
        Self { subject: user_id.to_owned(), device: BIRTHDATE_DEVICE.to_owned() }
    }

    pub fn is_trusted_device(&self) -> bool {
        !self.device.is_empty() && self.device != BIRTHDATE_DEVICE
    }

    /// The member's user id, unless the key is for an unknown ID.
    pub fn user_id(&self) -> Option<&str> {
        (!self.subject.starts_with(UNKNOWN_PREFIX)).then_some(self.subject.as_str())
    }
}

/// The policy a record counts under. The birth date is a weaker secret than a password (some
/// 30,000 dates cover every member) and is asked once, at the first login, so its record always
/// counts, even where a realm switched lockout off, and its failures never expire: temporary
/// lockouts add up to a permanent one however slowly dates are tried.
fn policy_for(realm: &Realm, key: &FailureKey) -> BruteForcePolicy {
    let policy = &realm.settings.brute_force;
    if key.device != BIRTHDATE_DEVICE {
        return policy.clone();
    }
    let base = if policy.enabled { policy.clone() } else { BruteForcePolicy::default() };
    let permanent_after = match base.max_temporary_lockouts {
        0 => BruteForcePolicy::default().max_temporary_lockouts,
        n => n,
    };
    BruteForcePolicy {
        enabled: true,
        max_delta_time_seconds: u32::MAX,
        max_temporary_lockouts: permanent_after,
        ..base
    }
}

/// An attempt let through to its password check, already counted as a failure so that
/// concurrent attempts cannot all get through before the lock: a success clears it again.
#[derive(Debug)]
#[must_use = "a failed attempt must be reported with `failed`, a successful one with `succeeded`"]
pub(crate) struct Admitted {
    key: FailureKey,
    started: Option<Lock>,
    num_failures: u32,
}

/// Counts the attempt on `key` unless that record is locked, in which case nothing is counted
/// and the lock is returned.
pub(crate) async fn admit(
    db: &Db,
    realm: &Realm,
    key: FailureKey,
    ip: IpAddr,
    now: OffsetDateTime,
) -> Result<Result<Admitted, Lock>, FlowError> {
    let policy = policy_for(realm, &key);
    if !policy.enabled {
        return Ok(Ok(Admitted { key, started: None, num_failures: 0 }));
    }
    let ip = ip.to_string();
    let counted = db
        .update_login_failure(&realm.id, &key.subject, &key.device, |record| {
            match brute_force::lock_of(record, now) {
                Some(lock) => (None, Err(lock)),
                None => {
                    let decision = brute_force::on_failure(&policy, record, &ip, now);
                    let failures = decision.record.num_failures;
                    (Some(decision.record), Ok((decision.started, failures)))
                }
            }
        })
        .await?;
    Ok(counted.map(|(started, num_failures)| Admitted { key, started, num_failures }))
}

/// The admitted attempt failed: it was counted already; this sends the lockout event it caused
/// and counts it against the client's address.
pub(crate) async fn failed(
    db: &Db,
    ephemeral: &Ephemeral,
    realm: &Realm,
    admitted: Admitted,
    ip: IpAddr,
    now: OffsetDateTime,
) -> Result<(), FlowError> {
    if !policy_for(realm, &admitted.key).enabled {
        return Ok(());
    }
    if let Some(lock) = admitted.started {
        record_lockout(db, realm, &admitted.key, lock, admitted.num_failures, ip, now).await;
    }
    if realm.settings.brute_force.enabled && realm.settings.brute_force.max_failures_per_address_per_hour > 0
    {
        let window = std::time::Duration::from_secs(2 * ADDRESS_WINDOW_SECONDS.unsigned_abs());
        ephemeral.incr(&address_key(realm, ip, now), window).await?;
    }
    Ok(())
}

/// The admitted attempt succeeded: the record starts again (Keycloak's `clearFailures`), except
/// that a permanent lock set meanwhile by a concurrent attempt stays. A lock this attempt's own
/// advance count started goes too: a right answer never locks (Keycloak counts only failures).
pub(crate) async fn succeeded(db: &Db, realm: &Realm, admitted: Admitted) -> Result<(), FlowError> {
    if policy_for(realm, &admitted.key).enabled {
        let keep_permanent = admitted.started.is_none();
        let key = &admitted.key;
        db.clear_login_failure(&realm.id, &key.subject, &key.device, keep_permanent).await?;
    }
    Ok(())
}

/// What an identity check other than the password came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityCheck {
    Passed,
    Failed,
    /// Refused unchecked, or failed and locked by this failure.
    Locked(Lock),
}

/// An identity check other than the password (the first login's birth date) on `key`, whose
/// answer was `passes`: refused while the record is locked, counted like a wrong password when
/// wrong (against the client's address too), and clearing the record when right.
pub async fn check_identity(
    db: &Db,
    ephemeral: &Ephemeral,
    realm: &Realm,
    key: FailureKey,
    passes: bool,
    ip: IpAddr,
    now: OffsetDateTime,
) -> Result<IdentityCheck, FlowError> {
    check_identity_with(db, ephemeral, realm, key, ip, now, async move { Ok(passes) }).await
}

/// [`check_identity`] for a check with effects (an OTP code is spent when it passes): `check`
/// runs only when the record is not locked.
pub async fn check_identity_with(
    db: &Db,
    ephemeral: &Ephemeral,
    realm: &Realm,
    key: FailureKey,
    ip: IpAddr,
    now: OffsetDateTime,
    check: impl std::future::Future<Output = Result<bool, FlowError>>,
) -> Result<IdentityCheck, FlowError> {
    let admitted = match admit(db, realm, key, ip, now).await? {
        Ok(admitted) => admitted,
        Err(lock) => return Ok(IdentityCheck::Locked(lock)),
    };
    if check.await? {
        succeeded(db, realm, admitted).await?;
        return Ok(IdentityCheck::Passed);
    }
    let started = admitted.started;
    failed(db, ephemeral, realm, admitted, ip, now).await?;
    Ok(started.map_or(IdentityCheck::Failed, IdentityCheck::Locked))
}

/// Whether the client's address has used up its failures for this hour. Only asked for
/// browsers the member has not trusted.
pub(crate) async fn address_exhausted(
    ephemeral: &Ephemeral,
    realm: &Realm,
    ip: IpAddr,
    now: OffsetDateTime,
) -> Result<bool, FlowError> {
    let policy = &realm.settings.brute_force;
    let limit = policy.max_failures_per_address_per_hour;
    if !policy.enabled || limit == 0 {
        return Ok(false);
    }
    let count = ephemeral.get(&address_key(realm, ip, now)).await?;
    let count = count.and_then(|raw| String::from_utf8(raw).ok()?.parse::<u64>().ok()).unwrap_or(0);
    Ok(count >= u64::from(limit))
}

/// The counter of `ip`'s failures in the hour holding `now`. The window follows the flow's
/// clock (the store's expiry only collects old windows). An IPv6 client counts by its /64, the
/// block one subscriber usually holds.
fn address_key(realm: &Realm, ip: IpAddr, now: OffsetDateTime) -> String {
    let address = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    };
    let window = now.unix_timestamp().div_euclid(ADDRESS_WINDOW_SECONDS);
    format!("login-failures:{}:{address}:{window}", realm.id)
}

/// Sends Keycloak's `USER_DISABLED_BY_TEMPORARY_LOCKOUT` or `…_PERMANENT_LOCKOUT`. A failure to
/// record is logged: the lock itself is already stored.
async fn record_lockout(
    db: &Db,
    realm: &Realm,
    key: &FailureKey,
    lock: Lock,
    num_failures: u32,
    ip: IpAddr,
    now: OffsetDateTime,
) {
    let mut event = NewEvent {
        user_id: key.user_id().map(str::to_owned),
        ip_address: Some(ip.to_string()),
        ..NewEvent::default()
    };
    let details = &mut event.details;
    details.insert("reason".to_owned(), "brute_force_attack detected".to_owned());
    details.insert("num_failures".to_owned(), num_failures.to_string());
    let device = match key.device.as_str() {
        BIRTHDATE_DEVICE => "birthdate",
        _ if key.is_trusted_device() => "trusted",
        _ => "untrusted",
    };
    details.insert("device".to_owned(), device.to_owned());
    if key.user_id().is_none() {
        details.insert("subject".to_owned(), key.subject.clone());
    }
    let kind = match lock {
        Lock::Temporary { until } => {
            if let Ok(at) = until.format(&Rfc3339) {
                details.insert("not_before".to_owned(), at);
            }
            EventType::UserDisabledByTemporaryLockout
        }
        Lock::Permanent => EventType::UserDisabledByPermanentLockout,
    };
    if let Err(e) = db.record_event(&realm.id, kind, event, now).await {
        tracing::warn!(error = %e, kind = kind.as_str(), "event not recorded");
    }
}

/// The member an admin names: by user ID, or by the 仮ID the kenpo issued.
pub async fn find_member(db: &Db, realm: &Realm, name: &str) -> Result<User, FlowError> {
    let name = Username::parse_issued(name.trim()).map_err(|e| FlowError::invalid("user ID", e))?;
    db.user_by_id_or_issued(&realm.id, &name)
        .await?
        .ok_or_else(|| FlowError::invalid("user ID", format!("no member {name} in realm {}", realm.name)))
}

/// Every failure record of the member, untrusted browsers first.
pub async fn status(db: &Db, realm: &Realm, user_id: &str) -> Result<Vec<DeviceFailures>, FlowError> {
    Ok(db.login_failures_of(&realm.id, user_id).await?)
}

/// The admin's unlock: forgets every record of the member, permanent locks included, and
/// returns what it cleared.
pub async fn unlock(db: &Db, realm: &Realm, user_id: &str) -> Result<Vec<DeviceFailures>, FlowError> {
    Ok(db.delete_login_failures_of(&realm.id, user_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RealmSettings;
    use time::macros::datetime;

    fn realm() -> Realm {
        Realm {
            id: "realm-1".to_owned(),
            name: crate::domain::RealmName::parse("demo").unwrap_or_else(|e| panic!("{e}")),
            display_name: "デモ".to_owned(),
            host: None,
            enabled: true,
            settings: RealmSettings::default(),
            created_at: datetime!(2026-11-24 09:00 UTC),
        }
    }

    #[test]
    fn an_unknown_id_has_one_key_whatever_its_case_and_spacing() {
        let master = MasterKey::generate();

        let key = FailureKey::unknown(&master, "NoBody123");

        assert_eq!(FailureKey::unknown(&master, " nobody123 "), key);
        assert_ne!(FailureKey::unknown(&master, "nobody124"), key);
        assert!(key.subject.starts_with(UNKNOWN_PREFIX) && !key.subject.contains("nobody"));
        assert_eq!((key.user_id(), key.is_trusted_device()), (None, false));
        assert_ne!(FailureKey::unknown(&MasterKey::generate(), "nobody123"), key, "keyed by the master key");
    }

    #[test]
    fn a_member_without_a_valid_device_cookie_counts_on_the_shared_record() {
        let (master, realm) = (MasterKey::generate(), realm());
        let cookie = trusted_device::after_login(&master, &realm.id, "taro", None);

        let trusted = FailureKey::member(&master, &realm, "taro", Some(&cookie));
        let other_member = FailureKey::member(&master, &realm, "hanako", Some(&cookie));

        assert!(trusted.is_trusted_device());
        assert_eq!(trusted.user_id(), Some("taro"));
        assert_eq!(other_member.device, "");
        assert_eq!(FailureKey::member(&master, &realm, "taro", None).device, "");
    }

    #[test]
    fn addresses_count_per_hour_and_ipv6_per_64() {
        let realm = realm();
        let at = datetime!(2026-11-24 09:10 UTC);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or_else(|e| panic!("{s}: {e}"));

        let key = address_key(&realm, ip("192.0.2.1"), at);

        assert_eq!(key, address_key(&realm, ip("192.0.2.1"), datetime!(2026-11-24 09:59:59 UTC)));
        assert_ne!(key, address_key(&realm, ip("192.0.2.1"), datetime!(2026-11-24 10:00 UTC)));
        assert_eq!(key, address_key(&realm, ip("::ffff:192.0.2.1"), at));
        assert_eq!(
            address_key(&realm, ip("2001:db8:1:2:aaaa::1"), at),
            address_key(&realm, ip("2001:db8:1:2:bbbb::9"), at)
        );
        assert_ne!(
            address_key(&realm, ip("2001:db8:1:2::1"), at),
            address_key(&realm, ip("2001:db8:1:3::1"), at)
        );
    }
}
