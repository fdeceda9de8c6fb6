//! Public keys as JWKs (RFC 7517) and their thumbprints (RFC 7638).
//!
//! The IdP publishes these at `jwks_uri`, stores retired keys in this form,
//! and verifies tokens (its own and clients' `private_key_jwt` assertions)
//! against them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::CryptoError;

/// A public JSON Web Key (RFC 7517) for EC, RSA or OKP keys. Private members
/// (`d`, `p`, …) are not modelled, so they are dropped when parsing and can
/// never be published by accident.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `"EC"`, `"RSA"` or `"OKP"`.
    pub kty: String,
    /// Key id; ours is the RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use; ours is always `"sig"`.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Algorithm the key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Curve (EC, OKP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// X coordinate (EC) or public key (OKP), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Y coordinate (EC), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Modulus (RSA), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// Public exponent (RSA), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl Jwk {
    /// The RFC 7638 SHA-256 thumbprint, base64url without padding: SHA-256
    /// of the required members only, in lexicographic order, without
    /// whitespace (`{"crv":..,"kty":"EC","x":..,"y":..}`,
    /// `{"e":..,"kty":"RSA","n":..}`, `{"crv":..,"kty":"OKP","x":..}`).
    pub fn thumbprint(&self) -> Result<String, CryptoError> {
        let required = |name: &str, value: &Option<String>| {
            value
                .as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| (name.to_owned(), v.to_owned()))
                .ok_or_else(|| CryptoError::InvalidJwk(format!("{} key without {name}", self.kty)))
        };
        let kty = ("kty".to_owned(), self.kty.clone());
        let members = match self.kty.as_str() {
            "EC" => vec![required("crv", &self.crv)?, kty, required("x", &self.x)?, required("y", &self.y)?],
            "RSA" => vec![required("e", &self.e)?, kty, required("n", &self.n)?],
            "OKP" => vec![required("crv", &self.crv)?, kty, required("x", &self.x)?],
            other => {
                return Err(CryptoError::InvalidJwk(format!(
                    "unsupported kty {:?}",
                    other.chars().take(16).collect::<String>()
                )));
            }
        };
        let body: Vec<String> =
            members.into_iter().map(|(k, v)| format!("\"{k}\":{}", serde_json::Value::String(v))).collect();
        let canonical = format!("{{{}}}", body.join(","));
        Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
    }
}

/// A JWK Set (RFC 7517 §5), the body of the `jwks_uri` endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys, active first.
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]
    use super::*;
    use crate::test_vectors::*;

    /// RFC 7638 §3.1: the example RSA key (with its `alg` and `kid`, which
    /// must not affect the thumbprint).
    #[test]
    fn rfc7638_rsa_thumbprint() {
        let jwk = Jwk {
            kty: "RSA".into(),
            n: Some(RFC7638_N.into()),
            e: Some("AQAB".into()),
            alg: Some("RS256".into()),
            kid: Some("2011-04-29".into()),
            ..Jwk::default()
        };
        assert_eq!(jwk.thumbprint().unwrap(), RFC7638_THUMBPRINT);
    }

    /// RFC 8037 A.3: the Ed25519 key's thumbprint.
    #[test]
    fn rfc8037_okp_thumbprint() {
        assert_eq!(rfc8037_public_jwk().thumbprint().unwrap(), RFC8037_THUMBPRINT);
        let mut other = rfc8037_public_jwk();
        other.x = Some(A3_X.into());
        assert_ne!(other.thumbprint().unwrap(), RFC8037_THUMBPRINT);
    }

    #[test]
    fn thumbprint_needs_the_required_members() {
        let mut ec = a3_public_jwk();
        assert!(ec.thumbprint().is_ok());
        ec.y = None;
        assert!(ec.thumbprint().is_err());
        let mut rsa = a2_public_jwk();
        rsa.e = Some(String::new());
        assert!(rsa.thumbprint().is_err());
        let oct = Jwk { kty: "oct".into(), ..Jwk::default() };
        assert!(matches!(oct.thumbprint(), Err(CryptoError::InvalidJwk(_))));
    }

    #[test]
    fn serde_uses_jose_names_and_drops_private_members() {
        let parsed: Jwk = serde_json::from_str(&format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{A3_X}","y":"{A3_Y}","d":"{A3_D}","use":"sig","kid":"k1"}}"#
        ))
        .unwrap();
        assert_eq!(parsed.use_.as_deref(), Some("sig"));
        let json = serde_json::to_string(&parsed).unwrap();
        assert!(json.contains(r#""use":"sig""#), "{json}");
        assert!(!json.contains(A3_D) && !json.contains("\"d\""), "{json}");
        assert!(!json.contains("null") && !json.contains("\"n\""), "{json}");
        let set = JwkSet { keys: vec![parsed] };
        let again: JwkSet = serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
        assert_eq!(again, set);
    }
}
