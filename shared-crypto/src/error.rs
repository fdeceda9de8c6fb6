//! The crate's one error type.
//!
//! Messages are written for logs and operators. They never contain key
//! material, password hashes, plaintexts or candidate passwords: an error
//! travels further (logs, traces, HTTP 500 bodies in development) than the
//! secret it was about.

use crate::jws::JwsError;

/// Everything that can go wrong in `shared-crypto`.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A password hash format or algorithm we deliberately do not support
    /// (for example Keycloak's legacy `pbkdf2`, which is PBKDF2-HMAC-SHA1).
    #[error("unsupported password hash: {0}")]
    UnsupportedHash(String),

    /// A stored or imported password hash that cannot be parsed or whose
    /// parameters are out of the range we accept.
    #[error("malformed password hash: {0}")]
    MalformedHash(String),

    /// Computing a new password hash failed (never expected with our fixed
    /// parameters; kept as an error rather than a panic).
    #[error("password hashing failed: {0}")]
    Hashing(String),

    /// A private key that could not be parsed, or does not match the
    /// algorithm it was declared for.
    #[error("invalid signing key: {0}")]
    InvalidKey(String),

    /// A JWK that is missing members or has members of the wrong shape.
    #[error("invalid JWK: {0}")]
    InvalidJwk(String),

    /// A master key that is not exactly 32 bytes of standard base64.
    #[error("invalid master key: {0}")]
    InvalidMasterKey(&'static str),

    /// A sealed value could not be opened. Deliberately one variant for
    /// every cause (wrong key, wrong associated data, tampering, garbage) so
    /// that callers cannot build a decryption oracle out of the distinction.
    #[error("sealed value could not be opened")]
    Unseal,

    /// An algorithm name we do not implement.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),

    /// JWS verification failed.
    #[error(transparent)]
    Jws(#[from] JwsError),
}
