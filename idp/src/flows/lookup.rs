//! Realms and clients read on every request, kept for a few seconds. A change made by another
//! process (the CLI, another replica) is seen within [`KEEP_FOR`]; unknown names are never
//! cached, so a new realm or client works at once.

use super::FlowError;
use crate::domain::{ClientId, RealmName};
use crate::store::{Client, ClientStore, Realm, RealmStore};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

pub const KEEP_FOR: Duration = Duration::from_secs(5);

/// At most this many entries per map; past it the map is cleared (names come from requests).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
struct TtlMap<K, V>(RwLock<HashMap<K, (Instant, Arc<V>)>>);

impl<K: Eq + Hash, V> Default for TtlMap<K, V> {
    fn default() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V> TtlMap<K, V> {
    fn get(&self, key: &K) -> Option<Arc<V>> {
        let map = self.0.read().unwrap_or_else(PoisonError::into_inner);
        map.get(key).filter(|(at, _)| at.elapsed() < KEEP_FOR).map(|(_, v)| v.clone())
    }

    fn put(&self, key: K, value: V) -> Arc<V> {
        let value = Arc::new(value);
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (Instant::now(), value.clone()));
        value
    }
}

#[derive(Debug, Default)]
pub struct Lookups {
    realms: TtlMap<String, Realm>,
    clients: TtlMap<(String, String), Client>,
}

impl Lookups {
    /// The realm named `name`, or `UnknownRealm`.
    pub async fn realm(&self, store: &impl RealmStore, name: &str) -> Result<Arc<Realm>, FlowError> {
        if let Some(realm) = self.realms.get(&name.to_owned()) {
            return Ok(realm);
        }
        let unknown = || FlowError::UnknownRealm(name.to_owned());
        let parsed = RealmName::parse(name).map_err(|_| unknown())?;
        let realm = store.realm_by_name(&parsed).await?.ok_or_else(unknown)?;
        Ok(self.realms.put(name.to_owned(), realm))
    }

    /// Drops the cached realm, so a settings change made in this process shows at once.
    pub fn forget_realm(&self, name: &str) {
        self.realms.0.write().unwrap_or_else(PoisonError::into_inner).remove(name);
    }

    /// An enabled client of the realm.
    pub async fn client(
        &self,
        store: &impl ClientStore,
        realm_id: &str,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, FlowError> {
        let key = (realm_id.to_owned(), client_id.to_owned());
        if let Some(client) = self.clients.get(&key) {
            return Ok(Some(client).filter(|c| c.enabled));
        }
        let Ok(parsed) = ClientId::parse(client_id) else { return Ok(None) };
        let Some(client) = store.client_by_client_id(realm_id, &parsed).await? else { return Ok(None) };
        Ok(Some(self.clients.put(key, client)).filter(|c| c.enabled))
    }

    /// Drops the cached client, so a change made in this process (admin API) shows at once.
    pub fn forget_client(&self, realm_id: &str, client_id: &str) {
        let key = (realm_id.to_owned(), client_id.to_owned());
        self.clients.0.write().unwrap_or_else(PoisonError::into_inner).remove(&key);
    }
}
