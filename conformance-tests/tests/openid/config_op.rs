//! `oidcc-config-certification-test-plan` ("Config OP"): the discovery document and the keys it
//! points to. Tests run over plain http, so the suite's "every endpoint is https" becomes "every
//! endpoint has the issuer's scheme, host and port".

use crate::helpers::*;
use serde_json::Value;
use url::Url;

/// `name` is an array of strings holding at least `required`.
fn assert_contains_all(metadata: &Value, name: &str, required: &[&str]) {
    let values = str_array(metadata, name);
    for value in required {
        assert!(values.iter().any(|v| v == value), "{name} lacks {value:?}: {values:?}");
    }
}

fn assert_exactly(metadata: &Value, name: &str, expected: &[&str]) {
    assert_eq!(str_array(metadata, name), expected, "{name}");
}

fn assert_flag(metadata: &Value, name: &str, expected: bool) {
    assert_eq!(metadata.get(name).and_then(Value::as_bool), Some(expected), "{name}");
}

/// A BCP 47 tag as RFC 8414 §2 and OIDC Discovery §3 use them: `ja`, `en`, `en-US`, `zh-Hant`.
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let primary = subtags.next().unwrap_or_default();
    (2..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// oidcc-discovery-endpoint-verification
async fn oidcc_discovery_endpoint_verification(idp: Idp) {
    let discovery = idp.discovery().await;
    let authorization_server = idp.metadata("/.well-known/oauth-authorization-server").await;
    let raw_jwks: Value = idp
        .http
        .get(idp.endpoint("/protocol/openid-connect/certs"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("JWKS: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("JWKS is not JSON: {e}"));

    // The issuer, and the discovery URL derived from it (OIDC Discovery §4).
    let issuer = discovery.get("issuer").and_then(Value::as_str).unwrap_or_default();
    assert_eq!(issuer, idp.issuer);
    let issuer_url = Url::parse(issuer).unwrap_or_else(|e| panic!("issuer {issuer:?}: {e}"));
    assert!(issuer_url.query().is_none() && issuer_url.fragment().is_none(), "RFC 8414 §2: {issuer}");
    assert_eq!(authorization_server.get("issuer").and_then(Value::as_str), Some(issuer), "RFC 8414 issuer");

    // The endpoints, on Keycloak's paths, all on the issuer's origin.
    for (name, path) in [
        ("authorization_endpoint", "/protocol/openid-connect/auth"),
        ("token_endpoint", "/protocol/openid-connect/token"),
        ("userinfo_endpoint", "/protocol/openid-connect/userinfo"),
        ("jwks_uri", "/protocol/openid-connect/certs"),
        ("end_session_endpoint", "/protocol/openid-connect/logout"),
        ("revocation_endpoint", "/protocol/openid-connect/revoke"),
        ("introspection_endpoint", "/protocol/openid-connect/token/introspect"),
    ] {
        let value = discovery.get(name).and_then(Value::as_str);
        assert_eq!(value, Some(idp.endpoint(path).as_str()), "{name}");
        if name != "userinfo_endpoint" && name != "end_session_endpoint" {
            assert_eq!(authorization_server.get(name).and_then(Value::as_str), value, "RFC 8414 {name}");
        }
    }
    let endpoints = discovery
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.ends_with("_endpoint") || *k == "jwks_uri");
    for (name, value) in endpoints {
        let url =
            value.as_str().and_then(|v| Url::parse(v).ok()).unwrap_or_else(|| panic!("{name}: {value}"));
        assert_eq!(url.origin(), issuer_url.origin(), "{name} is not on the issuer's scheme and host");
    }

    // What the provider supports.
    assert_contains_all(
        &discovery,
        "scopes_supported",
        &["openid", "profile", "email", "address", "phone", "offline_access"],
    );
    for scope in str_array(&discovery, "scopes_supported") {
        let ok = !scope.is_empty()
            && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        assert!(ok, "RFC 6749 §3.3 scope syntax: {scope:?}");
    }
    assert_exactly(&discovery, "response_types_supported", &["code"]);
    assert_contains_all(&discovery, "response_modes_supported", &["query"]);
    assert_contains_all(
        &discovery,
        "grant_types_supported",
        &["authorization_code", "refresh_token", "client_credentials"],
    );
    assert_exactly(&discovery, "subject_types_supported", &["public"]);
    assert_contains_all(&discovery, "id_token_signing_alg_values_supported", &["ES256", "RS256", "EdDSA"]);
    let algs = str_array(&discovery, "id_token_signing_alg_values_supported");
    assert!(!algs.iter().any(|a| a.eq_ignore_ascii_case("none")), "alg none is offered: {algs:?}");
    assert_contains_all(
        &discovery,
        "token_endpoint_auth_methods_supported",
        &["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
    );
    assert_exactly(&discovery, "code_challenge_methods_supported", &["S256"]);
    assert_contains_all(
        &discovery,
        "claims_supported",
        &[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            "name",
            "preferred_username",
            "email",
            "email_verified",
            "birthdate",
            "locale",
        ],
    );
    assert_flag(&discovery, "claims_parameter_supported", true);
    assert_flag(&discovery, "request_parameter_supported", false);
    assert_flag(&discovery, "request_uri_parameter_supported", false);
    assert_flag(&discovery, "backchannel_logout_supported", true);
    assert_flag(&discovery, "backchannel_logout_session_supported", true);
    assert_flag(&discovery, "authorization_response_iss_parameter_supported", true);
    assert_contains_all(&discovery, "ui_locales_supported", &["ja", "en"]);
    for name in ["ui_locales_supported", "claims_locales_supported"] {
        if discovery.get(name).is_some() {
            let tags = str_array(&discovery, name);
            assert!(
                tags.iter().all(|t| is_language_tag(t)),
                "{name} are not canonical BCP 47 tags: {tags:?}"
            );
        }
    }

    // The keys: public signing keys only, each with a unique kid.
    let keys = raw_jwks.get("keys").and_then(Value::as_array).unwrap_or_else(|| panic!("JWKS without keys"));
    assert!(!keys.is_empty(), "an empty JWKS");
    let mut kids = Vec::new();
    for key in keys {
        let kty = key.get("kty").and_then(Value::as_str).unwrap_or_default();
        assert!(["EC", "RSA", "OKP"].contains(&kty), "kty {kty:?} (no symmetric keys)");
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(key.get(private).is_none(), "the JWKS publishes private member {private}");
        }
        let kid = key.get("kid").and_then(Value::as_str).unwrap_or_else(|| panic!("a key without kid"));
        assert!(!kids.contains(&kid), "duplicate kid {kid}");
        kids.push(kid);
        if let Some(usage) = key.get("use") {
            assert_eq!(usage, "sig", "key {kid} use");
        }
        let jwk: shared_crypto::Jwk =
            serde_json::from_value(key.clone()).unwrap_or_else(|e| panic!("{kid}: {e}"));
        jwk.thumbprint().unwrap_or_else(|e| panic!("key {kid} is not a valid JWK: {e}"));
    }
}

on_every_backend!(oidcc_discovery_endpoint_verification);
