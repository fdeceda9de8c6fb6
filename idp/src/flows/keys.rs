//! Realm signing keys: generation, rotation, retirement, and the public JWKS.

use super::FlowError;
use crate::store::{KeyStatus, KeyStore, StoredKey};
use shared_crypto::MasterKey;
use shared_crypto::keys::{Algorithm, JwkSet, KeyRing, SigningKey};
use time::OffsetDateTime;

/// Binds a sealed private key to its row: a sealed key copied to another kid does not open.
fn aad(kid: &str) -> Vec<u8> {
    format!("realm_keys:{kid}").into_bytes()
}

/// Generates a key of `alg` and makes it the realm's active key for that algorithm; the
/// previous one stays published and verifying (passive) until it is retired.
pub async fn rotate(
    store: &impl KeyStore,
    master: &MasterKey,
    realm_id: &str,
    alg: Algorithm,
    now: OffsetDateTime,
) -> Result<String, FlowError> {
    let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
        .await
        .map_err(|e| FlowError::invalid("key", e))??;
    let kid = key.kid().to_owned();
    store
        .rotate_key(StoredKey {
            sealed_private_key: master.seal(&key.to_pkcs8_der(), &aad(&kid)),
            public_jwk: key.public_jwk(),
            kid: kid.clone(),
            realm_id: realm_id.to_owned(),
            algorithm: alg,
            status: KeyStatus::Active,
            created_at: now,
        })
        .await?;
    Ok(kid)
}

/// Makes sure the realm can sign with `alg`, generating the first key if it has none.
pub async fn ensure(
    store: &impl KeyStore,
    master: &MasterKey,
    realm_id: &str,
    alg: Algorithm,
    now: OffsetDateTime,
) -> Result<(), FlowError> {
    let live = store.live_keys(realm_id).await?;
    if !live.iter().any(|k| k.algorithm == alg && k.status == KeyStatus::Active) {
        rotate(store, master, realm_id, alg, now).await?;
    }
    Ok(())
}

/// The realm's published keys: every active and passive key, each once.
pub async fn jwks(store: &impl KeyStore, realm_id: &str) -> Result<JwkSet, FlowError> {
    let mut keys = Vec::new();
    for key in store.live_keys(realm_id).await? {
        if !keys.iter().any(|k: &shared_crypto::keys::Jwk| k.kid.as_deref() == Some(key.kid.as_str())) {
            keys.push(key.public_jwk);
        }
    }
    Ok(JwkSet { keys })
}

/// The signing key ring for `alg`: the active key unsealed, the passive ones as public keys.
pub async fn ring(
    store: &impl KeyStore,
    master: &MasterKey,
    realm_id: &str,
    alg: Algorithm,
) -> Result<Option<KeyRing>, FlowError> {
    let live: Vec<StoredKey> =
        store.live_keys(realm_id).await?.into_iter().filter(|k| k.algorithm == alg).collect();
    let Some(active) = live.iter().find(|k| k.status == KeyStatus::Active) else {
        return Ok(None);
    };
    let der = master.open(&active.sealed_private_key, &aad(&active.kid))?;
    let signing = SigningKey::from_pkcs8_der(alg, &der)?;
    let previous =
        live.iter().filter(|k| k.status == KeyStatus::Passive).map(|k| k.public_jwk.clone()).collect();
    Ok(Some(KeyRing::new(signing, previous)))
}

/// How long a loaded key ring or JWKS is used before it is read again, so a rotation made by
/// another process (the CLI, another replica) is picked up within this time.
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// How often an unknown `kid` may make the published keys be read again.
const RELOAD_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

type Cached<T> =
    std::collections::HashMap<(String, Option<Algorithm>), (std::time::Instant, std::sync::Arc<T>)>;

/// Unsealed signing keys and published key sets, per realm, kept for [`CACHE_FOR`]: the token
/// endpoint must not open a sealed key on every request.
#[derive(Debug, Default)]
pub struct KeyCache {
    rings: std::sync::RwLock<Cached<KeyRing>>,
    sets: std::sync::RwLock<Cached<JwkSet>>,
}

fn cached<T>(
    map: &std::sync::RwLock<Cached<T>>,
    key: &(String, Option<Algorithm>),
) -> Option<std::sync::Arc<T>> {
    let map = map.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    map.get(key).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, v)| v.clone())
}

fn remember<T>(
    map: &std::sync::RwLock<Cached<T>>,
    key: (String, Option<Algorithm>),
    value: T,
) -> std::sync::Arc<T> {
    let value = std::sync::Arc::new(value);
    let mut map = map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    map.insert(key, (std::time::Instant::now(), value.clone()));
    value
}

impl KeyCache {
    /// The realm's signing ring for `alg`, generating the realm's first key of that algorithm
    /// if it has none.
    pub async fn signing(
        &self,
        store: &impl KeyStore,
        master: &MasterKey,
        realm_id: &str,
        alg: Algorithm,
        now: OffsetDateTime,
    ) -> Result<std::sync::Arc<KeyRing>, FlowError> {
        let key = (realm_id.to_owned(), Some(alg));
        if let Some(ring) = cached(&self.rings, &key) {
            return Ok(ring);
        }
        let ring = match ring(store, master, realm_id, alg).await? {
            Some(ring) => ring,
            None => {
                ensure(store, master, realm_id, alg, now).await?;
                ring(store, master, realm_id, alg)
                    .await?
                    .ok_or_else(|| FlowError::invalid("key", "no signing key after generating one"))?
            }
        };
        // Publish at least what we sign with: the JWKS served and used for verification is
        // never older than the signing key (a relying party must find every kid we use).
        remember(&self.sets, (realm_id.to_owned(), None), jwks(store, realm_id).await?);
        Ok(remember(&self.rings, key, ring))
    }

    /// The realm's published keys, for verifying its own tokens.
    pub async fn published(
        &self,
        store: &impl KeyStore,
        realm_id: &str,
    ) -> Result<std::sync::Arc<JwkSet>, FlowError> {
        let key = (realm_id.to_owned(), None);
        if let Some(set) = cached(&self.sets, &key) {
            return Ok(set);
        }
        Ok(remember(&self.sets, key, jwks(store, realm_id).await?))
    }

    /// Verifies a token this realm signed. A `kid` the cached set does not know may be a key
    /// another replica (or the CLI) rotated in since: the set is read again once before the
    /// token is refused.
    pub async fn verify(
        &self,
        store: &impl KeyStore,
        realm_id: &str,
        token: &str,
    ) -> Result<Option<shared_crypto::Verified>, FlowError> {
        const ALGS: [Algorithm; 3] = [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA];
        let keys = self.published(store, realm_id).await?;
        match shared_crypto::jws::verify(token, &keys, &ALGS) {
            Ok(verified) => Ok(Some(verified)),
            // At most one reload per RELOAD_AT_MOST_EVERY: tokens with made-up kids must not turn
            // into a database read each.
            Err(shared_crypto::JwsError::UnknownKid(_)) if self.loaded_long_ago(realm_id) => {
                let fresh = remember(&self.sets, (realm_id.to_owned(), None), jwks(store, realm_id).await?);
                Ok(shared_crypto::jws::verify(token, &fresh, &ALGS).ok())
            }
            Err(_) => Ok(None),
        }
    }

    fn loaded_long_ago(&self, realm_id: &str) -> bool {
        let sets = self.sets.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        sets.get(&(realm_id.to_owned(), None)).is_none_or(|(at, _)| at.elapsed() >= RELOAD_AT_MOST_EVERY)
    }
}
