//! `kenpo-idp user require-action`: the kenpo asks one member for a step at the next login;
//! `kenpo-idp user reset-second-factors`: the kenpo resets a lost phone (3-8).

use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::Kenpo;
use kenpo_idp::domain::OtpPolicy;
use kenpo_idp::domain::RequiredAction;
use kenpo_idp::store::{
    BruteForcePolicy, CredentialStore, CredentialType, NewCredential, OtpData, UserStore,
};

on_every_backend!(an_operator_asks_a_member_for_a_step_at_the_next_login, an_operator_resets_a_lost_phone,);

async fn an_operator_asks_a_member_for_a_step_at_the_next_login(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let run = |args: &[&str]| {
        let output = kenpo.app.cli(args);
        let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), format!("{out}{err}"))
    };

    let (assigned, said) =
        run(&["user", "require-action", "--realm", "lockout", "TARO1234", "UPDATE_PASSWORD"]);
    let (unknown, refused) = run(&["user", "require-action", "--realm", "lockout", "taro1234", "FLY"]);
    let (nobody, missing) =
        run(&["user", "require-action", "--realm", "lockout", "nobody123", "VERIFY_EMAIL"]);

    assert!(assigned && said.contains("taro1234 owes UPDATE_PASSWORD at the next login"), "{said}");
    assert!(!unknown && refused.contains("unknown required action \"FLY\""), "{refused}");
    assert!(!nobody && missing.contains("no member nobody123"), "{missing}");
    let taro = kenpo.app.state.db.user_by_id(&kenpo.realm.id, &kenpo.taro.id).await.ok().flatten();
    let owed = taro.map(|t| t.required_actions);
    assert_eq!(owed, Some(vec![RequiredAction::UpdatePassword]));
}

async fn an_operator_resets_a_lost_phone(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let db = &kenpo.app.state.db;
    let now = time::OffsetDateTime::now_utc();
    let app_data = OtpData::totp(&OtpPolicy::default(), 1);
    let phone = NewCredential::otp("sealed-seed".to_owned(), "iPhone".to_owned(), &app_data);
    db.create_credential(&kenpo.taro.id, phone, now).await.unwrap_or_else(|e| panic!("{e}"));

    let output = kenpo.app.cli(&["user", "reset-second-factors", "--realm", "lockout", "taro1234"]);
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));

    assert!(output.status.success(), "{said}");
    assert!(said.contains("taro1234: 1 second factor(s) removed"), "{said}");
    let left = db.credentials_of(&kenpo.taro.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(left.iter().all(|c| c.kind == CredentialType::Password), "only the password stays: {left:?}");
}
