//! The stores on each backend: constraints mean something, rows round-trip, keys rotate.

use crate::helpers::{TestApp, on_every_backend};
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::{Email, RequiredAction, Username};
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::flows::{keys, realms};
use kenpo_idp::store::{
    ClientStore, CredentialStore, CredentialType, EventQuery, EventStore, EventType, GrantType,
    NewCredential, NewEvent, NewUser, NewUserSession, Realm, RealmStore, SessionStore, StoreError, UserStore,
};
use secrecy::ExposeSecret;
use shared_crypto::jws;
use shared_crypto::keys::Algorithm;
use shared_crypto::password::{PasswordCheck, hash_password, verify_password};
use time::Duration;

on_every_backend!(
    duplicate_realm_name_is_a_meaningful_error,
    client_secret_is_stored_only_as_a_keyed_hash,
    duplicate_client_id_is_a_meaningful_error,
    user_id_and_email_uniqueness_are_meaningful_errors,
    credentials_keep_one_password_and_unique_labels,
    sessions_round_trip_and_delete,
    events_filter_by_type_user_and_time_newest_first,
    token_signed_before_rotation_verifies_until_its_key_is_retired,
    a_key_rotated_elsewhere_verifies_without_waiting_for_the_cache,
);

async fn realm(app: &TestApp, name: &str) -> Realm {
    let spec = realms::RealmSpec {
        name: name.to_owned(),
        display_name: format!("{name}健康保険組合加入者ページ"),
        host: Some(format!("www.{name}.portal.example.jp")),
    };
    realms::create(&app.state.db, &app.state.master_key, spec, app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("create realm: {e}"))
}

fn member(username: &str, email: Option<&str>) -> NewUser {
    NewUser {
        username: Username::parse_issued(username).unwrap_or_else(|e| panic!("{e}")),
        issued_username: None,
        email: email.map(|e| Email::parse(e).unwrap_or_else(|e| panic!("{e}"))),
        email_verified: false,
        display_name: "健保 太郎".to_owned(),
        birthdate: None,
        relationship: None,
        temporary_id: true,
        required_actions: RequiredAction::FIRST_LOGIN.to_vec(),
        locale: None,
    }
}

fn portal_spec(client_id: &str) -> ClientSpec {
    ClientSpec {
        client_id: client_id.to_owned(),
        name: None,
        confidential: true,
        secret: None,
        redirect_uris: vec!["https://www.a.portal.example.jp/auth/callback".to_owned()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::AuthorizationCode],
        pkce_required: false,
        signing_alg: Algorithm::ES256,
        jwks: None,
        rotate_refresh_tokens: true,
        audiences: vec![],
    }
}

async fn duplicate_realm_name_is_a_meaningful_error(app: TestApp) {
    let first = realm(&app, "kenpo-a").await;
    let again = realms::RealmSpec { name: "kenpo-a".to_owned(), display_name: "x".to_owned(), host: None };
    let err = realms::create(&app.state.db, &app.state.master_key, again, app.clock.now()).await;
    assert!(matches!(err, Err(kenpo_idp::flows::FlowError::Store(StoreError::RealmNameTaken))), "{err:?}");
    let found = app.state.db.realm_by_host("www.kenpo-a.portal.example.jp").await;
    assert_eq!(found.ok().flatten().map(|r| r.id), Some(first.id));
}

async fn client_secret_is_stored_only_as_a_keyed_hash(app: TestApp) {
    let realm = realm(&app, "kenpo-a").await;
    let (client, secret) =
        clients::create(&app.state.db, &app.state.master_key, &realm, portal_spec("portal"), app.clock.now())
            .await
            .unwrap_or_else(|e| panic!("create client: {e}"));
    let secret = secret.unwrap_or_else(|| panic!("a confidential client gets a secret"));
    assert!(secret.expose_secret().len() >= 43, "at least 256 bits, base64url");
    let stored = app
        .state
        .db
        .client_by_client_id(&realm.id, &client.client_id)
        .await
        .ok()
        .flatten()
        .and_then(|c| c.secret_hash)
        .unwrap_or_default();
    assert!(!stored.contains(secret.expose_secret()));
    let hasher = clients::secret_hasher(&app.state.master_key);
    assert!(hasher.verify(secret.expose_secret(), &stored));
    assert!(!hasher.verify("not-the-secret", &stored));

    let mut public = portal_spec("app");
    public.confidential = false;
    let (public, secret) =
        clients::create(&app.state.db, &app.state.master_key, &realm, public, app.clock.now())
            .await
            .unwrap_or_else(|e| panic!("create public client: {e}"));
    assert!(secret.is_none() && public.secret_hash.is_none());
    assert!(public.requires_pkce(), "public clients always need PKCE");
}

async fn duplicate_client_id_is_a_meaningful_error(app: TestApp) {
    let realm = realm(&app, "kenpo-a").await;
    let create = || {
        clients::create(&app.state.db, &app.state.master_key, &realm, portal_spec("portal"), app.clock.now())
    };
    assert!(create().await.is_ok());
    let err = create().await.err();
    assert!(matches!(err, Some(kenpo_idp::flows::FlowError::Store(StoreError::ClientIdTaken))), "{err:?}");
    // The same client_id in another realm is fine.
    let other = self::realm(&app, "kenpo-b").await;
    let spec = portal_spec("portal");
    assert!(
        clients::create(&app.state.db, &app.state.master_key, &other, spec, app.clock.now()).await.is_ok()
    );
}

async fn user_id_and_email_uniqueness_are_meaningful_errors(app: TestApp) {
    let realm = realm(&app, "kenpo-a").await;
    let db = &app.state.db;
    let now = app.clock.now();
    let taro = db.create_user(&realm.id, member("taro1234", Some("Taro@Example.jp")), now).await;
    let taro = taro.unwrap_or_else(|e| panic!("create: {e}"));
    let again = db.create_user(&realm.id, member("taro1234", None), now).await;
    assert!(matches!(again, Err(StoreError::UsernameTaken)), "{again:?}");
    let same_mail = db.create_user(&realm.id, member("hanako12", Some("taro@example.JP")), now).await;
    assert!(matches!(same_mail, Err(StoreError::EmailTaken)), "{same_mail:?}");
    // Members without an address do not collide with each other.
    assert!(db.create_user(&realm.id, member("jiro1234", None), now).await.is_ok());
    assert!(db.create_user(&realm.id, member("saburo12", None), now).await.is_ok());

    let by_mail =
        db.user_by_email(&realm.id, &Email::parse("TARO@example.jp").unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(by_mail.ok().flatten().map(|u| u.id), Some(taro.id.clone()));
    let loaded = db.user_by_id(&realm.id, &taro.id).await.ok().flatten();
    assert_eq!(
        loaded.as_ref().map(|u| u.required_actions.clone()),
        Some(RequiredAction::FIRST_LOGIN.to_vec())
    );
    assert_eq!(loaded.map(|u| u.created_at), Some(now));
    assert_eq!(db.count_users(&realm.id).await.ok(), Some(3));

    // Another realm is another namespace.
    let other = self::realm(&app, "kenpo-b").await;
    assert!(db.create_user(&other.id, member("taro1234", Some("taro@example.jp")), now).await.is_ok());
}

async fn credentials_keep_one_password_and_unique_labels(app: TestApp) {
    let realm = realm(&app, "kenpo-a").await;
    let db = &app.state.db;
    let now = app.clock.now();
    let user =
        db.create_user(&realm.id, member("taro1234", None), now).await.unwrap_or_else(|e| panic!("{e}"));
    let first = hash_password("Tmp-pass-1").unwrap_or_else(|e| panic!("{e}"));
    assert!(db.create_credential(&user.id, NewCredential::password(&first), now).await.is_ok());
    let second = db.create_credential(&user.id, NewCredential::password(&first), now).await;
    assert!(matches!(second, Err(StoreError::PasswordExists)), "{second:?}");

    app.clock.advance(Duration::days(1));
    let replaced = hash_password("New-pass-2").unwrap_or_else(|e| panic!("{e}"));
    assert!(db.set_password(&user.id, &replaced, app.clock.now()).await.is_ok());
    let stored = db.password_of(&user.id).await.ok().flatten().unwrap_or_else(|| panic!("a password"));
    assert_eq!(stored.created_at, app.clock.now(), "作成日 is the new password's");
    let hash = stored.password().unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(verify_password(&hash, "New-pass-2"), PasswordCheck::Match { .. }));
    assert!(matches!(verify_password(&hash, "Tmp-pass-1"), PasswordCheck::Mismatch));

    let otp = |label: &str| NewCredential {
        kind: CredentialType::Otp,
        user_label: Some(label.to_owned()),
        secret_data: "{}".to_owned(),
        credential_data: "{}".to_owned(),
        webauthn_id: None,
    };
    assert!(db.create_credential(&user.id, otp("iPhone"), now).await.is_ok());
    assert!(db.create_credential(&user.id, otp("Pixel"), now).await.is_ok());
    let dup = db.create_credential(&user.id, otp("iPhone"), now).await;
    assert!(matches!(dup, Err(StoreError::CredentialLabelTaken)), "{dup:?}");
    let all = db.credentials_of(&user.id).await.unwrap_or_default();
    assert_eq!(all.len(), 3);
    assert!(!format!("{all:?}").contains("argon2"), "Debug leaves the secret data out");
}

async fn sessions_round_trip_and_delete(app: TestApp) {
    let realm = realm(&app, "kenpo-a").await;
    let db = &app.state.db;
    let user = db
        .create_user(&realm.id, member("taro1234", None), app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let new = NewUserSession {
        id: shared_crypto::random::token(),
        realm_id: realm.id.clone(),
        user_id: user.id.clone(),
        remember_me: true,
        ip_address: Some("192.0.2.10".to_owned()),
        user_agent: Some("Mozilla/5.0 (iPhone)".to_owned()),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        cookie_hash: "0".repeat(64),
    };
    let created = db.create_session(new, app.clock.now()).await.unwrap_or_else(|e| panic!("{e}"));
    app.clock.advance(Duration::minutes(3));
    assert!(db.touch_session(&created.id, app.clock.now()).await.is_ok());
    let loaded = db.session_by_id(&created.id).await.ok().flatten().unwrap_or_else(|| panic!("session"));
    assert_eq!(loaded.amr, vec!["pwd", "otp"]);
    assert_eq!(loaded.auth_time, created.auth_time);
    assert_eq!(loaded.last_seen_at, app.clock.now());
    assert_eq!(db.sessions_of(&user.id).await.map(|s| s.len()).ok(), Some(1));
    assert_eq!(db.delete_session(&created.id).await.ok(), Some(true));
    assert!(db.session_by_id(&created.id).await.ok().flatten().is_none());
}

async fn events_filter_by_type_user_and_time_newest_first(app: TestApp) {
    let realm = realm(&app, "kenpo-a").await;
    let db = &app.state.db;
    let start = app.clock.now();
    for (kind, user) in [
        (EventType::LoginError, "u1"),
        (EventType::Login, "u1"),
        (EventType::Login, "u2"),
        (EventType::UpdatePassword, "u1"),
    ] {
        app.clock.advance(Duration::seconds(10));
        let event = NewEvent { user_id: Some(user.to_owned()), error: None, ..NewEvent::default() };
        assert!(db.record_event(&realm.id, kind, event, app.clock.now()).await.is_ok());
    }
    let query = EventQuery {
        types: vec![EventType::Login, EventType::LoginError],
        user_id: Some("u1".to_owned()),
        max: 10,
        ..EventQuery::default()
    };
    let got = db.events(&realm.id, &query).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.iter().map(|e| e.kind).collect::<Vec<_>>(), vec![EventType::Login, EventType::LoginError]);

    let window = EventQuery {
        from: Some(start + Duration::seconds(15)),
        to: Some(start + Duration::seconds(35)),
        max: 10,
        ..EventQuery::default()
    };
    let got = db.events(&realm.id, &window).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.len(), 2);
    let paged = EventQuery { first: 1, max: 2, ..EventQuery::default() };
    let got = db.events(&realm.id, &paged).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.iter().map(|e| e.kind).collect::<Vec<_>>(), vec![EventType::Login, EventType::Login]);
}

async fn token_signed_before_rotation_verifies_until_its_key_is_retired(app: TestApp) {
    let realm = realm(&app, "kenpo-a").await;
    let (db, master) = (&app.state.db, &app.state.master_key);
    let ring = keys::ring(db, master, &realm.id, Algorithm::ES256)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("a key"));
    let token = jws::sign(ring.active(), Some("JWT"), br#"{"sub":"taro"}"#);
    let old_kid = ring.active().kid().to_owned();

    let new_kid = keys::rotate(db, master, &realm.id, Algorithm::ES256, app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let published = keys::jwks(db, &realm.id).await.unwrap_or_else(|e| panic!("{e}"));
    let kids: Vec<_> = published.keys.iter().filter_map(|k| k.kid.clone()).collect();
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid));
    assert!(jws::verify(&token, &published, &[Algorithm::ES256]).is_ok(), "still verifies after rotation");
    let ring = keys::ring(db, master, &realm.id, Algorithm::ES256)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("a key"));
    assert_eq!(ring.active().kid(), new_kid, "new tokens are signed by the new key");

    use kenpo_idp::store::KeyStore;
    assert_eq!(db.retire_key(&realm.id, &old_kid).await.ok(), Some(true));
    let published = keys::jwks(db, &realm.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(published.keys.len(), 1);
    assert!(jws::verify(&token, &published, &[Algorithm::ES256]).is_err(), "fails once retired");
}

/// Another replica (or the CLI) rotates the realm's key: a token it signs with the new key must
/// verify here although this server's key cache was loaded before the rotation.
async fn a_key_rotated_elsewhere_verifies_without_waiting_for_the_cache(app: TestApp) {
    let realm = realm(&app, "kenpo-a").await;
    let (db, master, cache) = (&app.state.db, &app.state.master_key, &app.state.keys);
    assert!(cache.published(db, &realm.id).await.is_ok(), "the cache holds the old set");
    // Reloads are rate-limited; this test stands where the last load is older than that.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;

    keys::rotate(db, master, &realm.id, Algorithm::ES256, app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ring = keys::ring(db, master, &realm.id, Algorithm::ES256)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("a key"));
    let token = jws::sign(ring.active(), Some("JWT"), br#"{"sub":"taro"}"#);

    let verified = cache.verify(db, &realm.id, &token).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(verified.is_some(), "an unknown kid re-reads the realm's keys");
    let forged = jws::sign(
        &shared_crypto::SigningKey::generate(Algorithm::ES256).unwrap_or_else(|e| panic!("{e}")),
        None,
        b"{}",
    );
    assert!(
        cache.verify(db, &realm.id, &forged).await.ok().flatten().is_none(),
        "a stranger's key still fails"
    );
}
