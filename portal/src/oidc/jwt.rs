//! A JWT signed by the IdP, checked against its published keys through the `openidconnect`
//! crate's key type: the part every token the portal receives outside the code flow (back-channel
//! logout tokens, the kenpo systems' access tokens) has in common. The claims each carries are
//! checked by its own module.

use super::{Metadata, NO_MATCHING_KEY};
use base64::Engine;
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

/// The claims of `token` once its signature is shown to be the IdP's, with the header's `typ`.
/// `alg` must be one the IdP signs with (never `none`) and `kid` one of its published keys
/// (`NO_MATCHING_KEY` otherwise, so the caller can fetch the keys again).
pub(super) fn verified<T: DeserializeOwned>(
    token: &str,
    metadata: &Metadata,
) -> Result<(Option<String>, T), &'static str> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a signed JWT");
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Header =
        b64.decode(header).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or("unreadable header")?;
    let alg: CoreJwsSigningAlgorithm = serde_json::from_value(serde_json::Value::String(header.alg.clone()))
        .map_err(|_| "unknown algorithm")?;
    let allowed = metadata.id_token_signing_alg_values_supported();
    if header.alg == "none" || !allowed.contains(&alg) {
        return Err("algorithm not one the IdP signs with");
    }
    let signature = b64.decode(signature).map_err(|_| "unreadable signature")?;
    let key: &CoreJsonWebKey = metadata
        .jwks()
        .keys()
        .iter()
        .find(|k| header.kid.as_deref().is_some_and(|kid| k.key_id().is_some_and(|id| id.as_str() == kid)))
        .ok_or(NO_MATCHING_KEY)?;
    let signed = &token[..token.len() - token.rsplit('.').next().map_or(0, str::len) - 1];
    key.verify_signature(&alg, signed.as_bytes(), &signature).map_err(|_| "bad signature")?;
    let claims =
        b64.decode(payload).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or("unreadable claims")?;
    Ok((header.typ, claims))
}
