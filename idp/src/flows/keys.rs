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
