//! Random tokens and bytes, always from the operating system's CSPRNG.
//!
//! Session ids, authorization codes, refresh tokens, CSRF tokens, nonces and
//! client secrets all come from here, so there is exactly one place to audit
//! for "is this unpredictable?". We read `getrandom(2)` through
//! [`rand_core::OsRng`] on every call instead of keeping a userspace PRNG: it
//! is fast enough for token generation and has no state to fork, snapshot or
//! seed badly.
//!
//! If the OS CSPRNG fails, these functions panic: there is no safe fallback
//! for a login server that cannot make unpredictable tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};

/// The smallest number of random bytes [`token_with_bytes`] will use:
/// 16 bytes = 128 bits, the floor below which guessing becomes a question of
/// budget rather than impossibility.
pub const MIN_TOKEN_BYTES: usize = 16;

/// The default token size in bytes: 32 bytes = 256 bits of entropy.
pub const TOKEN_BYTES: usize = 32;

/// A fresh 256-bit token: 32 random bytes, base64url without padding
/// (43 characters, safe in URLs, cookies and headers without escaping).
///
/// 256 bits is twice the 128-bit minimum we require for anything that acts
/// as a bearer credential, so even a huge number of outstanding tokens
/// leaves online guessing hopeless.
#[must_use]
pub fn token() -> String {
    token_with_bytes(TOKEN_BYTES)
}

/// A token made of `n` random bytes, base64url without padding.
///
/// `n` is clamped up to [`MIN_TOKEN_BYTES`] (128 bits) rather than rejected:
/// a caller asking for a short token gets a safe one instead of a panic.
#[must_use]
pub fn token_with_bytes(n: usize) -> String {
    let mut buf = zeroize::Zeroizing::new(vec![0u8; n.max(MIN_TOKEN_BYTES)]);
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(&*buf)
}

/// `N` random bytes, for keys, salts and nonces.
#[must_use]
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn token_is_32_bytes_base64url() {
        let t = token();
        assert_eq!(t.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&t).unwrap().len(), 32);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn short_tokens_are_clamped_to_128_bits() {
        for n in [0, 1, 15] {
            assert_eq!(URL_SAFE_NO_PAD.decode(token_with_bytes(n)).unwrap().len(), 16);
        }
        assert_eq!(URL_SAFE_NO_PAD.decode(token_with_bytes(48)).unwrap().len(), 48);
    }

    #[test]
    fn tokens_and_bytes_do_not_repeat() {
        let set: HashSet<String> = (0..1000).map(|_| token()).collect();
        assert_eq!(set.len(), 1000);
        assert_ne!(bytes::<16>(), bytes::<16>());
        assert_eq!(bytes::<0>().len(), 0);
    }
}
