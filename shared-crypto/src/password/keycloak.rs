//! Importing password credentials from a Keycloak realm export.
//!
//! Keycloak keeps a password credential as two JSON strings:
//! `secretData` (`{"value":"<base64 hash>","salt":"<base64 salt>",…}`) and
//! `credentialData` (`{"hashIterations":27500,"algorithm":"pbkdf2-sha256",
//! "additionalParameters":{}}`). We convert them once, at import, into a
//! [`StoredPassword`] so that verification never has to know about Keycloak.
//!
//! Every parameter is range-checked here, because an imported hash's
//! parameters decide how much CPU and memory each later login attempt costs.

use argon2::Params;
use argon2::password_hash::PasswordHash;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::Deserialize;

use super::{
    MAX_ARGON2_M_COST, MAX_ARGON2_P_COST, MAX_ARGON2_T_COST, MAX_PBKDF2_ITERATIONS, Pbkdf2Alg, StoredPassword,
};
use crate::CryptoError;

/// Keycloak's `secretData`: `{"value":"<b64 hash>","salt":"<b64 salt>",…}`.
#[derive(Deserialize)]
struct KeycloakSecret {
    value: String,
    salt: String,
}

/// Keycloak's `credentialData`:
/// `{"hashIterations":27500,"algorithm":"pbkdf2-sha256","additionalParameters":{}}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeycloakCredential {
    hash_iterations: i64,
    algorithm: String,
    #[serde(default)]
    additional_parameters: serde_json::Map<String, serde_json::Value>,
}

/// Converts a Keycloak password credential, as found in a realm export
/// (`credentials[].secretData` and `credentials[].credentialData`, each a
/// JSON string), into a [`StoredPassword`].
///
/// Supported algorithms: `pbkdf2` (Keycloak's legacy provider, PBKDF2-HMAC-SHA1),
/// `pbkdf2-sha256`, `pbkdf2-sha512` (derived key length = length of the stored
/// hash) and `argon2` (Keycloak 24+, converted to an equivalent PHC string;
/// `hashIterations` is Argon2's `t`). Anything else is
/// [`CryptoError::UnsupportedHash`]: such users need a password reset.
pub fn from_keycloak(secret_data: &str, credential_data: &str) -> Result<StoredPassword, CryptoError> {
    let secret: KeycloakSecret = serde_json::from_str(secret_data)
        .map_err(|e| CryptoError::MalformedHash(format!("Keycloak secretData: {e}")))?;
    let credential: KeycloakCredential = serde_json::from_str(credential_data)
        .map_err(|e| CryptoError::MalformedHash(format!("Keycloak credentialData: {e}")))?;
    let hash = decode_keycloak_b64(&secret.value, "value")?;
    let salt = decode_keycloak_b64(&secret.salt, "salt")?;
    let iterations = u32::try_from(credential.hash_iterations).ok().filter(|&i| i > 0).ok_or_else(|| {
        CryptoError::MalformedHash(format!("hashIterations {} out of range", credential.hash_iterations))
    })?;

    let pbkdf2 = |algorithm| -> Result<StoredPassword, CryptoError> {
        if iterations > MAX_PBKDF2_ITERATIONS {
            return Err(CryptoError::MalformedHash(format!(
                "{iterations} PBKDF2 iterations exceeds the limit of {MAX_PBKDF2_ITERATIONS}"
            )));
        }
        if !(16..=128).contains(&hash.len()) || salt.is_empty() || salt.len() > 1024 {
            return Err(CryptoError::MalformedHash(
                "PBKDF2 hash must be 16..=128 bytes with a non-empty salt".to_owned(),
            ));
        }
        Ok(StoredPassword::Pbkdf2 { algorithm, iterations, salt: salt.clone(), hash: hash.clone() })
    };

    match credential.algorithm.as_str() {
        "pbkdf2-sha256" => pbkdf2(Pbkdf2Alg::Sha256),
        "pbkdf2-sha512" => pbkdf2(Pbkdf2Alg::Sha512),
        "pbkdf2" => pbkdf2(Pbkdf2Alg::Sha1),
        "argon2" => keycloak_argon2(&credential.additional_parameters, iterations, &salt, &hash),
        other => Err(CryptoError::UnsupportedHash(format!("Keycloak password algorithm '{other}'"))),
    }
}

/// Builds `$argon2<type>$v=<19|16>$m=..,t=..,p=..$<salt>$<hash>` from
/// Keycloak's Argon2 parameters (stored as `{"memory":["7168"],…}`).
fn keycloak_argon2(
    extra: &serde_json::Map<String, serde_json::Value>,
    t_cost: u32,
    salt: &[u8],
    hash: &[u8],
) -> Result<StoredPassword, CryptoError> {
    let variant = match keycloak_param(extra, "type")?.as_str() {
        "id" => "argon2id",
        "i" => "argon2i",
        "d" => "argon2d",
        other => {
            return Err(CryptoError::UnsupportedHash(format!("Keycloak Argon2 type '{other}'")));
        }
    };
    let version = match keycloak_param(extra, "version")?.as_str() {
        "1.3" => 0x13,
        "1.0" => 0x10,
        other => {
            return Err(CryptoError::UnsupportedHash(format!("Keycloak Argon2 version '{other}'")));
        }
    };
    let number = |name: &str, max: u32| -> Result<u32, CryptoError> {
        keycloak_param(extra, name)?
            .parse::<u32>()
            .ok()
            .filter(|v| (1..=max).contains(v))
            .ok_or_else(|| CryptoError::MalformedHash(format!("Argon2 {name} out of range")))
    };
    let m_cost = number("memory", MAX_ARGON2_M_COST)?;
    let p_cost = number("parallelism", MAX_ARGON2_P_COST)?;
    if t_cost > MAX_ARGON2_T_COST {
        return Err(CryptoError::MalformedHash("Argon2 iterations out of range".to_owned()));
    }
    // Argon2 needs a salt of at least 8 bytes; PHC strings hold at most 48
    // salt bytes and 10..=64 tag bytes.
    if !(8..=48).contains(&salt.len()) || !(10..=64).contains(&hash.len()) {
        return Err(CryptoError::MalformedHash(
            "Argon2 salt must be 8..=48 bytes and hash 10..=64 bytes".to_owned(),
        ));
    }
    if extra.contains_key("hashLength") && number("hashLength", 64)? as usize != hash.len() {
        return Err(CryptoError::MalformedHash(
            "Argon2 hashLength does not match the stored hash".to_owned(),
        ));
    }
    let phc = format!(
        "${variant}$v={version}$m={m_cost},t={t_cost},p={p_cost}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    );
    // Validate the result the same way verification will read it.
    let parsed = PasswordHash::new(&phc)
        .map_err(|e| CryptoError::MalformedHash(format!("converted Argon2 hash: {e}")))?;
    Params::try_from(&parsed)
        .map_err(|e| CryptoError::MalformedHash(format!("converted Argon2 params: {e}")))?;
    Ok(StoredPassword::Phc { phc })
}

/// Keycloak stores additional parameters as a multi-valued map
/// (`{"memory":["7168"]}`); accept a bare string or number as well.
fn keycloak_param(
    extra: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<String, CryptoError> {
    let value = match extra.get(name) {
        Some(serde_json::Value::Array(values)) => values.first(),
        other => other,
    };
    match value {
        Some(serde_json::Value::String(s)) => Ok(s.trim().to_owned()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(CryptoError::MalformedHash(format!("Keycloak Argon2 parameter '{name}' missing"))),
    }
}

fn decode_keycloak_b64(encoded: &str, what: &str) -> Result<Vec<u8>, CryptoError> {
    let encoded = encoded.trim();
    STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| CryptoError::MalformedHash(format!("Keycloak {what} is not base64")))
}

#[cfg(test)]
mod tests {
    #![cfg_attr(test, allow(clippy::unwrap_used))]
    use super::*;
    use crate::password::{PasswordCheck, verify_password};
    use argon2::{Argon2, Version};

    /// The two JSON strings of a Keycloak realm export for a PBKDF2 hash.
    fn pbkdf2_export(algorithm: &str, iterations: u32, salt: &[u8], hash_hex: &str) -> (String, String) {
        let hash = hex::decode(hash_hex.replace(' ', "")).unwrap();
        (
            format!(
                r#"{{"value":"{}","salt":"{}","additionalParameters":{{}}}}"#,
                STANDARD.encode(hash),
                STANDARD.encode(salt)
            ),
            format!(
                r#"{{"hashIterations":{iterations},"algorithm":"{algorithm}","additionalParameters":{{}}}}"#
            ),
        )
    }

    fn check(secret: &str, credential: &str, password: &str) {
        let stored = from_keycloak(secret, credential).unwrap();
        assert_eq!(verify_password(&stored, password), PasswordCheck::Match { needs_rehash: true });
        assert_eq!(verify_password(&stored, &format!("{password}x")), PasswordCheck::Mismatch);
        assert_eq!(verify_password(&stored, ""), PasswordCheck::Mismatch);
    }

    /// RFC 7914 §11, PBKDF2-HMAC-SHA-256 (P="passwd", S="salt", c=1, dkLen=64).
    #[test]
    fn rfc7914_pbkdf2_sha256_c1() {
        let (secret, credential) = pbkdf2_export(
            "pbkdf2-sha256",
            1,
            b"salt",
            "55 ac 04 6e 56 e3 08 9f ec 16 91 c2 25 44 b6 05 \
             f9 41 85 21 6d de 04 65 e6 8b 9d 57 c2 0d ac bc \
             49 ca 9c cc f1 79 b6 45 99 16 64 b3 9d 77 ef 31 \
             7c 71 b8 45 b1 e3 0b d5 09 11 20 41 d3 a1 97 83",
        );
        let stored = from_keycloak(&secret, &credential).unwrap();
        assert!(matches!(
            &stored,
            StoredPassword::Pbkdf2 { algorithm: Pbkdf2Alg::Sha256, iterations: 1, salt, hash }
                if salt == b"salt" && hash.len() == 64
        ));
        check(&secret, &credential, "passwd");
    }

    /// RFC 7914 §11, PBKDF2-HMAC-SHA-256 (P="Password", S="NaCl", c=80000, dkLen=64).
    #[test]
    fn rfc7914_pbkdf2_sha256_c80000() {
        let (secret, credential) = pbkdf2_export(
            "pbkdf2-sha256",
            80_000,
            b"NaCl",
            "4d dc d8 f6 0b 98 be 21 83 0c ee 5e f2 27 01 f9 \
             64 1a 44 18 d0 4c 04 14 ae ff 08 87 6b 34 ab 56 \
             a1 d4 25 a1 22 58 33 54 9a db 84 1b 51 c9 b3 17 \
             6a 27 2b de bb a1 d0 78 47 8f 62 b3 97 f3 3c 8d",
        );
        check(&secret, &credential, "Password");
    }

    /// PBKDF2-HMAC-SHA512 (P="password", S="salt", c=1, dkLen=64). No RFC
    /// publishes SHA-512 vectors; this is the widely used community vector
    /// (the same value `hashlib.pbkdf2_hmac('sha512', …)` gives).
    #[test]
    fn pbkdf2_sha512_vector() {
        let (secret, credential) = pbkdf2_export(
            "pbkdf2-sha512",
            1,
            b"salt",
            "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252\
             c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce",
        );
        check(&secret, &credential, "password");
        // The same bytes under the wrong PRF must not verify.
        let wrong = credential.replace("pbkdf2-sha512", "pbkdf2-sha256");
        let stored = from_keycloak(&secret, &wrong).unwrap();
        assert_eq!(verify_password(&stored, "password"), PasswordCheck::Mismatch);
    }

    /// RFC 6070 §2, PBKDF2-HMAC-SHA1: Keycloak's legacy `pbkdf2` provider.
    #[test]
    fn rfc6070_pbkdf2_sha1() {
        let vectors: [(&str, &[u8], u32, &str); 4] = [
            ("password", b"salt", 1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
            ("password", b"salt", 4096, "4b007901b765489abead49d926f721d065a429c1"),
            (
                "passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                4096,
                "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
            ),
            ("pass\0word", b"sa\0lt", 4096, "56fa6aa75548099dcc37d7f03425e0c3"),
        ];
        for (password, salt, iterations, hash) in vectors {
            let (secret, credential) = pbkdf2_export("pbkdf2", iterations, salt, hash);
            let stored = from_keycloak(&secret, &credential).unwrap();
            assert!(matches!(stored, StoredPassword::Pbkdf2 { algorithm: Pbkdf2Alg::Sha1, .. }));
            check(&secret, &credential, password);
        }
        // The same bytes under another PRF do not verify.
        let (secret, credential) =
            pbkdf2_export("pbkdf2-sha256", 1, b"salt", "0c60c80f961f0e71f3a9b524af6012062fe037a6");
        let stored = from_keycloak(&secret, &credential).unwrap();
        assert_eq!(verify_password(&stored, "password"), PasswordCheck::Mismatch);
    }

    #[test]
    fn unknown_algorithms_are_unsupported() {
        let (secret, credential) = pbkdf2_export("bcrypt", 10, b"salt", &"00".repeat(64));
        assert!(matches!(from_keycloak(&secret, &credential), Err(CryptoError::UnsupportedHash(_))));
    }

    /// Keycloak 24+ Argon2 with its defaults (id, 1.3, m=7168, t=5, p=1,
    /// 32-byte hash). No published Keycloak export vector exists, so the hash
    /// is computed here with the reference parameters.
    #[test]
    fn keycloak_argon2_becomes_equivalent_phc() {
        let salt = [0x42u8; 16];
        let params = Params::new(7168, 5, 1, Some(32)).unwrap();
        let mut hash = [0u8; 32];
        Argon2::new(argon2::Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(b"kenpo-pass", &salt, &mut hash)
            .unwrap();
        let secret = format!(
            r#"{{"value":"{}","salt":"{}","additionalParameters":{{}}}}"#,
            STANDARD.encode(hash),
            STANDARD.encode(salt)
        );
        let credential = r#"{"hashIterations":5,"algorithm":"argon2","additionalParameters":{"hashLength":["32"],"memory":["7168"],"type":["id"],"version":["1.3"],"parallelism":["1"]}}"#;
        let stored = from_keycloak(&secret, credential).unwrap();
        assert_eq!(
            stored,
            StoredPassword::Phc {
                phc: format!(
                    "$argon2id$v=19$m=7168,t=5,p=1${}${}",
                    STANDARD_NO_PAD.encode(salt),
                    STANDARD_NO_PAD.encode(hash)
                )
            }
        );
        assert_eq!(verify_password(&stored, "kenpo-pass"), PasswordCheck::Match { needs_rehash: true });
        assert_eq!(verify_password(&stored, "kenpo-pasS"), PasswordCheck::Mismatch);

        // Type and version are carried over, not assumed.
        let argon2i = credential
            .replace(r#""type":["id"]"#, r#""type":["i"]"#)
            .replace(r#""version":["1.3"]"#, r#""version":["1.0"]"#);
        let StoredPassword::Phc { phc } = from_keycloak(&secret, &argon2i).unwrap() else {
            panic!("expected PHC");
        };
        assert!(phc.starts_with("$argon2i$v=16$m=7168,t=5,p=1$"), "{phc}");
    }

    #[test]
    fn malformed_or_dangerous_imports_are_rejected() {
        let (secret, credential) = pbkdf2_export("pbkdf2-sha256", 1, b"salt", &"11".repeat(32));
        assert!(from_keycloak("not json", &credential).is_err());
        assert!(from_keycloak(&secret, "{}").is_err());
        assert!(from_keycloak(r#"{"value":"***","salt":"c2FsdA=="}"#, &credential).is_err());
        for iterations in ["0", "-1", "4294967296", "20000000"] {
            let bad =
                credential.replace(r#""hashIterations":1"#, &format!(r#""hashIterations":{iterations}"#));
            assert!(from_keycloak(&secret, &bad).is_err(), "{iterations}");
        }
        // Too-short derived key.
        let (short, cred) = pbkdf2_export("pbkdf2-sha256", 1, b"salt", "0011");
        assert!(from_keycloak(&short, &cred).is_err());

        let argon_secret = format!(
            r#"{{"value":"{}","salt":"{}"}}"#,
            STANDARD.encode([1u8; 32]),
            STANDARD.encode([2u8; 16])
        );
        let argon = |params: &str, t: u32| {
            format!(r#"{{"hashIterations":{t},"algorithm":"argon2","additionalParameters":{{{params}}}}}"#)
        };
        let ok = r#""memory":["7168"],"type":["id"],"version":["1.3"],"parallelism":["1"]"#;
        assert!(from_keycloak(&argon_secret, &argon(ok, 5)).is_ok());
        for bad in [
            r#""memory":["4194304"],"type":["id"],"version":["1.3"],"parallelism":["1"]"#,
            r#""memory":["7168"],"type":["x"],"version":["1.3"],"parallelism":["1"]"#,
            r#""memory":["7168"],"type":["id"],"version":["2.0"],"parallelism":["1"]"#,
            r#""memory":["7168"],"type":["id"],"version":["1.3"]"#,
            r#""memory":["7168"],"type":["id"],"version":["1.3"],"parallelism":["1"],"hashLength":["64"]"#,
        ] {
            assert!(from_keycloak(&argon_secret, &argon(bad, 5)).is_err(), "{bad}");
        }
        assert!(from_keycloak(&argon_secret, &argon(ok, 1000)).is_err());
        let short_salt =
            format!(r#"{{"value":"{}","salt":"{}"}}"#, STANDARD.encode([1u8; 32]), STANDARD.encode([2u8; 6]));
        assert!(from_keycloak(&short_salt, &argon(ok, 5)).is_err());
    }
}
