//! `kenpo-idp user require-action`: the kenpo asks one member for a step at the next login.

use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::Kenpo;
use kenpo_idp::domain::RequiredAction;
use kenpo_idp::store::{BruteForcePolicy, UserStore};

on_every_backend!(an_operator_asks_a_member_for_a_step_at_the_next_login);

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
