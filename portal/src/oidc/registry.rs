//! One relying party per kenpo. The configured kenpo signs in with the configured client; every
//! other kenpo (added with `kenpo-portal kenpo add`) with its own client at its own realm, its
//! secret opened from the database with the master key, at its own host.

use super::{Rp, RpError};
use crate::store::Kenpo;
use secrecy::SecretString;
use shared_crypto::MasterKey;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::RwLock;

/// What a sealed client secret is bound to: a secret copied to another kenpo's row does not open.
pub fn secret_aad(issuer: &str) -> Vec<u8> {
    format!("kenpo-portal/client-secret/v1|{issuer}").into_bytes()
}

#[derive(Debug)]
pub struct Registry {
    configured_kenpo: String,
    configured: Arc<Rp>,
    /// The portal's URL scheme (`https` or `http`), for the other kenpos' hosts.
    scheme: String,
    master_key: Option<Arc<MasterKey>>,
    /// By kenpo id, with the registration they were built from: a changed registration (a new
    /// secret, another realm) builds a new one.
    others: RwLock<HashMap<String, (Registration, Arc<Rp>)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Registration {
    issuer: String,
    client_id: String,
    host: Option<String>,
    sealed: Option<String>,
}

impl Registration {
    fn of(kenpo: &Kenpo) -> Self {
        Self {
            issuer: kenpo.issuer.clone(),
            client_id: kenpo.client_id.clone(),
            host: kenpo.host.clone(),
            sealed: kenpo.client_secret_sealed.clone(),
        }
    }
}

impl Registry {
    pub fn new(
        configured_kenpo: String,
        configured: Rp,
        public_url: &str,
        master_key: Option<Arc<MasterKey>>,
    ) -> Self {
        let scheme = public_url.split_once("://").map_or("https", |(s, _)| s).to_owned();
        Self {
            configured_kenpo,
            configured: Arc::new(configured),
            scheme,
            master_key,
            others: RwLock::new(HashMap::new()),
        }
    }

    /// The relying party that signs this kenpo's members in.
    pub async fn for_kenpo(&self, kenpo: &Kenpo) -> Result<Arc<Rp>, RpError> {
        if kenpo.id == self.configured_kenpo {
            return Ok(self.configured.clone());
        }
        let registration = Registration::of(kenpo);
        if let Some((built_from, rp)) = self.others.read().await.get(&kenpo.id)
            && *built_from == registration
        {
            return Ok(rp.clone());
        }
        let rp = Arc::new(self.build(&registration)?);
        self.others.write().await.insert(kenpo.id.clone(), (registration, rp.clone()));
        Ok(rp)
    }

    fn build(&self, r: &Registration) -> Result<Rp, RpError> {
        let host = r.host.as_deref().ok_or(RpError::NoHost)?;
        let sealed = r.sealed.as_deref().ok_or(RpError::NoClientSecret)?;
        let key = self.master_key.as_deref().ok_or(RpError::NoMasterKey)?;
        let secret = key.open(sealed, &secret_aad(&r.issuer)).map_err(|_| RpError::SecretUnreadable)?;
        let secret = String::from_utf8(secret.to_vec()).map_err(|_| RpError::SecretUnreadable)?;
        Rp::new(
            &r.issuer,
            &r.client_id,
            Some(SecretString::from(secret)),
            &format!("{}://{host}", self.scheme),
        )
    }
}
