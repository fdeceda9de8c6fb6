//! Registering OAuth clients.

use super::{FlowError, keys};
use crate::domain::{ClientId, RedirectUri};
use crate::store::{Client, ClientStore, GrantType, KeyStore, NewClient, Realm};
use secrecy::SecretString;
use shared_crypto::keys::Algorithm;
use shared_crypto::{MasterKey, SecretHasher, random};
use time::OffsetDateTime;

/// The purpose under which the client-secret hashing key is derived from the master key.
const SECRET_HASH_PURPOSE: &str = "client-secret-hash/v1";

/// The keyed hash client secrets are stored and checked with.
pub fn secret_hasher(master: &MasterKey) -> SecretHasher {
    SecretHasher::from_key(master.derive(SECRET_HASH_PURPOSE))
}

/// What an operator gives to register a client.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub client_id: String,
    pub name: Option<String>,
    pub confidential: bool,
    /// Use this secret instead of generating one (the demo derives its secret from the master
    /// key so the launcher can hand it to the portal on every start).
    pub secret: Option<SecretString>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub pkce_required: bool,
    pub signing_alg: Algorithm,
    /// Public keys for `private_key_jwt` client authentication.
    pub jwks: Option<shared_crypto::keys::JwkSet>,
    /// Rotate refresh tokens on every use, revoking the grant when a used one comes back.
    pub rotate_refresh_tokens: bool,
    /// Resource servers its access tokens are also for (Keycloak's audience mapper).
    pub audiences: Vec<String>,
}

/// Registers the client. A confidential client's secret is returned once, here, and only its
/// keyed hash is stored.
pub async fn create<S: ClientStore + KeyStore + Sync>(
    store: &S,
    master: &MasterKey,
    realm: &Realm,
    spec: ClientSpec,
    now: OffsetDateTime,
) -> Result<(Client, Option<SecretString>), FlowError> {
    let (new, secret) = prepare(master, spec)?;
    keys::ensure(store, master, &realm.id, new.id_token_signing_alg, now).await?;
    let client = store.create_client(&realm.id, new, now).await?;
    Ok((client, secret))
}

/// Checks a spec and makes what the store keeps: parsed URIs, and for a confidential client
/// its secret (the given one or a new one) with its keyed hash.
/// At most this many audiences per client, each at most this long.
const MAX_AUDIENCES: usize = 10;
const MAX_AUDIENCE_CHARS: usize = 255;

/// The audiences as given, trimmed, once each, in order; refuses empty, over-long or too many.
fn audiences(given: Vec<String>) -> Result<Vec<String>, FlowError> {
    let mut kept: Vec<String> = Vec::new();
    for audience in given {
        let audience = audience.trim();
        if audience.is_empty()
            || audience.chars().count() > MAX_AUDIENCE_CHARS
            || audience.contains(char::is_control)
        {
            return Err(FlowError::invalid(
                "audience",
                "must be 1 to 255 characters, without control characters",
            ));
        }
        if !kept.iter().any(|a| a == audience) {
            kept.push(audience.to_owned());
        }
    }
    if kept.len() > MAX_AUDIENCES {
        return Err(FlowError::invalid("audience", "at most 10 per client"));
    }
    Ok(kept)
}

pub fn prepare(master: &MasterKey, spec: ClientSpec) -> Result<(NewClient, Option<SecretString>), FlowError> {
    let client_id = ClientId::parse(&spec.client_id).map_err(|e| FlowError::invalid("client_id", e))?;
    let uris = |field: &'static str, raw: &[String]| {
        raw.iter()
            .map(|u| RedirectUri::parse(u).map_err(|e| FlowError::invalid(field, e)))
            .collect::<Result<Vec<_>, _>>()
    };
    let redirect_uris = uris("redirect URI", &spec.redirect_uris)?;
    let post_logout_redirect_uris = uris("post-logout redirect URI", &spec.post_logout_redirect_uris)?;
    if spec.grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(FlowError::invalid("redirect URI", "the authorization code grant needs at least one"));
    }
    if spec.grant_types.contains(&GrantType::ClientCredentials) && !spec.confidential {
        return Err(FlowError::invalid("grant", "client_credentials needs a confidential client"));
    }
    let backchannel_logout_uri = spec
        .backchannel_logout_uri
        .map(|u| {
            RedirectUri::parse(&u)
                .map(String::from)
                .map_err(|e| FlowError::invalid("back-channel logout URI", e))
        })
        .transpose()?;
    let secret = match (spec.confidential, spec.secret) {
        (false, _) => None,
        (true, Some(given)) => Some(given),
        (true, None) => Some(SecretString::from(random::token())),
    };
    let secret_hash =
        secret.as_ref().map(|s| secret_hasher(master).hash(secrecy::ExposeSecret::expose_secret(s)));
    let new = NewClient {
        client_id,
        name: spec.name,
        secret_hash,
        redirect_uris,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        grant_types: spec.grant_types,
        pkce_required: spec.pkce_required,
        id_token_signing_alg: spec.signing_alg,
        jwks: spec.jwks,
        rotate_refresh_tokens: spec.rotate_refresh_tokens,
        audiences: audiences(spec.audiences)?,
    };
    Ok((new, secret))
}
