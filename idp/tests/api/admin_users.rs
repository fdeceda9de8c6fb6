//! Members through the admin API: what the manual sends members to their kenpo for.

use crate::admin::Admin;
use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::{Browser, REALM, Seen};
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::{OtpPolicy, RequiredAction};
use kenpo_idp::store::{
    CredentialStore, CredentialType, MailKind, NewCredential, OtpData, OutboxStore, SessionStore, UserStore,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

on_every_backend!(
    staff_create_find_change_and_delete_members,
    search_pages_and_counts_like_keycloak,
    a_lost_phone_a_lockout_and_a_forgotten_password_are_fixed_through_the_api,
    sessions_are_listed_and_ended,
    execute_actions_email_mails_the_links_and_owes_the_rest,
);

fn users() -> String {
    format!("/admin/realms/{REALM}/users")
}

async fn staff_create_find_change_and_delete_members(app: TestApp) {
    let admin = Admin::new(app).await;
    let token = admin.token("ops-admin").await;
    let new = json!({
        "username": "K00000123",
        "email": "jiro@example.jp",
        "emailVerified": true,
        "firstName": "次郎",
        "lastName": "健保",
        "attributes": { "birthdate": ["19800102"], "relationship": ["dependant"], "temporaryId": ["true"] },
        "requiredActions": ["VERIFY_BIRTHDATE"],
        "credentials": [{ "type": "password", "value": "Kenpo-Start-123", "temporary": true }]
    });
    let created = admin.call(Method::POST, &users(), Some(&token), Some(new.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let location = created.location.clone().unwrap_or_default();
    let id = location.rsplit('/').next().unwrap_or_default().to_owned();
    assert!(location.ends_with(&format!("/admin/realms/{REALM}/users/{id}")), "{location}");

    let mut same_id = new.clone();
    same_id["email"] = json!("jiro.other@example.jp");
    let again = admin.call(Method::POST, &users(), Some(&token), Some(same_id)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.json()["errorMessage"], "User exists with same username");
    for (bad, why) in [
        (json!({ "username": "ユーザー" }), "characters"),
        (json!({ "username": "saburo01", "email": "not-an-address" }), "email"),
        (
            json!({ "username": "saburo01", "credentials": [{ "type": "password", "value": "short" }] }),
            "policy",
        ),
        (json!({ "username": "saburo01", "requiredActions": ["FLY"] }), "action"),
        (json!({ "username": "saburo01", "attributes": { "birthdate": ["1980-13-45"] } }), "birthdate"),
    ] {
        let refused = admin.call(Method::POST, &users(), Some(&token), Some(bad)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{why}: {}", refused.body);
        assert!(refused.json()["errorMessage"].as_str().is_some_and(|m| !m.is_empty()), "{why}");
    }
    let not_json = admin
        .app()
        .http
        .post(admin.app().url(&users()))
        .bearer_auth(&token)
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await;
    assert_eq!(not_json.map(|r| r.status()).ok(), Some(StatusCode::BAD_REQUEST));

    let read = admin.call(Method::GET, &format!("{}/{id}", users()), Some(&token), None).await.json();
    assert_eq!(read["username"], "k00000123");
    assert_eq!(read["firstName"], "健保 次郎");
    assert_eq!(read["attributes"]["birthdate"], json!(["1980-01-02"]));
    assert_eq!(read["attributes"]["relationship"], json!(["dependant"]));
    assert_eq!(read["requiredActions"], json!(["VERIFY_BIRTHDATE", "UPDATE_PASSWORD"]));
    assert_eq!(read["totp"], false);

    // Q13: the kenpo changes the name; nothing else moves.
    let renamed = admin
        .call(
            Method::PUT,
            &format!("{}/{id}/display-name", users()),
            Some(&token),
            Some(json!({ "displayName": "健保 二郎" })),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::NO_CONTENT, "{}", renamed.body);
    let empty = admin
        .call(
            Method::PUT,
            &format!("{}/{id}/display-name", users()),
            Some(&token),
            Some(json!({ "displayName": " " })),
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let update =
        json!({ "email": "jiro2@example.jp", "requiredActions": [], "attributes": { "locale": ["en"] } });
    let changed = admin.call(Method::PUT, &format!("{}/{id}", users()), Some(&token), Some(update)).await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let user = admin.app().state.db.user_by_id(&admin.kenpo.realm.id, &id).await.ok().flatten();
    let user = user.unwrap_or_else(|| panic!("the member"));
    assert_eq!(user.display_name, "健保 二郎");
    assert_eq!(user.email.as_ref().map(|e| e.as_str()), Some("jiro2@example.jp"));
    assert!(!user.email_verified, "a new address is not verified yet");
    assert!(user.required_actions.is_empty());
    assert_eq!(user.locale.as_deref(), Some("en"));
    assert_eq!(user.birthdate.map(|d| d.to_string()).as_deref(), Some("1980-01-02"), "untouched");

    // Q6: disabled, the member's sessions end.
    let browser = Browser::new();
    assert_eq!(browser.log_in(&admin.kenpo, "taro1234", "Correct-horse-1").await.seen(), Seen::Code);
    let taro = format!("{}/{}", users(), admin.kenpo.taro.id);
    let off = admin.call(Method::PUT, &taro, Some(&token), Some(json!({ "enabled": false }))).await;
    assert_eq!(off.status, StatusCode::NO_CONTENT);
    let sessions = admin.app().state.db.sessions_of(&admin.kenpo.taro.id).await.unwrap_or_default();
    assert!(sessions.is_empty(), "{sessions:?}");
    assert_ne!(browser.log_in(&admin.kenpo, "taro1234", "Correct-horse-1").await.seen(), Seen::Code);

    let deleted = admin.call(Method::DELETE, &format!("{}/{id}", users()), Some(&token), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let after = admin.call(Method::GET, &format!("{}/{id}", users()), Some(&token), None).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(
        admin.call(Method::DELETE, &format!("{}/{id}", users()), Some(&token), None).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn search_pages_and_counts_like_keycloak(app: TestApp) {
    let admin = Admin::new(app).await;
    let token = admin.token("ops-viewer").await;
    let manager = admin.token("ops-admin").await;
    for (username, email, name, birthdate) in [
        ("yamada001", "yamada@example.jp", "山田 太郎", "19790822"),
        ("yamada002", "hanako.yamada@example.jp", "山田 花子", "19810101"),
        ("suzuki001", "suzuki@example.jp", "鈴木 一郎", "19790822"),
    ] {
        let body = json!({ "username": username, "email": email, "firstName": name, "attributes": { "birthdate": [birthdate] } });
        let made = admin.call(Method::POST, &users(), Some(&manager), Some(body)).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    }
    let names = |answer: serde_json::Value| -> Vec<String> {
        answer
            .as_array()
            .map(|a| a.iter().map(|u| u["username"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    };
    let get = |query: &'static str| {
        let token = token.clone();
        let admin = &admin;
        async move { admin.call(Method::GET, &format!("{}?{query}", users()), Some(&token), None).await }
    };
    assert_eq!(names(get("search=yamada").await.json()), ["yamada001", "yamada002"]);
    assert_eq!(names(get("search=*ADA*").await.json()), ["yamada001", "yamada002"], "infix, any case");
    assert_eq!(names(get("search=ada").await.json()), Vec::<String>::new(), "prefix by default");
    assert_eq!(names(get("search=%22yamada002%22").await.json()), ["yamada002"]);
    assert_eq!(names(get("search=山田").await.json()), ["yamada001", "yamada002"], "by name");
    assert_eq!(names(get("email=suzuki%40example.jp&exact=true").await.json()), ["suzuki001"]);
    assert_eq!(names(get("username=a00").await.json()), ["yamada001", "yamada002"]);
    assert_eq!(names(get("q=birthdate:1979-08-22").await.json()), ["suzuki001", "yamada001"]);
    assert_eq!(
        names(get("search=%25").await.json()),
        Vec::<String>::new(),
        "% is a character, not a wildcard"
    );
    // The two Kenpo members and three more, by user ID, paged.
    assert_eq!(names(get("first=1&max=2").await.json()), ["suzuki001", "taro1234"]);
    assert_eq!(names(get("first=4&max=2").await.json()), ["yamada002"]);
    let count = admin.call(Method::GET, &format!("{}/count", users()), Some(&token), None).await;
    assert_eq!(count.json(), json!(5));
    let counted =
        admin.call(Method::GET, &format!("{}/count?search=yamada", users()), Some(&token), None).await;
    assert_eq!(counted.json(), json!(2));
    let brief = get("search=suzuki&briefRepresentation=true").await.json();
    assert!(brief[0].get("attributes").is_none(), "{brief}");
    assert_eq!(get("max=lots").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get("q=phone:1").await.status, StatusCode::BAD_REQUEST);
}

async fn a_lost_phone_a_lockout_and_a_forgotten_password_are_fixed_through_the_api(app: TestApp) {
    let admin = Admin::new(app).await;
    let token = admin.token("ops-admin").await;
    let taro = admin.kenpo.taro.clone();
    let base = format!("{}/{}", users(), taro.id);
    let db = &admin.app().state.db;
    let now = admin.app().clock.now();
    for label in ["iPhone", "iPad"] {
        let data = OtpData::totp(&OtpPolicy::default(), 1);
        let device = NewCredential::otp("sealed-seed".to_owned(), label.to_owned(), &data);
        db.create_credential(&taro.id, device, now).await.unwrap_or_else(|e| panic!("{e}"));
    }

    let listed = admin.call(Method::GET, &format!("{base}/credentials"), Some(&token), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(!listed.body.contains("sealed-seed") && !listed.body.contains("secretData"), "{}", listed.body);
    let listed = listed.json();
    let kinds: Vec<&str> =
        listed.as_array().map(|a| a.iter().filter_map(|c| c["type"].as_str()).collect()).unwrap_or_default();
    assert_eq!(kinds.iter().filter(|k| **k == "otp").count(), 2, "{listed}");
    assert!(kinds.contains(&"password"));
    let read = admin.call(Method::GET, &base, Some(&token), None).await.json();
    assert_eq!(read["totp"], true);
    let page = admin.call(Method::GET, &users(), Some(&token), None).await.json();
    let flags: Vec<(String, bool)> = page
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| (u["username"].as_str().unwrap_or_default().to_owned(), u["totp"] == true))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        flags,
        [("hanako12".to_owned(), false), ("taro1234".to_owned(), true)],
        "a search page flags apps too"
    );

    // One device deleted (3-8); another member's credential cannot be named through taro.
    let ipad = listed
        .as_array()
        .and_then(|a| a.iter().find(|c| c["userLabel"] == "iPad"))
        .and_then(|c| c["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let hanako = format!("{}/{}", users(), admin.kenpo.hanako.id);
    let wrong = admin.call(Method::DELETE, &format!("{hanako}/credentials/{ipad}"), Some(&token), None).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let gone = admin.call(Method::DELETE, &format!("{base}/credentials/{ipad}"), Some(&token), None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    // The rest of the phone: every second factor, every session.
    let reset = admin.call(Method::POST, &format!("{base}/reset-second-factors"), Some(&token), None).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(reset.json()["removed"], 1);
    let left = db.credentials_of(&taro.id).await.unwrap_or_default();
    assert!(left.iter().all(|c| c.kind == CredentialType::Password), "{left:?}");

    // Q5: locked out by wrong passwords, unlocked by the kenpo.
    let browser = Browser::new();
    for _ in 0..5 {
        browser.log_in(&admin.kenpo, "taro1234", "Wrong-horse-9").await;
    }
    assert_eq!(browser.log_in(&admin.kenpo, "taro1234", "Correct-horse-1").await.seen(), Seen::Locked);
    let status = admin
        .call(
            Method::GET,
            &format!("/admin/realms/{REALM}/attack-detection/brute-force/users/{}", taro.id),
            Some(&token),
            None,
        )
        .await
        .json();
    assert_eq!(status["disabled"], true, "{status}");
    assert!(status["numFailures"].as_u64().is_some_and(|n| n >= 2), "{status}");
    assert_eq!(status["lastIPFailure"], "127.0.0.1");
    let unlocked = admin
        .call(
            Method::DELETE,
            &format!("/admin/realms/{REALM}/attack-detection/brute-force/users/{}", taro.id),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(unlocked.status, StatusCode::NO_CONTENT);
    let status = admin
        .call(
            Method::GET,
            &format!("/admin/realms/{REALM}/attack-detection/brute-force/users/{}", taro.id),
            Some(&token),
            None,
        )
        .await
        .json();
    assert_eq!((status["disabled"].clone(), status["numFailures"].clone()), (json!(false), json!(0)));

    // A forgotten password: a temporary one from the kenpo, changed at the next login.
    let weak = admin
        .call(
            Method::PUT,
            &format!("{base}/reset-password"),
            Some(&token),
            Some(json!({ "type": "password", "value": "abc", "temporary": true })),
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST, "{}", weak.body);
    let set = admin
        .call(
            Method::PUT,
            &format!("{base}/reset-password"),
            Some(&token),
            Some(json!({ "type": "password", "value": "Kenpo-Temp-456", "temporary": true })),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
    let user = db.user_by_id(&admin.kenpo.realm.id, &taro.id).await.ok().flatten();
    assert!(user.is_some_and(|u| u.owes(RequiredAction::UpdatePassword)));
    let login = browser.log_in(&admin.kenpo, "taro1234", "Kenpo-Temp-456").await;
    assert!(login.location.as_deref().is_some_and(|l| l.contains("required-action")), "{login:?}");
    assert_eq!(
        Browser::new().log_in(&admin.kenpo, "taro1234", "Correct-horse-1").await.seen(),
        Seen::Invalid
    );

    // Everything above is in the admin events, in order, attributed to the service account.
    let path = format!("/admin/realms/{REALM}/admin-events?resourcePath=users/{}*&max=100", taro.id);
    let events = admin.call(Method::GET, &path, Some(&token), None).await.json();
    let ops: Vec<String> = events
        .as_array()
        .map(|a| {
            a.iter()
                .rev()
                .map(|e| {
                    format!(
                        "{} {}",
                        e["operationType"].as_str().unwrap_or_default(),
                        e["resourcePath"].as_str().unwrap_or_default().replace(&taro.id, "T")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let delete_ipad = format!("DELETE users/T/credentials/{ipad}");
    let expected = [
        "READ users/T/credentials",
        "READ users/T",
        delete_ipad.as_str(),
        "ACTION users/T/reset-second-factors",
        "ACTION users/T/reset-password",
        "ACTION users/T/reset-password",
    ];
    assert_eq!(ops, expected, "{events}");
    assert!(!events.to_string().contains("Kenpo-Temp-456"), "no password in an admin event");
}

async fn sessions_are_listed_and_ended(app: TestApp) {
    let admin = Admin::new(app).await;
    let token = admin.token("ops-admin").await;
    let base = format!("{}/{}", users(), admin.kenpo.hanako.id);
    let (phone, pc) = (Browser::new(), Browser::new());
    for browser in [&phone, &pc] {
        assert_eq!(browser.log_in(&admin.kenpo, "hanako12", "Correct-horse-2").await.seen(), Seen::Code);
    }
    let sessions = admin.call(Method::GET, &format!("{base}/sessions"), Some(&token), None).await.json();
    let sessions = sessions.as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions[0]["username"], "hanako12");
    assert_eq!(sessions[0]["ipAddress"], "127.0.0.1");
    assert!(sessions[0]["start"].as_i64().is_some_and(|t| t > 0));

    let out = admin.call(Method::POST, &format!("{base}/logout"), Some(&token), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = admin.call(Method::GET, &format!("{base}/sessions"), Some(&token), None).await.json();
    assert_eq!(after, json!([]));
    let left = admin.app().state.db.sessions_of(&admin.kenpo.hanako.id).await.unwrap_or_default();
    assert!(left.is_empty());
}

async fn execute_actions_email_mails_the_links_and_owes_the_rest(app: TestApp) {
    let admin = Admin::new(app).await;
    let token = admin.token("ops-admin").await;
    let db = &admin.app().state.db;
    let realm_id = admin.kenpo.realm.id.clone();
    let base = format!("{}/{}/execute-actions-email", users(), admin.kenpo.taro.id);

    // Without an address there is nothing to mail: Keycloak's 400.
    let missing = admin.call(Method::PUT, &base, Some(&token), Some(json!(["UPDATE_PASSWORD"]))).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["errorMessage"], "User email missing");

    let address = json!({ "email": "taro@example.jp", "emailVerified": true });
    let set = admin
        .call(Method::PUT, &format!("{}/{}", users(), admin.kenpo.taro.id), Some(&token), Some(address))
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    for (bad, why) in
        [(json!(["FLY"]), "unknown"), (json!([]), "empty"), (json!("UPDATE_PASSWORD"), "not a list")]
    {
        let refused = admin.call(Method::PUT, &base, Some(&token), Some(bad)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{why}: {}", refused.body);
    }
    let too_long = admin
        .call(
            Method::PUT,
            &format!("{base}?lifespan=99999999"),
            Some(&token),
            Some(json!(["UPDATE_PASSWORD"])),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);

    let sent = admin
        .call(
            Method::PUT,
            &format!("{base}?lifespan=3600"),
            Some(&token),
            Some(json!(["UPDATE_PASSWORD", "CONFIGURE_TOTP"])),
        )
        .await;
    assert_eq!(sent.status, StatusCode::NO_CONTENT, "{}", sent.body);
    let mails = db.realm_mails(&realm_id, 10).await.unwrap_or_default();
    let to_taro: Vec<MailKind> =
        mails.iter().filter(|m| m.recipient == "taro@example.jp").map(|m| m.kind).collect();
    assert_eq!(to_taro, [MailKind::ResetPassword], "one reset link, nothing for the TOTP setup");
    let user = db.user_by_id(&realm_id, &admin.kenpo.taro.id).await.ok().flatten();
    let owed = user.map(|u| u.required_actions).unwrap_or_default();
    assert_eq!(owed, [RequiredAction::UpdatePassword, RequiredAction::ConfigureTotp]);
}
