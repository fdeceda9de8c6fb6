//! The member list import: all or nothing, idempotent, Shift_JIS the same as UTF-8.

use crate::helpers::{TestApp, on_every_backend};
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::{RequiredAction, Username};
use kenpo_idp::flows::import_members::{self, ImportError, ImportReport};
use kenpo_idp::flows::realms;
use kenpo_idp::store::{CredentialStore, Realm, UserStore};
use shared_crypto::password::{PasswordCheck, verify_password};

on_every_backend!(
    bad_line_3_of_5_imports_nothing_and_names_line_3,
    shift_jis_file_imports_the_same_as_its_utf8_twin,
    reimporting_the_same_file_changes_nothing,
    a_later_file_updates_what_the_kenpo_owns_only,
    an_id_taken_by_another_member_is_reported_by_line,
);

const HEADER: &str = "username,temporary_password,display_name,birthdate,email,relationship\n";

fn five_lines(line_3: &str) -> String {
    format!(
        "{HEADER}k0001,Tmp-pass-01,健保 太郎,19790822,taro@example.jp,本人\n\
         {line_3}\n\
         k0003,Tmp-pass-03,健保 次郎,20100101,,家族\n\
         k0004,Tmp-pass-04,健保 三郎,20120202,,家族\n\
         k0005,Tmp-pass-05,健保 四郎,20140303,,家族\n"
    )
}

async fn realm(app: &TestApp) -> Realm {
    let spec = realms::RealmSpec {
        name: "kenpo".to_owned(),
        display_name: "テスト健康保険組合加入者ページ".to_owned(),
        host: None,
    };
    realms::create(&app.state.db, &app.state.master_key, spec, app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("create realm: {e}"))
}

async fn import(app: &TestApp, realm: &Realm, bytes: &[u8]) -> Result<ImportReport, ImportError> {
    import_members::import(&app.state.db, realm, bytes, app.clock.now()).await
}

async fn bad_line_3_of_5_imports_nothing_and_names_line_3(app: TestApp) {
    let realm = realm(&app).await;
    // Line 1 is the header, so the second member is line 3.
    let file = five_lines("k0002,Tmp-pass-02,健保 花子,19821315,hanako@example.jp,家族");
    let Err(ImportError::Lines(errors)) = import(&app, &realm, file.as_bytes()).await else {
        panic!("a bad line must fail the import");
    };
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        vec!["line 3: birthdate: the birth date must be 8 digits, YYYYMMDD, and a real date"]
    );
    assert_eq!(app.state.db.count_users(&realm.id).await.ok(), Some(0), "nothing imported");
}

async fn shift_jis_file_imports_the_same_as_its_utf8_twin(app: TestApp) {
    let utf8 = five_lines("k0002,Tmp-pass-02,健保 花子,19820315,hanako@example.jp,家族");
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&utf8);
    assert!(!unmappable);
    assert_ne!(sjis.as_ref(), utf8.as_bytes(), "the twin really is Shift_JIS");

    let realm_a = realm(&app).await;
    let spec =
        realms::RealmSpec { name: "kenpo-sjis".to_owned(), display_name: "SJIS".to_owned(), host: None };
    let realm_b = realms::create(&app.state.db, &app.state.master_key, spec, app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let a = import(&app, &realm_a, utf8.as_bytes()).await.unwrap_or_else(|e| panic!("utf-8: {e}"));
    let b = import(&app, &realm_b, &sjis).await.unwrap_or_else(|e| panic!("shift_jis: {e}"));
    assert_eq!(a, ImportReport { created: 5, updated: 0, unchanged: 0 });
    assert_eq!(a, b);
    for id in ["k0001", "k0002", "k0005"] {
        let username = Username::parse_issued(id).unwrap_or_else(|e| panic!("{e}"));
        let ua = app
            .state
            .db
            .user_by_username(&realm_a.id, &username)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("{id} in a"));
        let ub = app
            .state
            .db
            .user_by_username(&realm_b.id, &username)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("{id} in b"));
        assert_eq!(
            (&ua.display_name, ua.birthdate, ua.relationship, &ua.email),
            (&ub.display_name, ub.birthdate, ub.relationship, &ub.email)
        );
    }
    let hanako = app
        .state
        .db
        .user_by_username(&realm_b.id, &Username::parse_issued("k0002").unwrap_or_else(|e| panic!("{e}")))
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("hanako"));
    assert_eq!(hanako.display_name, "健保 花子");
    assert!(hanako.temporary_id, "imported members carry the 仮ID flag");
    assert_eq!(hanako.required_actions, RequiredAction::FIRST_LOGIN.to_vec());
    let password =
        app.state.db.password_of(&hanako.id).await.ok().flatten().unwrap_or_else(|| panic!("password"));
    let hash = password.password().unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(verify_password(&hash, "Tmp-pass-02"), PasswordCheck::Match { needs_rehash: false }));
}

async fn reimporting_the_same_file_changes_nothing(app: TestApp) {
    let realm = realm(&app).await;
    let file = five_lines("k0002,Tmp-pass-02,健保 花子,19820315,hanako@example.jp,家族");
    let first = import(&app, &realm, file.as_bytes()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.created, 5);
    let taro_id = Username::parse_issued("k0001").unwrap_or_else(|e| panic!("{e}"));
    let before = app.state.db.user_by_username(&realm.id, &taro_id).await.ok().flatten();
    let password_before = app
        .state
        .db
        .password_of(&before.as_ref().map(|u| u.id.clone()).unwrap_or_default())
        .await
        .ok()
        .flatten();

    let second = import(&app, &realm, file.as_bytes()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second, ImportReport { created: 0, updated: 0, unchanged: 5 });
    assert_eq!(app.state.db.count_users(&realm.id).await.ok(), Some(5));
    let after = app.state.db.user_by_username(&realm.id, &taro_id).await.ok().flatten();
    assert_eq!(before, after);
    let password_after = app
        .state
        .db
        .password_of(&after.as_ref().map(|u| u.id.clone()).unwrap_or_default())
        .await
        .ok()
        .flatten();
    assert_eq!(password_before, password_after, "the password is not re-hashed or replaced");
}

async fn a_later_file_updates_what_the_kenpo_owns_only(app: TestApp) {
    let realm = realm(&app).await;
    let file = five_lines("k0002,Tmp-pass-02,健保 花子,19820315,hanako@example.jp,家族");
    assert!(import(&app, &realm, file.as_bytes()).await.is_ok());
    // The kenpo renames 花子 (marriage) and sends a new temporary password and email: only the
    // name is the kenpo's to change.
    let renamed = five_lines("k0002,Other-pass-9,山田 花子,19820315,yamada@example.jp,家族");
    let report = import(&app, &realm, renamed.as_bytes()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report, ImportReport { created: 0, updated: 1, unchanged: 4 });
    let id = Username::parse_issued("k0002").unwrap_or_else(|e| panic!("{e}"));
    let hanako = app
        .state
        .db
        .user_by_username(&realm.id, &id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("hanako"));
    assert_eq!(hanako.display_name, "山田 花子");
    assert_eq!(hanako.email.as_ref().map(|e| e.as_str()), Some("hanako@example.jp"));
    let hash = app.state.db.password_of(&hanako.id).await.ok().flatten().and_then(|p| p.password().ok());
    assert!(matches!(hash.map(|h| verify_password(&h, "Tmp-pass-02")), Some(PasswordCheck::Match { .. })));
}

async fn an_id_taken_by_another_member_is_reported_by_line(app: TestApp) {
    let realm = realm(&app).await;
    let first = format!("{HEADER}k0001,Tmp-pass-01,健保 太郎,19790822,taro@example.jp,本人\n");
    assert!(import(&app, &realm, first.as_bytes()).await.is_ok());
    // Another file's member reuses 太郎's address.
    let second = format!("{HEADER}k0009,Tmp-pass-09,健保 九郎,19790822,TARO@example.jp,本人\n");
    let Err(ImportError::Lines(errors)) = import(&app, &realm, second.as_bytes()).await else {
        panic!("the clash must be reported");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].to_string(), "line 2: email is used by another account of the realm");
    assert_eq!(app.state.db.count_users(&realm.id).await.ok(), Some(1));
}
