//! Checking a user ID and password: in the same time whether or not the member exists, and
//! under brute-force protection (see [`super::lockout`]).

use super::FlowError;
use super::brute_force::Lock;
use super::hashing::HashPool;
use super::lockout::{self, FailureKey};
use super::trusted_device;
use crate::domain::Username;
use crate::ephemeral::Ephemeral;
use crate::store::{CredentialStore, Db, Realm, User, UserStore};
use shared_crypto::MasterKey;
use shared_crypto::password::{self, PasswordCheck};
use std::net::IpAddr;
use time::OffsetDateTime;

/// One submission of the login form. `Debug` shows neither the password nor the cookie.
pub struct Attempt<'a> {
    pub username: &'a str,
    pub password: String,
    /// The browser's trusted-device cookie (`KENPO_DEVICE`), as sent.
    pub device: Option<&'a str>,
    /// The client's address, for the per-address limit and the record.
    pub ip: IpAddr,
    pub now: OffsetDateTime,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("device", &self.device.map(|_| "<redacted>"))
            .field("ip", &self.ip)
            .field("now", &self.now)
            .finish()
    }
}

/// What a password login found.
#[derive(Debug)]
pub enum Outcome {
    /// The member, and the trusted-device cookie value their browser should now hold.
    Authenticated { user: Box<User>, device_cookie: String },
    /// Wrong user ID or password: the manual's one message for both (Q8).
    Invalid,
    /// Right password, but the account is disabled by the kenpo.
    Disabled,
    /// The record this attempt counts on is locked; the password was not looked at. Said the
    /// same way for user IDs that do not exist.
    Locked(Lock),
    /// The client's address failed too often this hour, from browsers no member trusted.
    TooManyFromAddress,
}

/// Checks the password with Argon2 off the async runtime. Unknown users cost a dummy check, so
/// timing does not tell who is a member. A hash weaker than today's parameters (or imported from
/// Keycloak) is replaced on success.
///
/// The attempt is counted as a failure before the password is checked and forgotten again on
/// success, so a burst of concurrent guesses gets no more tries than `failure_factor`.
pub async fn check_password(
    db: &Db,
    ephemeral: &Ephemeral,
    master: &MasterKey,
    hashing: &HashPool,
    realm: &Realm,
    attempt: Attempt<'_>,
) -> Result<Outcome, FlowError> {
    let typed = attempt.username.trim();
    let user = match Username::parse_issued(typed) {
        Ok(name) => db.user_by_username(&realm.id, &name).await?,
        Err(_) => None,
    };
    let key = match &user {
        Some(user) => FailureKey::member(master, realm, &user.id, attempt.device),
        None => FailureKey::unknown(master, typed),
    };
    if !key.is_trusted_device()
        && lockout::address_exhausted(ephemeral, realm, attempt.ip, attempt.now).await?
    {
        return Ok(Outcome::TooManyFromAddress);
    }
    let admitted = match lockout::admit(db, realm, key, attempt.ip, attempt.now).await? {
        Ok(admitted) => admitted,
        Err(lock) => return Ok(Outcome::Locked(lock)),
    };
    let stored = match &user {
        Some(user) => db.password_of(&user.id).await?.map(|c| c.password()).transpose()?,
        None => None,
    };
    let candidate = attempt.password;
    let (check, candidate) = hashing
        .run(move || {
            let check = match &stored {
                Some(hash) => password::verify_password(hash, &candidate),
                None => {
                    password::verify_dummy(&candidate);
                    PasswordCheck::Mismatch
                }
            };
            (check, candidate)
        })
        .await?;
    let (Some(user), PasswordCheck::Match { needs_rehash }) = (user, check) else {
        lockout::failed(db, ephemeral, realm, admitted, attempt.ip, attempt.now).await?;
        return Ok(Outcome::Invalid);
    };
    lockout::succeeded(db, realm, admitted).await?;
    if needs_rehash {
        let hash = hashing.run(move || password::hash_password(&candidate)).await??;
        db.rehash_password(&user.id, &hash).await?;
    }
    if !user.enabled {
        return Ok(Outcome::Disabled);
    }
    let device_cookie = trusted_device::after_login(master, &realm.id, &user.id, attempt.device);
    Ok(Outcome::Authenticated { user: Box::new(user), device_cookie })
}
