//! Decisions. Flows take stores, the master key and `now` as inputs and know nothing of HTTP.

pub mod access;
pub mod account;
pub mod action_tokens;
pub mod admin;
pub mod auth_session;
pub mod authorize;
pub mod backchannel;
pub mod brute_force;
pub mod claims;
pub mod client_auth;
pub mod clients;
pub mod email_change;
pub mod hashing;
pub mod import_keycloak;
pub mod import_members;
pub mod keys;
pub mod lockout;
pub mod login;
pub mod logout;
pub mod lookup;
pub mod mail;
pub mod master_key;
pub mod members;
pub mod mfa;
pub mod realms;
pub mod recovery;
pub mod required_actions;
pub mod retry;
pub mod sessions;
pub mod terms;
pub mod tokens;
pub mod trusted_device;

use crate::ephemeral::EphemeralError;
use crate::mail::MailError;
use crate::store::StoreError;
use shared_crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("there is no realm named {0:?}")]
    UnknownRealm(String),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Ephemeral(#[from] EphemeralError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl FlowError {
    pub(crate) fn invalid(field: &'static str, reason: impl ToString) -> Self {
        Self::Invalid { field, reason: reason.to_string() }
    }
}
