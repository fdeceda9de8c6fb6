//! Published JOSE test vectors, copied verbatim from the RFCs, and helpers
//! that turn the RFCs' raw private keys into PKCS#8 for [`SigningKey`].
//!
//! Sources: RFC 7515 Appendix A.2 (RS256) and A.3 (ES256), RFC 8037
//! Appendix A.1–A.5 (Ed25519), RFC 7638 §3.1 (RSA thumbprint).
#![cfg_attr(test, allow(clippy::unwrap_used))]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::keys::{Algorithm, Jwk, SigningKey};

/// RFC 7515 A.1–A.3 payload: `{"iss":"joe",` CRLF ` "exp":1300819380,` CRLF
/// ` "http://example.com/is_root":true}`.
pub const RFC7515_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
pub const RFC7515_PAYLOAD_B64: &str =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

// RFC 7515 A.2: RSA key (JWK members) and the RS256 JWS.
pub const A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
pub const A2_E: &str = "AQAB";
pub const A2_D: &str = "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ";
pub const A2_P: &str = "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc";
pub const A2_Q: &str = "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc";
pub const A2_SIGNING_INPUT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
pub const A2_SIGNATURE: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

// RFC 7515 A.3: P-256 key (JWK members) and the ES256 JWS.
pub const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
pub const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
pub const A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
pub const A3_COMPACT: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// RFC 8037 A.1/A.2: Ed25519 key; A.3: its thumbprint; A.4/A.5: the JWS of
// "Example of Ed25519 signing".
pub const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
pub const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
pub const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
pub const RFC8037_PAYLOAD: &[u8] = b"Example of Ed25519 signing";
pub const RFC8037_SIGNING_INPUT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
pub const RFC8037_SIGNATURE: &str =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// RFC 7638 §3.1: RSA key and its thumbprint.
pub const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
pub const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// The RFC 7515 A.2 private key as a [`SigningKey`].
pub fn a2_key() -> SigningKey {
    use rsa::BigUint;
    use rsa::pkcs8::EncodePrivateKey as _;
    let int = |s: &str| BigUint::from_bytes_be(&b64(s));
    let key =
        rsa::RsaPrivateKey::from_components(int(A2_N), int(A2_E), int(A2_D), vec![int(A2_P), int(A2_Q)])
            .unwrap();
    let der = key.to_pkcs8_der().unwrap();
    SigningKey::from_pkcs8_der(Algorithm::RS256, der.as_bytes()).unwrap()
}

/// The RFC 7515 A.3 private key as a [`SigningKey`].
pub fn a3_key() -> SigningKey {
    use p256::pkcs8::EncodePrivateKey as _;
    let secret = p256::SecretKey::from_slice(&b64(A3_D)).unwrap();
    let der = secret.to_pkcs8_der().unwrap();
    SigningKey::from_pkcs8_der(Algorithm::ES256, der.as_bytes()).unwrap()
}

/// The RFC 8037 A.1 private key as a [`SigningKey`].
pub fn rfc8037_key() -> SigningKey {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    let seed: [u8; 32] = b64(RFC8037_D).try_into().unwrap();
    let der = ed25519_dalek::SigningKey::from_bytes(&seed).to_pkcs8_der().unwrap();
    SigningKey::from_pkcs8_der(Algorithm::EdDSA, der.as_bytes()).unwrap()
}

/// The public JWK of RFC 7515 A.2, as published (no `kid`).
pub fn a2_public_jwk() -> Jwk {
    Jwk { kty: "RSA".into(), n: Some(A2_N.into()), e: Some(A2_E.into()), ..Jwk::default() }
}

/// The public JWK of RFC 7515 A.3, as published (no `kid`).
pub fn a3_public_jwk() -> Jwk {
    Jwk {
        kty: "EC".into(),
        crv: Some("P-256".into()),
        x: Some(A3_X.into()),
        y: Some(A3_Y.into()),
        ..Jwk::default()
    }
}

/// The public JWK of RFC 8037 A.2, as published (no `kid`).
pub fn rfc8037_public_jwk() -> Jwk {
    Jwk { kty: "OKP".into(), crv: Some("Ed25519".into()), x: Some(RFC8037_X.into()), ..Jwk::default() }
}
