//! `kenpo-idp import-keycloak`: a kenpo's Keycloak realm export (`fixtures/keycloak-export.json`,
//! in Keycloak's own format) brings its members, who then sign in as before: the old password
//! over the real login page, the authenticator app's codes as the app makes them, the passkey.
//! What has no equivalent is reported with the reason, and nothing is overwritten.

use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::{Browser, Kenpo, REALM};
use crate::passkey::{ORIGIN, member, second_factor, sign_in_with};
use crate::soft_passkey::SoftPasskey;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::{AuthMethod, ClientId, RealmName, RequiredAction, Username};
use kenpo_idp::flows::import_keycloak::{self, Report};
use kenpo_idp::flows::lockout::IdentityCheck;
use kenpo_idp::flows::mfa::passkey::SignIn;
use kenpo_idp::flows::realms;
use kenpo_idp::store::{
    BruteForcePolicy, ClientStore, CredentialStore, CredentialType, GrantType, Realm, RealmStore, UserStore,
};
use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde_json::Value;
use shared_crypto::password::StoredPassword;

on_every_backend!(
    a_member_signs_in_with_the_old_password_and_the_old_authenticator_app,
    a_member_hashed_by_keycloaks_legacy_pbkdf2_signs_in_and_is_rehashed,
    a_migrated_passkey_passes_as_second_factor_and_alone,
    the_report_lists_what_came_over_and_what_was_skipped_and_why,
    a_dry_run_writes_nothing_and_a_second_run_overwrites_nothing,
    the_same_export_in_a_second_realm_gets_new_ids_and_leaves_the_passkey_where_it_is,
);

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/fixtures/keycloak-export.json");
/// kc-sato's Keycloak id and authenticator-app secret, as the fixture holds them.
const SATO_ID: &str = "3f2c8a1e-5b7d-4c9f-8e21-6a4b0d9c7e15";
const SATO_TOTP_SECRET: &str = "Kp7xQ2mN9vR4sT6wY8zA";
const SUZUKI_ID: &str = "9b1e4d2a-7c3f-4e8b-a6d5-2f0c8e1b3a47";
/// The seed of the software passkey whose public key the fixture holds for kc-suzuki.
const SUZUKI_PASSKEY_SEED: u8 = 7;

/// Runs the real binary: `kenpo-idp import-keycloak --realm lockout [extra…] <fixture>`; whether
/// it succeeded, and its standard output (the report; logs go to standard error).
fn run_import(kenpo: &Kenpo, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["import-keycloak", "--realm", REALM];
    args.extend_from_slice(extra);
    args.push(FIXTURE);
    let output = kenpo.app.cli(&args);
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{out}{}", String::from_utf8_lossy(&output.stderr));
    (output.status.success(), out)
}

fn imported(kenpo: &Kenpo, extra: &[&str]) -> Report {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let (_, said) = run_import(kenpo, &args);
    let json: Value = serde_json::from_str(&said).unwrap_or_else(|e| panic!("{e}: {said}"));
    report_of(&json)
}

/// The report from its JSON, the machine-readable form the CLI prints with `--json`.
fn report_of(json: &Value) -> Report {
    let strings = |key: &str| -> Vec<String> {
        json[key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    Report {
        dry_run: json["dry_run"].as_bool().unwrap_or_else(|| panic!("no dry_run in {json}")),
        members: strings("members"),
        credentials: json["credentials"]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0) as usize)).collect())
            .unwrap_or_default(),
        clients: strings("clients"),
        settings: strings("settings"),
        skipped: json["skipped"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| import_keycloak::Skipped {
                        what: s["what"].as_str().unwrap_or_default().to_owned(),
                        why: s["why"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn why<'a>(report: &'a Report, what: &str) -> &'a str {
    report
        .skipped
        .iter()
        .find(|s| s.what == what)
        .map_or_else(|| panic!("{what:?} not skipped: {:#?}", report.skipped), |s| s.why.as_str())
}

async fn realm_now(kenpo: &Kenpo) -> Realm {
    let name = RealmName::parse(REALM).unwrap_or_else(|e| panic!("{e}"));
    let realm = kenpo.app.state.db.realm_by_name(&name).await.unwrap_or_else(|e| panic!("{e}"));
    realm.unwrap_or_else(|| panic!("no realm"))
}

/// The code the member's phone shows now, computed by totp-rs from Keycloak's secret as its
/// QR code handed it to the app (base32 of the secret's bytes), not by the server's code.
fn phone_code(kenpo: &Kenpo) -> String {
    let key = totp_rs::Secret::Raw(SATO_TOTP_SECRET.as_bytes().to_vec()).to_encoded();
    let bytes = key.to_bytes().unwrap_or_else(|e| panic!("{e:?}"));
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new());
    totp.generate(u64::try_from(kenpo.app.clock.now().unix_timestamp()).unwrap_or(0))
}

/// A form of a login page: its action and every named input with its value.
fn form(body: &str, css: &str) -> (String, Vec<(String, String)>) {
    let html = Html::parse_document(body);
    let select = |s: &str| Selector::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"));
    let form = html.select(&select(css)).next().unwrap_or_else(|| panic!("no {css} in:\n{body}"));
    let action = form.value().attr("action").unwrap_or_default().to_owned();
    let inputs = form
        .select(&select("input[name]"))
        .filter_map(|i| {
            Some((i.value().attr("name")?.to_owned(), i.value().attr("value").unwrap_or("").to_owned()))
        })
        .collect();
    (action, inputs)
}

/// Follows the login's redirects until it leaves for the client; the final location.
async fn until_the_client(kenpo: &Kenpo, browser: &Browser, mut location: String) -> String {
    for _ in 0..5 {
        if location.starts_with("https://rp.example.test/callback?") {
            return location;
        }
        let reply = browser.get(kenpo, &location).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{location}: {}", reply.body);
        location = reply.location.unwrap_or_default();
    }
    panic!("still in the login at {location}")
}

async fn a_member_signs_in_with_the_old_password_and_the_old_authenticator_app(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    imported(&kenpo, &[]);
    let browser = Browser::new();

    let wrong = Browser::new().log_in(&kenpo, "kc-sato", "Sato-pass-2025").await;
    let password = browser.log_in(&kenpo, "kc-sato", "Sato-pass-2024").await;
    let code_page = browser.get(&kenpo, password.location.as_deref().unwrap_or_default()).await;
    let (action, fields) = form(&code_page.body, "form#kc-otp-login-form");
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str());
    let code = phone_code(&kenpo);
    let answer = [
        ("csrf_token", field("csrf_token")),
        ("selectedCredentialId", field("selectedCredentialId")),
        ("otp", code.as_str()),
    ];
    let sent = browser.post_form(&kenpo.app.url(&action), &answer).await;
    let back = until_the_client(&kenpo, &browser, sent.location.clone().unwrap_or_default()).await;

    assert_eq!(wrong.seen(), crate::login_browser::Seen::Invalid);
    assert_eq!(password.status, StatusCode::SEE_OTHER, "{}", password.body);
    assert_eq!(code_page.status, StatusCode::OK, "the app's code is asked for");
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert!(back.contains("code="), "{back}");
    let sato = member(&kenpo, SATO_ID).await;
    assert_eq!(sato.auth_method, Some(AuthMethod::Otp));
    let stored = kenpo.app.state.db.password_of(SATO_ID).await.ok().flatten().map(|c| c.password());
    assert!(
        matches!(stored, Some(Ok(StoredPassword::Phc { ref phc })) if phc.starts_with("$argon2id$")),
        "rehashed at the first login: {stored:?}"
    );
}

async fn a_member_hashed_by_keycloaks_legacy_pbkdf2_signs_in_and_is_rehashed(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    imported(&kenpo, &[]);
    let before = kenpo.app.state.db.password_of(SUZUKI_ID).await.ok().flatten().map(|c| c.password());

    // The IdP is reached by an IP address here, so no passkey is asked for after the password.
    let reply = Browser::new().log_in(&kenpo, "kc-suzuki", "Suzuki-pass-1").await;

    assert!(matches!(before, Some(Ok(StoredPassword::Pbkdf2 { .. }))), "{before:?}");
    assert_eq!(reply.seen(), crate::login_browser::Seen::Code, "{:?}", reply.seen());
    let after = kenpo.app.state.db.password_of(SUZUKI_ID).await.ok().flatten().map(|c| c.password());
    assert!(matches!(after, Some(Ok(StoredPassword::Phc { .. }))), "{after:?}");
}

async fn a_migrated_passkey_passes_as_second_factor_and_alone(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let mut phone = SoftPasskey::new(SUZUKI_PASSKEY_SEED, ORIGIN);
    // Keycloak gave the authenticator the user's id, as text, for its user handle.
    phone.user_handle = SUZUKI_ID.as_bytes().to_vec();
    let export: Value = serde_json::from_slice(&std::fs::read(FIXTURE).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let suzuki = export["users"].as_array().and_then(|u| u.iter().find(|u| u["username"] == "kc-suzuki"));
    let data = suzuki.map(|u| u["credentials"][1]["credentialData"].as_str().unwrap_or_default().to_owned());
    let data: Value = serde_json::from_str(&data.unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    imported(&kenpo, &[]);
    let user = member(&kenpo, SUZUKI_ID).await;

    let as_second_factor = second_factor(&kenpo, &user, &mut phone).await;
    let alone = sign_in_with(&kenpo, |options| phone.sign(options)).await;
    let mut stranger = SoftPasskey::new(SUZUKI_PASSKEY_SEED + 1, ORIGIN);
    stranger.credential_id.clone_from(&phone.credential_id);
    stranger.user_handle.clone_from(&phone.user_handle);
    let forged = second_factor(&kenpo, &user, &mut stranger).await;

    assert_eq!(data["credentialPublicKey"], STANDARD.encode(phone.cose_key()), "the fixture holds this key");
    assert_eq!(data["credentialId"], STANDARD.encode(&phone.credential_id));
    assert_eq!(as_second_factor, IdentityCheck::Passed);
    assert!(matches!(&alone, SignIn::Passed(u) if u.id == SUZUKI_ID), "{alone:?}");
    assert_eq!(forged, IdentityCheck::Failed, "another key under the same credential id");
    assert_eq!(user.auth_method, Some(AuthMethod::Webauthn));
    let passkeys = kenpo.app.state.db.credentials_of(SUZUKI_ID).await.unwrap_or_else(|e| panic!("{e}"));
    let labels: Vec<_> = passkeys
        .iter()
        .filter(|c| c.kind == CredentialType::Webauthn)
        .filter_map(|c| c.user_label.clone())
        .collect();
    assert_eq!(labels, ["Pixel 8"]);
}

async fn the_report_lists_what_came_over_and_what_was_skipped_and_why(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;

    let report = imported(&kenpo, &[]);
    let (_, readable) = run_import(&kenpo, &["--dry-run"]);

    assert_eq!(report.members, ["kc-sato", "kc-suzuki", "kc-tanaka", "kc-legacy"]);
    let count = |kind: &str| report.credentials.get(kind).copied().unwrap_or(0);
    assert_eq!((count("password"), count("otp"), count("webauthn")), (3, 1, 1), "{:?}", report.credentials);
    assert_eq!(report.clients, ["kenpo-app", "mobile", "batch"]);
    for built_in in ["account", "admin-cli", "realm-management"] {
        assert_eq!(why(&report, &format!("client {built_in}")), "built-in Keycloak client");
    }
    assert!(why(&report, "client portal").contains("exists already"));
    assert!(why(&report, "client wild").contains("wildcards"));
    assert!(why(&report, "client kenpo-app directAccessGrantsEnabled").contains("password grant"));
    assert!(why(&report, "user taro1234").contains("exists already; not overwritten"));
    assert!(why(&report, "user service-account-batch").contains("service account of client batch"));
    assert!(why(&report, "credential otp \"Token\" of kc-tanaka").starts_with("HOTP"));
    assert!(why(&report, "credential password of kc-legacy").contains("bcrypt"));
    assert!(why(&report, "required action UPDATE_PROFILE of kc-tanaka").contains("no equivalent"));
    assert!(why(&report, "email of kc-legacy").contains("another member"));
    assert!(why(&report, "birthdate of kc-tanaka").contains("1990-13-01"));
    assert!(why(&report, "password policy notUsername(undefined)").contains("no equivalent"));
    assert!(report.settings.contains(&"accessTokenLifespan = 600".to_owned()), "{:?}", report.settings);
    assert!(readable.contains("would import (dry run, nothing written) into realm lockout"), "{readable}");
    assert!(
        readable.contains("skipped:\n")
            && readable.contains("\n  client account: built-in Keycloak client\n"),
        "{readable}"
    );

    let realm = realm_now(&kenpo).await;
    assert_eq!(realm.display_name, "サンプル健康保険組合加入者ページ");
    assert_eq!(realm.settings.access_token_seconds, 600);
    assert_eq!(realm.settings.sso_session_max_seconds, 36_000);
    assert_eq!(realm.settings.password_policy.bounds(), (10, 64));
    assert_eq!(realm.settings.brute_force.max_temporary_lockouts, 0, "permanentLockout: false");
    let db = &kenpo.app.state.db;
    let sato = member(&kenpo, SATO_ID).await;
    assert_eq!((sato.display_name.as_str(), sato.email_verified), ("佐藤 花子", true));
    assert_eq!(sato.birthdate.map(|d| d.to_string()).as_deref(), Some("1985-04-12"));
    let tanaka = db
        .user_by_username(&realm.id, &Username::parse_issued("kc-tanaka").unwrap_or_else(|e| panic!("{e}")))
        .await;
    let tanaka = tanaka.ok().flatten().unwrap_or_else(|| panic!("no kc-tanaka"));
    assert!(!tanaka.enabled, "disabled in Keycloak, disabled here");
    assert_eq!(tanaka.required_actions, [RequiredAction::UpdatePassword]);
    let app_client = db
        .client_by_client_id(&realm.id, &ClientId::parse("kenpo-app").unwrap_or_else(|e| panic!("{e}")))
        .await;
    let app_client = app_client.ok().flatten().unwrap_or_else(|| panic!("no kenpo-app"));
    assert!(app_client.confidential && app_client.pkce_required);
    assert_eq!(app_client.post_logout_redirect_uris, app_client.redirect_uris, "`+`: the redirect URIs");
    assert_eq!(app_client.backchannel_logout_uri.as_deref(), Some("https://app.example.jp/backchannel"));
    let hashed = kenpo_idp::flows::clients::secret_hasher(&kenpo.app.state.master_key)
        .hash("kenpo-app-secret-0123456789abcdef");
    assert_eq!(
        app_client.secret_hash.as_deref(),
        Some(hashed.as_str()),
        "the relying party keeps its secret"
    );
    let batch =
        db.client_by_client_id(&realm.id, &ClientId::parse("batch").unwrap_or_else(|e| panic!("{e}"))).await;
    let batch = batch.ok().flatten().unwrap_or_else(|| panic!("no batch"));
    assert_eq!(batch.grant_types, [GrantType::ClientCredentials]);
}

async fn a_dry_run_writes_nothing_and_a_second_run_overwrites_nothing(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let db = &kenpo.app.state.db;
    let realm_id = kenpo.realm.id.clone();

    let dry = imported(&kenpo, &["--dry-run"]);
    let after_dry = (db.count_users(&realm_id).await.ok(), realm_now(&kenpo).await);
    let first = imported(&kenpo, &[]);
    let again = imported(&kenpo, &[]);
    let (refused, said) = {
        let output = kenpo.app.cli(&["import-keycloak", "--realm", REALM, "/nonexistent/export.json"]);
        (!output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
    };

    assert!(dry.dry_run && !first.dry_run);
    assert_eq!(Report { dry_run: false, ..dry.clone() }, first, "a dry run reports what the run does");
    assert_eq!(after_dry.0, Some(2), "the dry run wrote no member");
    assert_eq!(after_dry.1.display_name, kenpo.realm.display_name, "nor a setting");
    assert_eq!(db.count_users(&realm_id).await.ok(), Some(6));
    assert!(again.members.is_empty() && again.clients.is_empty(), "{again:?}");
    for name in ["kc-sato", "kc-suzuki", "kc-tanaka", "kc-legacy"] {
        assert!(why(&again, &format!("user {name}")).contains("exists already; not overwritten"));
    }
    assert!(why(&again, "client kenpo-app").contains("exists already"));
    assert!(refused && said.contains("cannot read /nonexistent/export.json"), "{said}");
}

async fn the_same_export_in_a_second_realm_gets_new_ids_and_leaves_the_passkey_where_it_is(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let state = &kenpo.app.state;
    let spec = realms::RealmSpec { name: "second".to_owned(), display_name: "第二".to_owned(), host: None };
    let second = realms::create(&state.db, &state.master_key, spec, kenpo.app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    imported(&kenpo, &[]);

    let output = kenpo.app.cli(&["import-keycloak", "--realm", "second", "--json", FIXTURE]);
    let out = String::from_utf8_lossy(&output.stdout);
    let report = report_of(&serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")));

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(report.members, ["kc-sato", "kc-suzuki", "kc-tanaka", "kc-legacy", "taro1234"]);
    assert!(why(&report, "Keycloak id of kc-sato").contains("gets a new id"));
    assert!(why(&report, "credential webauthn \"Pixel 8\" of kc-suzuki").contains("registered here already"));
    let name = Username::parse_issued("kc-sato").unwrap_or_else(|e| panic!("{e}"));
    let sato = state.db.user_by_username(&second.id, &name).await.ok().flatten();
    assert!(sato.is_some_and(|s| s.id != SATO_ID), "the first realm's member keeps the id");
}
