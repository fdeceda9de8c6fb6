//! Clients, the realm's settings, terms, events and the OpenAPI document through the admin API.

use crate::admin::{Admin, call, token_of};
use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::{Browser, REALM, Seen};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_every_backend!(
    clients_are_registered_changed_and_their_secrets_rotated,
    realm_settings_terms_and_events,
    every_documented_operation_exists_and_asks_for_a_token,
    an_audience_mapper_puts_the_resource_server_in_the_tokens_aud,
);

fn clients() -> String {
    format!("/admin/realms/{REALM}/clients")
}

async fn clients_are_registered_changed_and_their_secrets_rotated(app: TestApp) {
    let admin = Admin::new(app).await;
    let token = admin.token("ops-admin").await;
    let new = json!({
        "clientId": "kenpo-batch",
        "publicClient": false,
        "standardFlowEnabled": false,
        "serviceAccountsEnabled": true,
        "secret": null
    });
    let made = admin.call(Method::POST, &clients(), Some(&token), Some(new.clone())).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let made = made.json();
    let (id, secret) = (
        made["id"].as_str().unwrap_or_default().to_owned(),
        made["secret"].as_str().unwrap_or_default().to_owned(),
    );
    assert!(secret.len() >= 32, "{made}");
    let batch = token_of(admin.app(), REALM, "kenpo-batch", &secret).await;
    assert!(!batch.is_empty());
    assert_eq!(
        admin.call(Method::POST, &clients(), Some(&token), Some(new)).await.status,
        StatusCode::CONFLICT
    );
    let implicit = json!({ "clientId": "legacy", "implicitFlowEnabled": true, "redirectUris": ["https://x.example/cb"] });
    assert_eq!(
        admin.call(Method::POST, &clients(), Some(&token), Some(implicit)).await.status,
        StatusCode::BAD_REQUEST
    );
    let bad_uri = json!({ "clientId": "app2", "redirectUris": ["not a uri"] });
    assert_eq!(
        admin.call(Method::POST, &clients(), Some(&token), Some(bad_uri)).await.status,
        StatusCode::BAD_REQUEST
    );

    // Read: the shape Keycloak's tools expect, never the secret.
    let read = admin.call(Method::GET, &format!("{}/{id}", clients()), Some(&token), None).await.json();
    assert_eq!(
        (read["clientId"].clone(), read["publicClient"].clone(), read["serviceAccountsEnabled"].clone()),
        (json!("kenpo-batch"), json!(false), json!(true))
    );
    assert!(read.get("secret").is_none(), "{read}");
    let shown = admin
        .call(Method::GET, &format!("{}/{id}/client-secret", clients()), Some(&token), None)
        .await
        .json();
    assert_eq!(shown, json!({ "type": "secret" }));

    // Rotation: the old secret stops, the new one works.
    let rotated = admin
        .call(Method::POST, &format!("{}/{id}/client-secret", clients()), Some(&token), None)
        .await
        .json();
    let fresh = rotated["value"].as_str().unwrap_or_default().to_owned();
    assert!(fresh.len() >= 32 && fresh != secret);
    let url = admin.app().url(&format!("/realms/{REALM}/protocol/openid-connect/token"));
    let old = admin
        .app()
        .http
        .post(&url)
        .basic_auth("kenpo-batch", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert_eq!(old.map(|r| r.status()).ok(), Some(StatusCode::UNAUTHORIZED));
    assert!(!token_of(admin.app(), REALM, "kenpo-batch", &fresh).await.is_empty());

    // A change: a redirect URI for the portal; the login then accepts only the new one.
    let portal =
        admin.call(Method::GET, &format!("{}?clientId=portal", clients()), Some(&token), None).await.json();
    let portal_id = portal[0]["id"].as_str().unwrap_or_default().to_owned();
    let change = json!({ "redirectUris": ["https://rp.example.test/callback", "https://rp.example.test/other"], "attributes": { "backchannel.logout.url": "https://rp.example.test/bcl" } });
    let changed =
        admin.call(Method::PUT, &format!("{}/{portal_id}", clients()), Some(&token), Some(change)).await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let after =
        admin.call(Method::GET, &format!("{}/{portal_id}", clients()), Some(&token), None).await.json();
    assert_eq!(
        after["redirectUris"],
        json!(["https://rp.example.test/callback", "https://rp.example.test/other"])
    );
    assert_eq!(after["attributes"]["backchannel.logout.url"], "https://rp.example.test/bcl");
    assert_eq!(
        Browser::new().log_in(&admin.kenpo, "taro1234", "Correct-horse-1").await.seen(),
        Seen::Code,
        "the secret was kept"
    );

    // Deleted: gone, and its token with it.
    assert_eq!(
        admin.call(Method::DELETE, &format!("{}/{id}", clients()), Some(&token), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.call(Method::GET, &format!("{}/{id}", clients()), Some(&token), None).await.status,
        StatusCode::NOT_FOUND
    );
    let paged =
        admin.call(Method::GET, &format!("{}?first=0&max=2", clients()), Some(&token), None).await.json();
    assert_eq!(paged.as_array().map(Vec::len), Some(2));
}

async fn realm_settings_terms_and_events(app: TestApp) {
    let admin = Admin::new(app).await;
    let token = admin.token("ops-admin").await;
    let realm_path = format!("/admin/realms/{REALM}");
    let read = admin.call(Method::GET, &realm_path, Some(&token), None).await.json();
    assert_eq!((read["realm"].clone(), read["failureFactor"].clone()), (json!(REALM), json!(5)));
    let listed = admin.call(Method::GET, "/admin/realms", Some(&token), None).await.json();
    assert_eq!(
        listed.as_array().map(|a| a.iter().map(|r| r["realm"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(REALM)])
    );

    let change = json!({ "failureFactor": 3, "attributes": { "reauthenticationWindowSeconds": 120 } });
    let changed = admin.call(Method::PUT, &realm_path, Some(&token), Some(change)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.json()["failureFactor"], 3);
    let stored =
        kenpo_idp::flows::realms::find(&admin.app().state.db, REALM).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (stored.settings.brute_force.failure_factor, stored.settings.reauthentication_window_seconds),
        (3, 120)
    );
    let refused =
        admin.call(Method::PUT, &realm_path, Some(&token), Some(json!({ "ssoSessionIdleTimeout": 0 }))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // The new factor applies to the next logins: three failures lock.
    let browser = Browser::new();
    for _ in 0..3 {
        browser.log_in(&admin.kenpo, "taro1234", "Wrong-horse-9").await;
    }
    assert_eq!(browser.log_in(&admin.kenpo, "taro1234", "Correct-horse-1").await.seen(), Seen::Locked);

    // New terms (3-9): every member accepts them at the next login.
    let published = admin
        .call(
            Method::POST,
            &format!("{realm_path}/terms"),
            Some(&token),
            Some(json!({ "ja": "新しい規約", "en": "New terms" })),
        )
        .await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    assert!(published.json()["version"].as_i64().is_some_and(|v| v >= 1));
    let empty = admin
        .call(
            Method::POST,
            &format!("{realm_path}/terms"),
            Some(&token),
            Some(json!({ "ja": "", "en": "x" })),
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let hanako = Browser::new().log_in(&admin.kenpo, "hanako12", "Correct-horse-2").await;
    assert!(hanako.location.as_deref().is_some_and(|l| l.contains("required-action")), "{hanako:?}");

    // Login events, filtered as Keycloak filters them.
    let path = format!("{realm_path}/events?type=LOGIN_ERROR&client=portal&ipAddress=127.0.0.1");
    let events = admin.call(Method::GET, &path, Some(&token), None).await.json();
    let events = events.as_array().cloned().unwrap_or_default();
    assert!(events.len() >= 3, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e["type"] == "LOGIN_ERROR" && e["clientId"] == "portal" && e["error"].is_string())
    );
    let other_address = admin
        .call(Method::GET, &format!("{realm_path}/events?ipAddress=192.0.2.1"), Some(&token), None)
        .await;
    assert_eq!(other_address.json(), json!([]));
    let day = admin
        .call(Method::GET, &format!("{realm_path}/events?dateFrom=2026-11-25"), Some(&token), None)
        .await
        .json();
    assert_eq!(day, json!([]), "the test clock is on 2026-11-24");
    assert_eq!(
        admin.call(Method::GET, &format!("{realm_path}/events?type=FLY"), Some(&token), None).await.status,
        StatusCode::BAD_REQUEST
    );
    let ops = admin
        .call(
            Method::GET,
            &format!(
                "{realm_path}/admin-events?operationTypes=UPDATE&operationTypes=CREATE&resourceTypes=REALM"
            ),
            Some(&token),
            None,
        )
        .await
        .json();
    let ops: Vec<Value> = ops.as_array().cloned().unwrap_or_default();
    // Two changes made and two refused (the refusals carry their error).
    assert_eq!(ops.len(), 4, "{ops:?}");
    assert_eq!(ops.iter().filter(|e| e["error"] == "invalid_request").count(), 2, "{ops:?}");
    assert!(
        ops.iter()
            .all(|e| e["authDetails"]["clientId"] == "ops-admin"
                && e["realmId"] == json!(admin.kenpo.realm.id))
    );
}

/// Every operation of the OpenAPI document is served (without a token: 401, not 404 or 405),
/// and every served admin route is in the document.
async fn every_documented_operation_exists_and_asks_for_a_token(app: TestApp) {
    let admin = Admin::new(app).await;
    let app = admin.app();
    let served = app.http.get(app.url("/admin/openapi.json")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(served.status(), StatusCode::OK);
    let document: Value = served.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    let mut operations = 0;
    for (path, item) in &paths {
        let concrete = path.replace("{realm}", REALM).replace("{id}", "x").replace("{credential}", "y");
        for method in ["get", "put", "post", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            assert!(item[method]["x-required-role"].is_string(), "{method} {path} names its role");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap_or(Method::GET);
            let answer = call(app, method.clone(), &concrete, None, Some(json!({}))).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}: {}", answer.body);
        }
    }
    // The routes `kenpo_idp::http::admin` serves, by method and path.
    let routes = kenpo_idp::http::admin::ROUTES;
    assert_eq!(operations, routes.len(), "documented {operations}, served {}", routes.len());
    for (method, path) in routes {
        let documented = paths.get(*path).and_then(|item| item.get(method.to_lowercase()));
        assert!(documented.is_some(), "{method} {path} is served but not documented");
    }
}

/// Keycloak's audience mapper, inline in the client (as `kcadm create clients -f` sends it): the
/// client's tokens then name the resource server in `aud`; it is read back the same way, kept
/// across a change that does not name mappers, and cleared by an empty list. Other mapper kinds
/// are refused rather than silently ignored.
async fn an_audience_mapper_puts_the_resource_server_in_the_tokens_aud(app: TestApp) {
    let admin = Admin::new(app).await;
    let token = admin.token("ops-admin").await;
    let mapper = json!({
        "name": "portal audience",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": { "included.client.audience": "portal", "access.token.claim": "true" }
    });
    let unknown = json!({ "name": "x", "protocolMapper": "oidc-hardcoded-claim-mapper", "config": {} });
    let new = |mappers: Value| {
        json!({
            "clientId": "kenpo-notices",
            "publicClient": false,
            "standardFlowEnabled": false,
            "serviceAccountsEnabled": true,
            "protocolMappers": mappers
        })
    };
    let refused = admin.call(Method::POST, &clients(), Some(&token), Some(new(json!([unknown])))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("oidc-hardcoded-claim-mapper"), "{}", refused.body);

    let made = admin.call(Method::POST, &clients(), Some(&token), Some(new(json!([mapper])))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let made = made.json();
    let id = made["id"].as_str().unwrap_or_default().to_owned();
    let secret = made["secret"].as_str().unwrap_or_default().to_owned();
    let access = token_of(admin.app(), REALM, "kenpo-notices", &secret).await;
    assert_eq!(claims_of(&access)["aud"], json!(["kenpo-notices", "portal"]));

    let read = admin.call(Method::GET, &format!("{}/{id}", clients()), Some(&token), None).await.json();
    let mappers = read["protocolMappers"].as_array().cloned().unwrap_or_default();
    assert_eq!(mappers.len(), 1, "{read}");
    assert_eq!(mappers[0]["protocolMapper"], "oidc-audience-mapper");
    assert_eq!(mappers[0]["config"]["included.client.audience"], "portal");

    let rename = json!({ "name": "お知らせ配信" });
    let kept = admin.call(Method::PUT, &format!("{}/{id}", clients()), Some(&token), Some(rename)).await;
    assert_eq!(kept.status, StatusCode::NO_CONTENT, "{}", kept.body);
    let read = admin.call(Method::GET, &format!("{}/{id}", clients()), Some(&token), None).await.json();
    assert_eq!(read["protocolMappers"].as_array().map(Vec::len), Some(1), "kept: {read}");

    let none = json!({ "protocolMappers": [] });
    let cleared = admin.call(Method::PUT, &format!("{}/{id}", clients()), Some(&token), Some(none)).await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT, "{}", cleared.body);
    let access = token_of(admin.app(), REALM, "kenpo-notices", &secret).await;
    assert_eq!(claims_of(&access)["aud"], "kenpo-notices");
}

/// The claims of a JWT the IdP just issued (its signature is the protocol suite's business).
fn claims_of(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}
