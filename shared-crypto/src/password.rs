//! Password hashing: Argon2id for everything we write, plus the formats we
//! import from Keycloak.
//!
//! **New hashes** are Argon2id with the OWASP Password Storage Cheat Sheet
//! parameters (m = 19 MiB, t = 2, p = 1), a 32-byte tag and a 16-byte random
//! salt, stored as a standard PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
//! PHC strings carry their own parameters, so raising them later only changes
//! the constants here.
//!
//! **Imported hashes** keep working: PBKDF2-HMAC-SHA1/256/512 and Argon2 hashes
//! exported from Keycloak ([`from_keycloak`]). [`verify_password`] reports
//! `needs_rehash: true` for anything that is not exactly our current Argon2id
//! setting, so the login handler re-hashes the password it just verified and
//! old formats disappear as users log in, without a forced reset.
//!
//! **Timing.** Tags are compared in constant time, and [`verify_dummy`] does
//! the same Argon2 work for a user that does not exist, so "unknown user" and
//! "wrong password" take the same time and cannot be told apart by a
//! stopwatch. (Users whose imported hash still has Keycloak's cheaper
//! parameters are faster until their first login re-hashes them.)
//!
//! **Limits on parameters** (Argon2 memory ≤ 1 GiB, t ≤ 64, p ≤ 16; PBKDF2
//! ≤ 10 million iterations) are enforced at import and again at
//! verification, because a hash's parameters decide how much work each
//! login attempt costs us: a bad import or row with `m` = 4 GiB must not
//! turn every login into a denial of service.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

use crate::CryptoError;

mod keycloak;
pub use keycloak::from_keycloak;

/// Argon2 memory cost in KiB (19 MiB, OWASP).
pub const ARGON2_M_COST: u32 = 19_456;
/// Argon2 iterations (OWASP).
pub const ARGON2_T_COST: u32 = 2;
/// Argon2 lanes (OWASP).
pub const ARGON2_P_COST: u32 = 1;
/// Argon2 tag length in bytes.
pub const ARGON2_OUTPUT_LEN: usize = 32;
/// Salt length in bytes for new hashes.
pub const SALT_LEN: usize = 16;

/// Largest Argon2 memory cost (KiB) we will run: 1 GiB.
const MAX_ARGON2_M_COST: u32 = 1 << 20;
/// Largest Argon2 iteration count we will run.
const MAX_ARGON2_T_COST: u32 = 64;
/// Largest Argon2 lane count we will run.
const MAX_ARGON2_P_COST: u32 = 16;
/// Largest PBKDF2 iteration count we will run (Keycloak's default is 27,500;
/// OWASP's current PBKDF2-SHA256 advice is 600,000).
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Checked at compile time: `Params::new` is a `const fn`.
const CURRENT_PARAMS: Params =
    match Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, Some(ARGON2_OUTPUT_LEN)) {
        Ok(params) => params,
        Err(_) => panic!("invalid Argon2 parameters"),
    };

fn current_argon2() -> Argon2<'static> {
    Argon2::new(argon2::Algorithm::Argon2id, Version::V0x13, CURRENT_PARAMS)
}

/// The PRF of an imported PBKDF2 hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pbkdf2Alg {
    /// PBKDF2-HMAC-SHA1 (Keycloak's legacy `pbkdf2` provider, the default of old versions).
    /// Weak by today's measure, which is why a login re-hashes it at once.
    #[serde(rename = "pbkdf2")]
    Sha1,
    /// PBKDF2-HMAC-SHA256 (Keycloak `pbkdf2-sha256`, its default before 24).
    #[serde(rename = "pbkdf2-sha256")]
    Sha256,
    /// PBKDF2-HMAC-SHA512 (Keycloak `pbkdf2-sha512`).
    #[serde(rename = "pbkdf2-sha512")]
    Sha512,
}

/// A password hash as stored in the database (as JSON).
///
/// `Debug` shows the scheme and parameters but never the salt or hash: a
/// hash in a log is an offline cracking target.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum StoredPassword {
    /// A PHC string; today always Argon2 (`$argon2id$…`, or an imported
    /// `$argon2i$`/`$argon2d$`).
    Phc {
        /// The PHC string including parameters, salt and tag.
        phc: String,
    },
    /// An imported PBKDF2 hash. The derived key length is `hash.len()`.
    Pbkdf2 {
        /// The PRF.
        algorithm: Pbkdf2Alg,
        /// Iteration count.
        iterations: u32,
        /// Salt bytes (standard base64 in JSON).
        #[serde(with = "base64_std")]
        salt: Vec<u8>,
        /// Derived key bytes (standard base64 in JSON).
        #[serde(with = "base64_std")]
        hash: Vec<u8>,
    },
}

impl std::fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Phc { phc } => {
                let (algorithm, params) = match PasswordHash::new(phc) {
                    Ok(hash) => (hash.algorithm.to_string(), hash.params.to_string()),
                    Err(_) => ("<unparseable>".to_owned(), String::new()),
                };
                f.debug_struct("Phc")
                    .field("algorithm", &algorithm)
                    .field("params", &params)
                    .field("hash", &"<redacted>")
                    .finish()
            }
            Self::Pbkdf2 { algorithm, iterations, salt, hash } => f
                .debug_struct("Pbkdf2")
                .field("algorithm", algorithm)
                .field("iterations", iterations)
                .field("salt_len", &salt.len())
                .field("hash_len", &hash.len())
                .field("hash", &"<redacted>")
                .finish(),
        }
    }
}

/// The outcome of [`verify_password`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Wrong password, or a stored hash we cannot evaluate.
    Mismatch,
    /// Right password. If `needs_rehash`, store [`hash_password`] of the
    /// candidate in place of the old hash.
    Match {
        /// The stored hash is not our current Argon2id setting.
        needs_rehash: bool,
    },
}

/// Hashes a new password with Argon2id and the current parameters.
pub fn hash_password(password: &str) -> Result<StoredPassword, CryptoError> {
    let salt = SaltString::encode_b64(&crate::random::bytes::<SALT_LEN>())
        .map_err(|e| CryptoError::Hashing(e.to_string()))?;
    let hash = current_argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| CryptoError::Hashing(e.to_string()))?;
    Ok(StoredPassword::Phc { phc: hash.to_string() })
}

/// Checks `candidate` against `stored` in constant time with respect to the
/// tag. A stored hash that cannot be parsed or evaluated is a `Mismatch`
/// (the caller should log the account id, never the hash).
#[must_use]
pub fn verify_password(stored: &StoredPassword, candidate: &str) -> PasswordCheck {
    match stored {
        StoredPassword::Phc { phc } => verify_phc(phc, candidate),
        StoredPassword::Pbkdf2 { algorithm, iterations, salt, hash } => {
            verify_pbkdf2(*algorithm, *iterations, salt, hash, candidate)
        }
    }
}

/// A hash of a random password, made on first use, that [`verify_dummy`]
/// checks against. `None` only if hashing itself failed, which cannot happen
/// with our constant parameters.
static DUMMY: LazyLock<Option<StoredPassword>> =
    LazyLock::new(|| hash_password(&crate::random::token()).ok());

/// Spends the same Argon2 work as a real verification, for logins with an
/// unknown user name, so response time does not reveal which accounts exist.
pub fn verify_dummy(candidate: &str) {
    if let Some(dummy) = DUMMY.as_ref() {
        std::hint::black_box(verify_password(dummy, candidate));
    }
}

thread_local! {
    /// Argon2's working memory (19 MiB at our parameters), kept per thread. Allocating it for
    /// every verification does not give it back anyway (glibc keeps freed blocks this large
    /// resident) and costs page faults; callers hash on a fixed set of threads, so this bounds
    /// the memory by their number. Argon2 v1.3 writes every block before reading it, so what a
    /// previous computation left is never used.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `work` with `count` reusable Argon2 blocks. An outsized imported hash's memory is
/// released afterwards, so one odd hash does not stay resident.
fn with_blocks<R>(count: usize, work: impl FnOnce(&mut [argon2::Block]) -> R) -> R {
    let usual = CURRENT_PARAMS.block_count();
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, argon2::Block::default());
        }
        let result = work(&mut blocks[..count]);
        if blocks.len() > usual {
            blocks.truncate(usual);
            blocks.shrink_to_fit();
        }
        result
    })
}

fn verify_phc(phc: &str, candidate: &str) -> PasswordCheck {
    let Ok(hash) = PasswordHash::new(phc) else {
        return PasswordCheck::Mismatch;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm) else {
        return PasswordCheck::Mismatch;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(version)) => version,
        Some(Err(_)) => return PasswordCheck::Mismatch,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return PasswordCheck::Mismatch;
    };
    if params.m_cost() > MAX_ARGON2_M_COST
        || params.t_cost() > MAX_ARGON2_T_COST
        || params.p_cost() > MAX_ARGON2_P_COST
    {
        return PasswordCheck::Mismatch;
    }
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return PasswordCheck::Mismatch;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return PasswordCheck::Mismatch;
    };
    let mut computed = Zeroizing::new(vec![0u8; expected.len()]);
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let hashed = with_blocks(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(candidate.as_bytes(), salt, &mut computed, blocks)
    });
    if hashed.is_err() {
        return PasswordCheck::Mismatch;
    }
    if !crate::ct_eq(&computed, expected.as_bytes()) {
        return PasswordCheck::Mismatch;
    }
    let current = algorithm == argon2::Algorithm::Argon2id
        && version == Version::V0x13
        && params.m_cost() == ARGON2_M_COST
        && params.t_cost() == ARGON2_T_COST
        && params.p_cost() == ARGON2_P_COST
        && params.keyid().is_empty()
        && params.data().is_empty()
        && expected.len() == ARGON2_OUTPUT_LEN
        && salt.len() >= SALT_LEN;
    PasswordCheck::Match { needs_rehash: !current }
}

fn verify_pbkdf2(
    algorithm: Pbkdf2Alg,
    iterations: u32,
    salt: &[u8],
    expected: &[u8],
    candidate: &str,
) -> PasswordCheck {
    // An empty tag would "match" anything under a length-only comparison.
    if expected.is_empty() || iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return PasswordCheck::Mismatch;
    }
    let mut computed = Zeroizing::new(vec![0u8; expected.len()]);
    match algorithm {
        Pbkdf2Alg::Sha1 => {
            pbkdf2::pbkdf2_hmac::<Sha1>(candidate.as_bytes(), salt, iterations, &mut computed);
        }
        Pbkdf2Alg::Sha256 => {
            pbkdf2::pbkdf2_hmac::<Sha256>(candidate.as_bytes(), salt, iterations, &mut computed);
        }
        Pbkdf2Alg::Sha512 => {
            pbkdf2::pbkdf2_hmac::<Sha512>(candidate.as_bytes(), salt, iterations, &mut computed);
        }
    }
    if crate::ct_eq(&computed, expected) {
        PasswordCheck::Match { needs_rehash: true }
    } else {
        PasswordCheck::Mismatch
    }
}

/// Serde helpers: `Vec<u8>` as standard base64 with padding.
mod base64_std {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let encoded = String::deserialize(deserializer)?;
        STANDARD.decode(encoded).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
