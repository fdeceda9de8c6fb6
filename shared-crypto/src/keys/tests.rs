#![cfg_attr(test, allow(clippy::unwrap_used))]

use super::*;
use crate::test_vectors::*;

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

#[test]
fn algorithm_names() {
    for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA] {
        assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
        assert_eq!(alg.to_string(), alg.as_str());
        assert_eq!(serde_json::to_string(&alg).unwrap(), format!("\"{}\"", alg.as_str()));
    }
    for bad in ["none", "es256", "HS256", "", "EdDSA "] {
        assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
    }
}

/// RFC 7515 A.2: RSASSA-PKCS1-v1_5 is deterministic, so signing the
/// published signing input with the published key must give the published
/// signature byte for byte.
#[test]
fn rfc7515_a2_exact_rs256_signature() {
    let key = a2_key();
    let jwk = key.public_jwk();
    assert_eq!(jwk.n.as_deref(), Some(A2_N));
    assert_eq!(jwk.e.as_deref(), Some(A2_E));
    let signature = key.sign(A2_SIGNING_INPUT.as_bytes());
    assert_eq!(signature.len(), 256);
    assert_eq!(signature, b64(A2_SIGNATURE));
}

/// RFC 8037 A.4: Ed25519 is deterministic; A.3: the key's thumbprint.
#[test]
fn rfc8037_a4_exact_ed25519_signature_and_kid() {
    let key = rfc8037_key();
    assert_eq!(key.public_jwk().x.as_deref(), Some(RFC8037_X));
    assert_eq!(key.kid(), RFC8037_THUMBPRINT);
    assert_eq!(key.sign(RFC8037_SIGNING_INPUT.as_bytes()), b64(RFC8037_SIGNATURE));
}

/// RFC 7515 A.3: the published private key loads and derives the published
/// public point (ECDSA signatures are randomized; see the JWS tests).
#[test]
fn rfc7515_a3_key_loads() {
    let key = a3_key();
    let jwk = key.public_jwk();
    assert_eq!(jwk.x.as_deref(), Some(A3_X));
    assert_eq!(jwk.y.as_deref(), Some(A3_Y));
    assert_eq!(key.sign(b"x").len(), 64);
}

#[test]
fn generate_export_import() {
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        let key = SigningKey::generate(alg).unwrap();
        assert_eq!(key.alg(), alg);
        let jwk = key.public_jwk();
        assert_eq!(jwk.kid.as_deref(), Some(key.kid()));
        assert_eq!(jwk.thumbprint().unwrap(), key.kid());
        assert_eq!(jwk.alg.as_deref(), Some(alg.as_str()));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        assert_eq!(jwk.kty, alg.kty());

        let again = SigningKey::from_pkcs8_der(alg, &key.to_pkcs8_der()).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.public_jwk(), jwk);

        // Another algorithm's loader refuses the key.
        for other in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
            if other != alg {
                assert!(SigningKey::from_pkcs8_der(other, &key.to_pkcs8_der()).is_err());
            }
        }
    }
    assert_ne!(
        SigningKey::generate(Algorithm::ES256).unwrap().kid(),
        SigningKey::generate(Algorithm::ES256).unwrap().kid()
    );
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        assert!(SigningKey::from_pkcs8_der(alg, b"").is_err());
        assert!(SigningKey::from_pkcs8_der(alg, &[0x30; 100]).is_err());
    }
}

#[test]
fn debug_shows_no_private_material() {
    let cases = [(a2_key(), A2_D), (a3_key(), A3_D), (rfc8037_key(), RFC8037_D)];
    for (key, d) in cases {
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()) && shown.contains(key.alg().as_str()));
        let der = key.to_pkcs8_der();
        let private = b64(d);
        for needle in [
            d[..16].to_owned(),
            hex::encode(&private[..8]),
            format!("{:?}", &private[..4]),
            URL_SAFE_NO_PAD.encode(&der[..24]),
            hex::encode(&der[der.len() - 8..]),
        ] {
            assert!(!shown.contains(&needle), "{shown} contains {needle}");
        }
        assert!(shown.len() < 120, "{shown}");
    }
}

/// Measures signing speed. Run in release:
/// `cargo test -p shared-crypto --release -- --ignored --nocapture signing_speed`
#[test]
#[ignore = "benchmark; run in release with --nocapture"]
fn signing_speed() {
    let payload = br#"{"iss":"https://id.example.jp/realms/kenpo","sub":"6b3f0f0e-4a5b-4c55-8e3a-0d1c2b3a4f5e","aud":"portal","exp":1900000000,"iat":1899999700,"auth_time":1899999690,"nonce":"n-0S6_WzA2Mj","at_hash":"77QmUPtjPfzWtF2AnpK9RQ","acr":"1","amr":["pwd","otp"],"sid":"08a5019c-17e1-4977-8f42-65a12843ea02"}"#;
    for (alg, n) in [(Algorithm::ES256, 20_000u32), (Algorithm::EdDSA, 20_000), (Algorithm::RS256, 500)] {
        let key = SigningKey::generate(alg).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(key.sign(std::hint::black_box(payload)));
        }
        let sign = start.elapsed() / n;
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(crate::jws::sign(&key, Some("JWT"), payload));
        }
        let token = start.elapsed() / n;
        eprintln!(
            "{alg}: sign {sign:?} ({:.0}/s), full ID token {token:?} ({:.0}/s)",
            1.0 / sign.as_secs_f64(),
            1.0 / token.as_secs_f64()
        );
    }
}
