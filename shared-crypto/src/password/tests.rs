#![cfg_attr(test, allow(clippy::unwrap_used))]

use super::*;
use argon2::{AssociatedData, ParamsBuilder};

/// RFC 9106 §5.3: Argon2id, version 0x13, m = 32 KiB, t = 3, p = 4,
/// 32-byte tag, password 32 × 0x01, salt 16 × 0x02, secret 8 × 0x03,
/// associated data 12 × 0x04. Pins the Argon2 implementation we depend on.
#[test]
fn rfc9106_argon2id_test_vector() {
    let params = ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .output_len(32)
        .data(AssociatedData::new(&[0x04; 12]).unwrap())
        .build()
        .unwrap();
    let secret = [0x03u8; 8];
    let argon =
        Argon2::new_with_secret(&secret, argon2::Algorithm::Argon2id, Version::V0x13, params).unwrap();
    let mut tag = [0u8; 32];
    argon.hash_password_into(&[0x01; 32], &[0x02; 16], &mut tag).unwrap();
    assert_eq!(hex::encode(tag), "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
}

#[test]
fn hash_then_verify_current_parameters() {
    let stored = hash_password("correct horse battery staple").unwrap();
    let StoredPassword::Phc { phc } = &stored else {
        panic!("expected a PHC hash, got {stored:?}");
    };
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let parsed = PasswordHash::new(phc).unwrap();
    let mut salt = [0u8; 64];
    assert_eq!(parsed.salt.unwrap().decode_b64(&mut salt).unwrap().len(), 16);
    assert_eq!(parsed.hash.unwrap().len(), 32);

    assert_eq!(
        verify_password(&stored, "correct horse battery staple"),
        PasswordCheck::Match { needs_rehash: false }
    );
    assert_eq!(verify_password(&stored, "correct horse battery stapl"), PasswordCheck::Mismatch);
    assert_eq!(verify_password(&stored, ""), PasswordCheck::Mismatch);
    // Same password, fresh salt: a different string.
    assert_ne!(stored, hash_password("correct horse battery staple").unwrap());
}

#[test]
fn weaker_or_other_argon2_settings_need_rehash() {
    let weaker = [
        (argon2::Algorithm::Argon2id, Params::new(7168, 5, 1, Some(32)).unwrap()),
        (argon2::Algorithm::Argon2id, Params::new(19_456, 1, 1, Some(32)).unwrap()),
        (argon2::Algorithm::Argon2id, Params::new(19_456, 2, 1, Some(16)).unwrap()),
        (argon2::Algorithm::Argon2i, Params::new(19_456, 2, 1, Some(32)).unwrap()),
    ];
    for (algorithm, params) in weaker {
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let phc =
            Argon2::new(algorithm, Version::V0x13, params).hash_password(b"pw", &salt).unwrap().to_string();
        let stored = StoredPassword::Phc { phc: phc.clone() };
        assert_eq!(verify_password(&stored, "pw"), PasswordCheck::Match { needs_rehash: true }, "{phc}");
        assert_eq!(verify_password(&stored, "pw!"), PasswordCheck::Mismatch);
    }
}

#[test]
fn unusable_phc_strings_are_mismatches() {
    for phc in [
        "",
        "garbage",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA",
        "$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAA",
        // Over the work limits: refused without doing the work.
        "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAA",
        "$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let stored = StoredPassword::Phc { phc: phc.to_owned() };
        assert_eq!(verify_password(&stored, "pw"), PasswordCheck::Mismatch, "{phc}");
    }
    let empty = StoredPassword::Pbkdf2 {
        algorithm: Pbkdf2Alg::Sha256,
        iterations: 1,
        salt: b"salt".to_vec(),
        hash: Vec::new(),
    };
    assert_eq!(verify_password(&empty, ""), PasswordCheck::Mismatch);
}

#[test]
fn dummy_verification_runs() {
    verify_dummy("anything");
    verify_dummy("");
    assert!(DUMMY.is_some());
}

#[test]
fn debug_never_shows_the_hash() {
    let stored = hash_password("pw").unwrap();
    let StoredPassword::Phc { phc } = &stored else {
        panic!("expected PHC");
    };
    let tag = phc.rsplit('$').next().unwrap();
    let salt = phc.rsplit('$').nth(1).unwrap();
    let shown = format!("{stored:?}");
    assert!(!shown.contains(tag) && !shown.contains(salt), "{shown}");
    assert!(shown.contains("argon2id") && shown.contains("m=19456"), "{shown}");

    let pbkdf2 = StoredPassword::Pbkdf2 {
        algorithm: Pbkdf2Alg::Sha256,
        iterations: 27_500,
        salt: vec![0x5a; 16],
        hash: vec![0xa5; 64],
    };
    let shown = format!("{pbkdf2:?}");
    assert!(!shown.contains("165") && !shown.contains("paWl"), "{shown}");
    assert!(shown.contains("27500"), "{shown}");
}

#[test]
fn serde_shape() {
    let stored = StoredPassword::Pbkdf2 {
        algorithm: Pbkdf2Alg::Sha512,
        iterations: 10,
        salt: b"salt".to_vec(),
        hash: vec![0xff; 4],
    };
    let json = serde_json::to_value(&stored).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "format": "pbkdf2",
            "algorithm": "pbkdf2-sha512",
            "iterations": 10,
            "salt": "c2FsdA==",
            "hash": "/////w=="
        })
    );
    assert_eq!(serde_json::from_value::<StoredPassword>(json).unwrap(), stored);

    let phc = StoredPassword::Phc { phc: "$argon2id$v=19$m=19456,t=2,p=1$x$y".to_owned() };
    let json = serde_json::to_value(&phc).unwrap();
    assert_eq!(json, serde_json::json!({"format": "phc", "phc": "$argon2id$v=19$m=19456,t=2,p=1$x$y"}));
    assert_eq!(serde_json::from_value::<StoredPassword>(json).unwrap(), phc);
}

/// Measures one login's Argon2 cost. Run in release:
/// `cargo test -p shared-crypto --release -- --ignored --nocapture argon2_speed`
#[test]
#[ignore = "benchmark; run in release with --nocapture"]
fn argon2_speed() {
    let stored = hash_password("pw").unwrap();
    let n = 20u32;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(verify_password(&stored, "pw"));
    }
    eprintln!("argon2id m=19456,t=2,p=1 verify: {:?}", start.elapsed() / n);
}
