//! Creating a kenpo's realm.

use super::{FlowError, keys};
use crate::domain::RealmName;
use crate::store::{KeyStore, NewRealm, Realm, RealmSettings, RealmStore};
use shared_crypto::MasterKey;
use shared_crypto::keys::Algorithm;
use time::OffsetDateTime;

/// What an operator gives to create a realm.
#[derive(Debug, Clone)]
pub struct RealmSpec {
    pub name: String,
    pub display_name: String,
    pub host: Option<String>,
}

/// Creates the realm and its first signing key (ES256, the default ID-token algorithm).
pub async fn create<S: RealmStore + KeyStore + Sync>(
    store: &S,
    master: &MasterKey,
    spec: RealmSpec,
    now: OffsetDateTime,
) -> Result<Realm, FlowError> {
    let name = RealmName::parse(&spec.name).map_err(|e| FlowError::invalid("realm name", e))?;
    let display_name = spec.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(FlowError::invalid("display name", "must be 1 to 100 characters"));
    }
    let host = match spec.host.map(|h| h.trim().to_ascii_lowercase()) {
        Some(h) if h.is_empty() => None,
        Some(h) => Some(valid_host(&h)?),
        None => None,
    };
    let realm = store
        .create_realm(NewRealm { name, display_name, host, settings: RealmSettings::default() }, now)
        .await?;
    keys::ensure(store, master, &realm.id, Algorithm::ES256, now).await?;
    Ok(realm)
}

/// Looks a realm up by the name an operator typed.
pub async fn find(store: &impl RealmStore, name: &str) -> Result<Realm, FlowError> {
    let unknown = || FlowError::UnknownRealm(name.to_owned());
    let parsed = RealmName::parse(name).map_err(|_| unknown())?;
    store.realm_by_name(&parsed).await?.ok_or_else(unknown)
}

fn valid_host(host: &str) -> Result<String, FlowError> {
    let parsed = url::Host::parse(host).map_err(|e| FlowError::invalid("host", e))?;
    match parsed {
        url::Host::Domain(d) if d.contains('.') || d == "localhost" => Ok(d),
        url::Host::Domain(_) => Err(FlowError::invalid("host", "must be a fully qualified name")),
        other => Ok(other.to_string()),
    }
}
