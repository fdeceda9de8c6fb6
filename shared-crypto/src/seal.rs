//! Sealing secrets at rest with AES-256-GCM under one master key.
//!
//! Some secrets must be stored in a form we can read back: realm signing keys
//! (PKCS#8), TOTP seeds, upstream client secrets. They are sealed with a
//! [`MasterKey`] that lives outside the database (environment or a secrets
//! file), so a database dump alone reveals nothing.
//!
//! Format: `v1.<base64url(nonce(12) || ciphertext || tag(16))>`. The version
//! prefix lets us change algorithm later without guessing what a column holds.
//! Nonces are 96 random bits per message; with random nonces AES-GCM stays
//! within its bounds for about 2^32 messages per key, far beyond what a realm
//! ever seals.
//!
//! **Associated data** binds a ciphertext to its place: pass something like
//! `b"realm:42/signing-key:<kid>"`. A sealed value copied into another row or
//! realm then fails to open instead of silently being accepted there.
//!
//! Sub-keys for other purposes (for example the [`crate::SecretHasher`] key)
//! come from [`MasterKey::derive`], so there is still only one secret to
//! provision and rotate.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::CryptoError;

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The 256-bit key that seals secrets at rest. Zeroized on drop; its `Debug`
/// output is redacted.
#[derive(Clone)]
pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A fresh random key, for first-time setup and tests.
    #[must_use]
    pub fn generate() -> Self {
        Self { key: Zeroizing::new(crate::random::bytes::<32>()) }
    }

    /// Parses a key written with [`MasterKey::to_base64`]: standard base64
    /// (with padding) of exactly 32 bytes. Surrounding whitespace is ignored
    /// because keys usually arrive from files or environment variables with a
    /// trailing newline.
    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| CryptoError::InvalidMasterKey("not standard base64"))?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::InvalidMasterKey("must decode to exactly 32 bytes"))?;
        Ok(Self { key: Zeroizing::new(key) })
    }

    /// The key as standard base64, wrapped so it is not printed by accident.
    #[must_use]
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.key.as_slice()))
    }

    /// Encrypts and authenticates `plaintext`, bound to `aad`.
    ///
    /// # Panics
    /// Only if the OS random number generator fails, or the plaintext is
    /// larger than AES-GCM's 64 GiB limit.
    #[must_use]
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let nonce = crate::random::bytes::<NONCE_LEN>();
        #[expect(clippy::expect_used, reason = "AES-GCM encryption fails only for plaintexts over 64 GiB")]
        let ciphertext = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad })
            .expect("AES-256-GCM encryption of an in-memory value");
        let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(raw))
    }

    /// Opens a value made by [`MasterKey::seal`] with the same key and `aad`.
    ///
    /// Every failure (wrong key, wrong `aad`, modified or truncated data,
    /// unknown version) is the same [`CryptoError::Unseal`].
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Unseal)?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| CryptoError::Unseal)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Unseal)
    }

    /// A 32-byte sub-key for `purpose`: HMAC-SHA256(master key, purpose).
    ///
    /// Use a fixed, versioned purpose string per use, such as
    /// `"client-secret-hmac/v1"`. Different purposes give independent keys,
    /// so one sub-key leaking (or being misused) does not expose the master
    /// key or the others.
    #[must_use]
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn seal_open_roundtrip() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"totp seed", b"user:1/totp");
        assert!(sealed.starts_with("v1."));
        assert_eq!(&*key.open(&sealed, b"user:1/totp").unwrap(), b"totp seed");
        // Random nonces: sealing twice gives different ciphertexts.
        assert_ne!(sealed, key.seal(b"totp seed", b"user:1/totp"));
        // Empty plaintext works too.
        let empty = key.seal(b"", b"");
        assert!(key.open(&empty, b"").unwrap().is_empty());
    }

    #[test]
    fn wrong_aad_key_or_tampering_fail() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"secret", b"realm:1");
        assert!(matches!(key.open(&sealed, b"realm:2"), Err(CryptoError::Unseal)));
        assert!(MasterKey::generate().open(&sealed, b"realm:1").is_err());

        // Flip one bit in every position of the raw bytes: each must fail.
        let raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bad));
            assert!(key.open(&tampered, b"realm:1").is_err(), "byte {i}");
        }
        // Truncation, wrong version, garbage.
        assert!(key.open(&sealed[..sealed.len() - 2], b"realm:1").is_err());
        assert!(key.open(&sealed.replacen("v1.", "v2.", 1), b"realm:1").is_err());
        for garbage in ["", "v1.", "v1.AAAA", "v1.!!!!", "nonsense"] {
            assert!(key.open(garbage, b"").is_err());
        }
    }

    #[test]
    fn base64_roundtrip_and_validation() {
        let key = MasterKey::generate();
        let encoded = key.to_base64();
        let again = MasterKey::from_base64(&format!("{}\n", encoded.expose_secret())).unwrap();
        let sealed = key.seal(b"x", b"");
        assert_eq!(&*again.open(&sealed, b"").unwrap(), b"x");

        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([0u8; 31])).is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([0u8; 33])).is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([0u8; 32])).is_ok());
    }

    #[test]
    fn derive_separates_purposes() {
        let key = MasterKey::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let a = key.derive("client-secret-hmac/v1");
        assert_eq!(a, key.derive("client-secret-hmac/v1"));
        assert_ne!(a, key.derive("csrf/v1"));
        assert_ne!(a, MasterKey::generate().derive("client-secret-hmac/v1"));
        // Pin the construction: HMAC-SHA256(key = 32 x 0x07, "client-secret-hmac/v1").
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(b"client-secret-hmac/v1");
        assert_eq!(a.as_slice(), mac.finalize().into_bytes().as_slice());
    }

    #[test]
    fn debug_is_redacted() {
        let key = MasterKey::from_base64(&STANDARD.encode([0xABu8; 32])).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "MasterKey(<redacted>)");
        assert!(!shown.contains(&STANDARD.encode([0xABu8; 32])));
    }
}
