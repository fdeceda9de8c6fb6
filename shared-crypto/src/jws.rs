//! Compact JWS (RFC 7515): signing our tokens and strictly verifying tokens.
//!
//! Verification is where JWT libraries have historically failed, so this one
//! is deliberately narrow:
//!
//! - The caller says which algorithms are acceptable; the token's header can
//!   only pick among them. `alg: none` is always rejected, as is any
//!   algorithm we do not implement (there is no HMAC, so the classic
//!   "verify an HS256 token with the RSA public key as the secret" confusion
//!   cannot happen).
//! - The key must fit the algorithm: an ES256 token is only checked against
//!   an `EC`/`P-256` key, and a key that declares `alg` or `use` must declare
//!   the matching ones.
//! - Keys come only from the `JwkSet` the caller passes. Header members that
//!   carry or point to keys (`jwk`, `jku`, `x5u`, `x5c`) are ignored, and
//!   any `crit` header is rejected because we understand no extensions.
//! - Base64url must be canonical and unpadded; any malformed input is an
//!   error, never a panic.
//!
//! Verification checks the signature only. Claims (`iss`, `aud`, `exp`, …)
//! and `typ` are the caller's to check on the returned [`Verified`].

use std::str::FromStr as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};

use crate::keys::{Algorithm, Jwk, JwkSet, SigningKey};

/// Why a JWS was rejected. Messages never include the token or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three base64url parts, invalid base64url, or a header that is not
    /// a JSON object of the expected shape.
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    /// `alg: none` (in any letter case).
    #[error("unsecured JWS (alg \"none\") rejected")]
    AlgNone,
    /// An `alg` we do not implement.
    #[error("unsupported JWS algorithm {0:?}")]
    UnsupportedAlg(String),
    /// An `alg` we implement but the caller did not allow here.
    #[error("JWS algorithm {0} not allowed here")]
    AlgNotAllowed(Algorithm),
    /// A `crit` header: we understand no extensions, so must reject.
    #[error("JWS with critical header extensions rejected")]
    Crit,
    /// The header's `kid` is not in the key set.
    #[error("no key with kid {0:?}")]
    UnknownKid(String),
    /// No key in the set can verify this algorithm.
    #[error("no key for algorithm {0}")]
    NoKey(Algorithm),
    /// The key named by `kid` is of another type, curve, `alg` or `use`.
    #[error("key does not match the JWS algorithm")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("JWS signature invalid")]
    BadSignature,
}

/// The protected header members we read or write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Signature algorithm.
    pub alg: Algorithm,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Media type, e.g. `JWT`, `logout+jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

/// A JWS whose signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The protected header.
    pub header: Header,
    /// The decoded payload (for a JWT, the claims JSON).
    pub payload: Vec<u8>,
}

/// Signs `payload` as a compact JWS with header
/// `{"alg":…,"kid":…,"typ":…}` (`typ` omitted when `None`).
#[must_use]
pub fn sign(key: &SigningKey, typ: Option<&str>, payload: &[u8]) -> String {
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), key.alg().as_str().into());
    header.insert("kid".into(), key.kid().into());
    if let Some(typ) = typ {
        header.insert("typ".into(), typ.into());
    }
    // `Value`'s `Display` cannot fail, and its map is ordered by key, which
    // here is also the documented order: alg, kid, typ.
    let header = serde_json::Value::Object(header).to_string();

    let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 100);
    URL_SAFE_NO_PAD.encode_string(header.as_bytes(), &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    token
}

/// The header as it arrives, before we trust any of it.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Verifies a compact JWS against `keys`, accepting only `allowed`
/// algorithms. With a `kid`, only keys with that kid are tried; without
/// one, every key that fits the algorithm is tried.
pub fn verify(token: &str, keys: &JwkSet, allowed: &[Algorithm]) -> Result<Verified, JwsError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed("expected three dot-separated parts"));
    };
    let header_json = decode(header_b64, "header is not base64url")?;
    let raw: RawHeader = serde_json::from_slice(&header_json)
        .map_err(|_| JwsError::Malformed("header is not a JSON object with a string alg"))?;
    if raw.alg.eq_ignore_ascii_case("none") {
        return Err(JwsError::AlgNone);
    }
    let alg = Algorithm::from_str(&raw.alg)
        .map_err(|_| JwsError::UnsupportedAlg(raw.alg.chars().take(32).collect()))?;
    if !allowed.contains(&alg) {
        return Err(JwsError::AlgNotAllowed(alg));
    }
    if raw.crit.is_some() {
        return Err(JwsError::Crit);
    }
    let payload = decode(payload_b64, "payload is not base64url")?;
    let signature = decode(signature_b64, "signature is not base64url")?;
    // The signing input is the two encoded parts exactly as received.
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];

    let candidates: Vec<&Jwk> = match &raw.kid {
        Some(kid) => {
            let named: Vec<&Jwk> =
                keys.keys.iter().filter(|jwk| jwk.kid.as_deref() == Some(kid.as_str())).collect();
            if named.is_empty() {
                return Err(JwsError::UnknownKid(kid.chars().take(64).collect()));
            }
            let fitting: Vec<&Jwk> = named.into_iter().filter(|jwk| fits(jwk, alg)).collect();
            if fitting.is_empty() {
                return Err(JwsError::KeyMismatch);
            }
            fitting
        }
        None => {
            let fitting: Vec<&Jwk> = keys.keys.iter().filter(|jwk| fits(jwk, alg)).collect();
            if fitting.is_empty() {
                return Err(JwsError::NoKey(alg));
            }
            fitting
        }
    };
    if candidates.iter().any(|jwk| verify_with(jwk, alg, signing_input.as_bytes(), &signature)) {
        Ok(Verified { header: Header { alg, kid: raw.kid, typ: raw.typ }, payload })
    } else {
        Err(JwsError::BadSignature)
    }
}

fn decode(part: &str, what: &'static str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| JwsError::Malformed(what))
}

/// Whether `jwk` may verify `alg` signatures: matching kty and curve, and
/// matching `alg`/`use` if the key declares them.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    jwk.kty == alg.kty()
        && jwk.crv.as_deref() == alg.crv()
        && jwk.alg.as_deref().is_none_or(|a| a == alg.as_str())
        && jwk.use_.as_deref().is_none_or(|u| u == "sig")
}

/// Checks one signature with one key; malformed key material is simply a
/// failed verification.
fn verify_with(jwk: &Jwk, alg: Algorithm, msg: &[u8], signature: &[u8]) -> bool {
    let member = |v: &Option<String>| v.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    match alg {
        Algorithm::ES256 => {
            let (Some(x), Some(y)) = (member(&jwk.x), member(&jwk.y)) else {
                return false;
            };
            if x.len() != 32 || y.len() != 32 || signature.len() != 64 {
                return false;
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(msg, signature).is_ok()
        }
        Algorithm::EdDSA => {
            let Some(x) = member(&jwk.x) else {
                return false;
            };
            x.len() == 32
                && signature.len() == 64
                && UnparsedPublicKey::new(&ED25519, x).verify(msg, signature).is_ok()
        }
        Algorithm::RS256 => {
            let (Some(n), Some(e)) = (member(&jwk.n), member(&jwk.e)) else {
                return false;
            };
            // Tolerate a leading zero octet some encoders emit before the modulus.
            let strip = |b: &[u8]| b.iter().position(|&v| v != 0).unwrap_or(0);
            let components = RsaPublicKeyComponents { n: &n[strip(&n)..], e: &e[strip(&e)..] };
            components.verify(&RSA_PKCS1_2048_8192_SHA256, msg, signature).is_ok()
        }
    }
}

#[cfg(test)]
mod tests;
