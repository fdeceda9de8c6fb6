//! Importing the kenpo's member list: all of it, or none of it.
//!
//! A member is known by the user ID the kenpo issued (the 仮ID), kept even after the member
//! chose their own, so importing the same file again changes nothing. A later file may change
//! what the kenpo owns (ユーザー名, birth date, relationship); what the member owns (their
//! password, email and user ID once chosen) is never touched by an import.

use super::FlowError;
use crate::domain::RequiredAction;
use crate::import::members::{self, LineError, MemberLine};
use crate::store::{NewCredential, NewUser, Realm, UserStore, UserUpdate};
use secrecy::ExposeSecret;
use shared_crypto::password;
use time::OffsetDateTime;

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Nothing was imported; every bad line is listed.
    #[error("nothing was imported: {} problem(s)", .0.len())]
    Lines(Vec<LineError>),
    #[error(transparent)]
    Flow(#[from] FlowError),
}

/// Checks the file against the realm's members, then applies it in one transaction.
pub async fn import<S: UserStore + Sync>(
    store: &S,
    realm: &Realm,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<ImportReport, ImportError> {
    let lines = members::parse(bytes).map_err(ImportError::Lines)?;
    let mut report = ImportReport::default();
    let mut errors = Vec::new();
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for line in lines {
        let existing =
            store.user_by_issued_username(&realm.id, &line.username).await.map_err(FlowError::from)?;
        if let Some(user) = existing {
            let update = UserUpdate {
                display_name: line.display_name.clone(),
                birthdate: Some(line.birthdate),
                relationship: Some(line.relationship),
            };
            let current = UserUpdate {
                display_name: user.display_name.clone(),
                birthdate: user.birthdate,
                relationship: user.relationship,
            };
            if update == current {
                report.unchanged += 1;
            } else {
                updates.push((user.id, update));
            }
            continue;
        }
        if store.user_by_username(&realm.id, &line.username).await.map_err(FlowError::from)?.is_some() {
            errors.push(conflict(&line, "username is already another member's user ID"));
            continue;
        }
        if let Some(email) = &line.email
            && store.user_by_email(&realm.id, email).await.map_err(FlowError::from)?.is_some()
        {
            errors.push(conflict(&line, "email is used by another account of the realm"));
            continue;
        }
        creates.push(line);
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines(errors));
    }
    report.created = creates.len();
    report.updated = updates.len();
    let creates = hash_all(creates).await?;
    store.import_members(&realm.id, creates, updates, now).await.map_err(FlowError::from)?;
    Ok(report)
}

fn conflict(line: &MemberLine, reason: &str) -> LineError {
    LineError { line: line.line, reason: reason.to_owned() }
}

/// Hashes the temporary passwords on every core, off the async runtime: Argon2id is built to
/// be slow, and a kenpo's list has thousands of members.
async fn hash_all(lines: Vec<MemberLine>) -> Result<Vec<(NewUser, NewCredential)>, FlowError> {
    tokio::task::spawn_blocking(move || {
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let chunk = lines.len().div_ceil(workers).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = lines
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(new_member).collect::<Result<Vec<_>, _>>()))
                .collect();
            let mut all = Vec::with_capacity(lines.len());
            for handle in handles {
                let part =
                    handle.join().map_err(|_| FlowError::invalid("password", "hashing thread panicked"))?;
                all.extend(part?);
            }
            Ok(all)
        })
    })
    .await
    .map_err(|e| FlowError::invalid("password", e))?
}

fn new_member(line: &MemberLine) -> Result<(NewUser, NewCredential), FlowError> {
    let hash = password::hash_password(line.temporary_password.expose_secret())?;
    let user = NewUser {
        username: line.username.clone(),
        issued_username: Some(line.username.clone()),
        email: line.email.clone(),
        email_verified: false,
        display_name: line.display_name.clone(),
        birthdate: Some(line.birthdate),
        relationship: Some(line.relationship),
        temporary_id: true,
        required_actions: RequiredAction::FIRST_LOGIN.to_vec(),
        locale: None,
    };
    Ok((user, NewCredential::password(&hash)))
}
