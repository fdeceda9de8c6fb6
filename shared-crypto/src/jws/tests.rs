#![cfg_attr(test, allow(clippy::unwrap_used))]

use super::*;
use crate::test_vectors::*;
use rand_core::{OsRng, RngCore};

fn set(keys: Vec<Jwk>) -> JwkSet {
    JwkSet { keys }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

const ALL: [Algorithm; 3] = [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA];

/// RFC 7515 A.2.2: the published RS256 JWS verifies with the published key.
#[test]
fn rfc7515_a2_verifies() {
    let token = format!("{A2_SIGNING_INPUT}.{A2_SIGNATURE}");
    assert!(token.contains(RFC7515_PAYLOAD_B64));
    let verified = verify(&token, &set(vec![a2_public_jwk()]), &[Algorithm::RS256]).unwrap();
    assert_eq!(verified.payload, RFC7515_PAYLOAD);
    assert_eq!(verified.header, Header { alg: Algorithm::RS256, kid: None, typ: None });
    // Our own signer, with the same key, produces tokens that verify too.
    let ours = sign(&a2_key(), Some("JWT"), RFC7515_PAYLOAD);
    let mut jwk = a2_public_jwk();
    jwk.kid = Some(a2_key().kid().to_owned());
    assert!(verify(&ours, &set(vec![jwk]), &[Algorithm::RS256]).is_ok());
}

/// RFC 7515 A.3.2: the published ES256 JWS verifies; A.3 key sign+verify.
#[test]
fn rfc7515_a3_verifies_and_roundtrips() {
    let keys = set(vec![a3_public_jwk()]);
    let verified = verify(A3_COMPACT, &keys, &[Algorithm::ES256]).unwrap();
    assert_eq!(verified.payload, RFC7515_PAYLOAD);

    let key = a3_key();
    let token = sign(&key, Some("JWT"), RFC7515_PAYLOAD);
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(header).unwrap(),
        format!(r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#, key.kid())
    );
    // Signed with kid; the RFC's JWK has none, so publish ours.
    let verified = verify(&token, &set(vec![key.public_jwk()]), &[Algorithm::ES256]).unwrap();
    assert_eq!(verified.payload, RFC7515_PAYLOAD);
    assert_eq!(verified.header.kid.as_deref(), Some(key.kid()));
    assert_eq!(verified.header.typ.as_deref(), Some("JWT"));
}

/// RFC 8037 A.5: the published EdDSA JWS verifies with the A.2 public key.
#[test]
fn rfc8037_a5_verifies() {
    let token = format!("{RFC8037_SIGNING_INPUT}.{RFC8037_SIGNATURE}");
    let verified = verify(&token, &set(vec![rfc8037_public_jwk()]), &[Algorithm::EdDSA]).unwrap();
    assert_eq!(verified.payload, RFC8037_PAYLOAD);
    // typ omitted when None.
    let ours = sign(&rfc8037_key(), None, RFC8037_PAYLOAD);
    let header = URL_SAFE_NO_PAD.decode(ours.split('.').next().unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(header).unwrap(),
        format!(r#"{{"alg":"EdDSA","kid":"{RFC8037_THUMBPRINT}"}}"#)
    );
}

#[test]
fn tampering_is_a_bad_signature() {
    let keys = set(vec![a3_public_jwk()]);
    let (input, signature) = A3_COMPACT.rsplit_once('.').unwrap();
    let mut raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
    raw[10] ^= 1;
    let bad = format!("{input}.{}", b64(&raw));
    assert_eq!(verify(&bad, &keys, &ALL), Err(JwsError::BadSignature));

    let other_payload = format!("eyJhbGciOiJFUzI1NiJ9.{}.{signature}", b64(b"{\"iss\":\"eve\"}"));
    assert_eq!(verify(&other_payload, &keys, &ALL), Err(JwsError::BadSignature));
    // Empty signature.
    assert_eq!(verify(&format!("{input}."), &keys, &ALL), Err(JwsError::BadSignature));
}

#[test]
fn alg_none_and_unknown_algs_are_rejected() {
    let keys = set(vec![a3_public_jwk(), a2_public_jwk(), rfc8037_public_jwk()]);
    let payload = b64(RFC7515_PAYLOAD);
    for alg in ["none", "None", "NONE"] {
        let token = format!("{}.{payload}.", b64(format!(r#"{{"alg":"{alg}"}}"#).as_bytes()));
        assert_eq!(verify(&token, &keys, &ALL), Err(JwsError::AlgNone));
    }
    // HS256 "signed" with the RSA public key as HMAC secret: never considered.
    let token = format!("{}.{payload}.AAAA", b64(br#"{"alg":"HS256"}"#));
    assert_eq!(verify(&token, &keys, &ALL), Err(JwsError::UnsupportedAlg("HS256".into())));
    // A valid token whose algorithm the caller did not allow.
    assert_eq!(
        verify(A3_COMPACT, &keys, &[Algorithm::RS256, Algorithm::EdDSA]),
        Err(JwsError::AlgNotAllowed(Algorithm::ES256))
    );
    assert_eq!(verify(A3_COMPACT, &keys, &[]), Err(JwsError::AlgNotAllowed(Algorithm::ES256)));
}

#[test]
fn key_selection() {
    let ec = SigningKey::generate(Algorithm::ES256).unwrap();
    let ec2 = SigningKey::generate(Algorithm::ES256).unwrap();
    let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let token = sign(&ec, None, b"{}");

    // Unknown kid.
    assert_eq!(
        verify(&token, &set(vec![ec2.public_jwk()]), &ALL),
        Err(JwsError::UnknownKid(ec.kid().to_owned()))
    );
    // kid names a key of another type.
    let mut wrong_type = ed.public_jwk();
    wrong_type.kid = Some(ec.kid().to_owned());
    assert_eq!(verify(&token, &set(vec![wrong_type]), &ALL), Err(JwsError::KeyMismatch));
    // kid names the right key, but it declares another alg or use.
    let mut other_alg = ec.public_jwk();
    other_alg.alg = Some("ES384".into());
    assert_eq!(verify(&token, &set(vec![other_alg]), &ALL), Err(JwsError::KeyMismatch));
    let mut enc = ec.public_jwk();
    enc.use_ = Some("enc".into());
    assert_eq!(verify(&token, &set(vec![enc]), &ALL), Err(JwsError::KeyMismatch));
    // The right key among others.
    let keys = set(vec![ed.public_jwk(), ec2.public_jwk(), ec.public_jwk()]);
    assert!(verify(&token, &keys, &ALL).is_ok());

    // Without kid: every key that fits the alg is tried, and only those.
    let input = format!("{}.{}", b64(br#"{"alg":"ES256"}"#), b64(b"{}"));
    let no_kid = format!("{input}.{}", b64(&ec.sign(input.as_bytes())));
    assert!(verify(&no_kid, &keys, &ALL).is_ok());
    assert_eq!(verify(&no_kid, &set(vec![ec2.public_jwk()]), &ALL), Err(JwsError::BadSignature));
    assert_eq!(
        verify(&no_kid, &set(vec![ed.public_jwk(), a2_public_jwk()]), &ALL),
        Err(JwsError::NoKey(Algorithm::ES256))
    );
    assert_eq!(verify(&no_kid, &JwkSet::default(), &ALL), Err(JwsError::NoKey(Algorithm::ES256)));
}

#[test]
fn crit_headers_are_rejected() {
    let key = a3_key();
    let header = b64(format!(r#"{{"alg":"ES256","kid":"{}","crit":["exp"],"exp":1}}"#, key.kid()).as_bytes());
    let input = format!("{header}.{}", b64(b"{}"));
    let token = format!("{input}.{}", b64(&key.sign(input.as_bytes())));
    assert_eq!(verify(&token, &set(vec![key.public_jwk()]), &ALL), Err(JwsError::Crit));
}

#[test]
fn malformed_structure_and_encoding() {
    let keys = set(vec![a3_public_jwk()]);
    let (h, rest) = A3_COMPACT.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let cases = [
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.x"),
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}=.{s}"),
        format!("{h}.{p}.{s}=="),
        format!("{h}.{p}.{}", s.replace('-', "+")),
        format!(" {h}.{p}.{s}"),
        format!("{}.{p}.{s}", b64(b"[]")),
        format!("{}.{p}.{s}", b64(b"\"ES256\"")),
        format!("{}.{p}.{s}", b64(br#"{"alg":256}"#)),
        format!("{}.{p}.{s}", b64(br#"{"alg":"ES256","alg":"ES256"}"#)),
        format!("{}.{p}.{s}", b64(br#"{"alg":"ES256""#)),
        format!("{}.{p}.{s}", b64(&[0xff, 0xfe])),
    ];
    for token in cases {
        let result = verify(&token, &keys, &ALL);
        assert!(matches!(result, Err(JwsError::Malformed(_))), "{token:.80}: {result:?}");
    }
    // Deeply nested JSON in an ignored member: parsed without recursion
    // (no stack overflow), then the signature simply does not match.
    let deep = format!(r#"{{"alg":"ES256","x":{}1{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        verify(&format!("{}.{p}.{s}", b64(deep.as_bytes())), &keys, &ALL),
        Err(JwsError::BadSignature)
    );
}

/// Random and random-but-well-formed garbage: always an error, never a panic.
#[test]
fn garbage_never_panics() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = set(vec![key.public_jwk(), a2_public_jwk(), rfc8037_public_jwk()]);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\":,\\\0\xff";
    for _ in 0..3000 {
        let len = (OsRng.next_u32() % 200) as usize;
        let bytes: Vec<u8> =
            (0..len).map(|_| alphabet[(OsRng.next_u32() as usize) % alphabet.len()]).collect();
        let token = String::from_utf8_lossy(&bytes);
        assert!(verify(&token, &keys, &ALL).is_err());

        let part = |max: u32| {
            let mut buf = vec![0u8; (OsRng.next_u32() % max) as usize];
            OsRng.fill_bytes(&mut buf);
            b64(&buf)
        };
        let token = format!("{}.{}.{}", part(64), part(64), part(300));
        assert!(verify(&token, &keys, &ALL).is_err());
    }
    // Real headers naming our key, random signatures of every plausible size.
    for alg in ALL {
        for len in [0, 1, 63, 64, 65, 255, 256, 257, 512] {
            let mut sig = vec![0u8; len];
            OsRng.fill_bytes(&mut sig);
            let header = b64(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, key.kid()).as_bytes());
            let token = format!("{header}.{}.{}", b64(b"{}"), b64(&sig));
            assert!(verify(&token, &keys, &ALL).is_err());
            let header = b64(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
            let token = format!("{header}.{}.{}", b64(b"{}"), b64(&sig));
            assert!(verify(&token, &keys, &ALL).is_err());
        }
    }
    // Keys with broken members do not panic either.
    let broken = set(vec![
        Jwk { kty: "EC".into(), crv: Some("P-256".into()), x: Some("!!".into()), y: None, ..Jwk::default() },
        Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(b64(&[1; 32])),
            y: Some(b64(&[2; 32])),
            ..Jwk::default()
        },
        Jwk { kty: "RSA".into(), n: Some(b64(&[0; 256])), e: Some(b64(&[0])), ..Jwk::default() },
        Jwk { kty: "RSA".into(), n: Some(String::new()), e: Some(String::new()), ..Jwk::default() },
        Jwk { kty: "OKP".into(), crv: Some("Ed25519".into()), x: Some(b64(&[0; 31])), ..Jwk::default() },
    ]);
    for token in [
        A3_COMPACT.to_owned(),
        format!("{A2_SIGNING_INPUT}.{A2_SIGNATURE}"),
        format!("{RFC8037_SIGNING_INPUT}.{RFC8037_SIGNATURE}"),
    ] {
        assert_eq!(verify(&token, &broken, &ALL), Err(JwsError::BadSignature));
    }
}
