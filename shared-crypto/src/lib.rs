//! Cryptography shared by the kenpo IdP (`idp/`) and portal (`portal/`).
//!
//! Everything security-sensitive that both services need lives here, in one
//! place that is small enough to review:
//!
//! - [`password`]: Argon2id password hashes, verification with transparent
//!   re-hashing, and import of Keycloak credentials (PBKDF2 and Argon2).
//! - [`keys`]: realm signing keys (ES256, RS256, EdDSA), JWKs, thumbprints and
//!   the [`KeyRing`] that rotates and retires them.
//! - [`jws`]: compact JWS signing and strict verification.
//! - [`seal`]: AES-256-GCM sealing of secrets at rest under a [`MasterKey`].
//! - [`secret_hash`]: fast keyed hashes for high-entropy client secrets.
//! - [`random`]: tokens and random bytes from the OS CSPRNG.
//!
//! Two rules hold across the crate: secrets never print (every key type's
//! `Debug` is redacted), and every comparison of a secret against an attacker
//! supplied value is constant-time.

mod error;
pub mod jws;
pub mod keys;
pub mod password;
pub mod random;
pub mod seal;
pub mod secret_hash;
#[cfg(test)]
mod test_vectors;

pub use error::CryptoError;
pub use jws::{Header, JwsError, Verified};
pub use keys::{Algorithm, Jwk, JwkSet, KeyRing, SigningKey};
pub use password::{PasswordCheck, Pbkdf2Alg, StoredPassword};
pub use seal::MasterKey;
pub use secrecy::{ExposeSecret, SecretString};
pub use secret_hash::SecretHasher;

use subtle::ConstantTimeEq;

/// Compares two byte strings in time that depends only on their lengths.
///
/// Use it whenever one side is secret and the other comes from a request
/// (CSRF tokens, state values, API keys): `==` on slices stops at the first
/// differing byte and so tells an attacker how much of a guess was right.
/// Lengths are not hidden; compare fixed-length values (hashes, MACs) where
/// the length itself could matter.
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::ct_eq;

    #[test]
    fn ct_eq_compares_content_and_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(ct_eq(b"", b""));
    }

    /// Keys live in shared server state (`Arc<…>` across tokio tasks).
    #[test]
    fn key_types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<crate::SigningKey>();
        assert_send_sync::<crate::KeyRing>();
        assert_send_sync::<crate::MasterKey>();
        assert_send_sync::<crate::SecretHasher>();
        assert_send_sync::<crate::StoredPassword>();
        assert_send_sync::<crate::CryptoError>();
    }
}
