//! Checking a user ID and password, in the same time whether or not the member exists.

use super::FlowError;
use super::hashing::HashPool;
use crate::domain::Username;
use crate::store::{CredentialStore, Realm, User, UserStore};
use shared_crypto::password::{self, PasswordCheck};

/// What a password login found.
#[derive(Debug)]
pub enum Outcome {
    Authenticated(Box<User>),
    /// Wrong user ID or password: the manual's one message for both (Q8).
    Invalid,
    /// Right password, but the account is disabled by the kenpo.
    Disabled,
}

/// Checks the password with Argon2 off the async runtime. Unknown users cost a dummy check, so
/// timing does not tell who is a member. A hash weaker than today's parameters (or imported from
/// Keycloak) is replaced on success.
pub async fn check_password<S: UserStore + CredentialStore + Sync>(
    store: &S,
    hashing: &HashPool,
    realm: &Realm,
    username: &str,
    candidate: String,
) -> Result<Outcome, FlowError> {
    let user = match Username::parse_issued(username.trim()) {
        Ok(name) => store.user_by_username(&realm.id, &name).await?,
        Err(_) => None,
    };
    let stored = match &user {
        Some(user) => store.password_of(&user.id).await?.map(|c| c.password()).transpose()?,
        None => None,
    };
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
        return Ok(Outcome::Invalid);
    };
    if needs_rehash {
        let hash = hashing.run(move || password::hash_password(&candidate)).await??;
        store.rehash_password(&user.id, &hash).await?;
    }
    if !user.enabled {
        return Ok(Outcome::Disabled);
    }
    Ok(Outcome::Authenticated(Box::new(user)))
}
