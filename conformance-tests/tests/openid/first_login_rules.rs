//! The rules and messages of first login's two choosing steps, over HTTP: ユーザIDの設定・認証方法の
//! 選択 (2-1 step 9: length, characters, the list of what is refused, uniqueness, the methods the
//! realm offers) and パスワードの変更 (step 10, FAQ Q7, 3-2: the policy, a realm's narrower one).

use crate::first_login::{TEMP, import_taro, walk_to};
use crate::helpers::*;
use kenpo_idp::domain::{AuthMethod, PASSWORD_SYMBOLS, RequiredAction};
use kenpo_idp::store::RealmStore;
use scraper::{ElementRef, Html, Selector};

on_every_backend!(
    user_id_rules_and_messages,
    password_policy_rules_and_messages,
    a_password_equal_to_the_user_id_just_chosen_is_refused_whatever_its_case,
    a_realms_narrower_password_policy_is_enforced_and_shown,
);

/// 生体認証 is offered only where passkeys work: the IdP reached by a domain name.
mod by_name {
    use super::*;
    shared_runtime::on_every_backend!(
        crate::helpers::spawn_idp_by_name;
        the_user_id_page_offers_the_realms_methods_and_stores_the_choice
    );
}

const USER_ID_PAGE: &str = "ユーザIDの設定・認証方法の選択";
const USER_ID_FORM: &str = "form#kc-user-id-form";
const PASSWORD_FORM: &str = "form#kc-passwd-update-form";
const HANAKO_TEMP: &str = "Temp-Pass-0002";
/// The manual's note beside 生体認証 (the method needs a device that can do it).
const PASSKEY_NOTE: &str = "※お手持ちのスマートデバイスに生体認証機能 (例：顔認証、指紋認証) が備わっている方のみ生体認証を選択できます。";

/// taro, with his address taken as verified: his first login reaches the user ID step after
/// the birth date and the address (no terms are published in these tests).
pub(crate) async fn import_taro_verified(idp: &Idp) {
    import_taro(idp).await;
    let mut taro = idp.user("k00000001").await;
    taro.email_verified = true;
    taro.complete(RequiredAction::VerifyEmail);
    idp.save(&taro).await;
}

/// hanako (仮ID k00000002), whose birth date and address are already confirmed: her first
/// login starts at the user ID step.
async fn import_hanako(idp: &Idp) {
    idp.import_members(&[&format!("k00000002,{HANAKO_TEMP},健保 花子,19820315,hanako@example.jp,家族")])
        .await;
    let mut hanako = idp.user("k00000002").await;
    hanako.email_verified = true;
    for done in [RequiredAction::VerifyBirthdate, RequiredAction::UpdateEmail, RequiredAction::VerifyEmail] {
        hanako.complete(done);
    }
    idp.save(&hanako).await;
}

fn select<'a>(html: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    let selector = Selector::parse(css).unwrap_or_else(|e| panic!("selector {css:?}: {e}"));
    html.select(&selector).collect()
}

fn text(element: &ElementRef<'_>) -> String {
    element.text().collect::<String>().trim().to_owned()
}

/// The methods the user ID page offers: each radio's value and the text of its label.
fn offered_methods(page: &Page) -> Vec<(String, String)> {
    let html = Html::parse_document(&page.body);
    select(&html, &format!("{USER_ID_FORM} input[type=radio][name=authMethod]"))
        .iter()
        .map(|radio| {
            let id = radio.value().attr("id").unwrap_or_else(|| panic!("a method radio without an id"));
            let label = select(&html, &format!("label[for=\"{id}\"]"));
            let label = label.first().unwrap_or_else(|| panic!("no label for #{id}"));
            (radio.value().attr("value").unwrap_or_default().to_owned(), text(label))
        })
        .collect()
}

async fn user_id_rules_and_messages(idp: Idp) {
    import_taro_verified(&idp).await;
    import_hanako(&idp).await;
    let mut j = walk_to(&idp, USER_ID_PAGE).await;
    j.on(USER_ID_PAGE);
    // 「利用不可文字一覧を見る」 lists what may not be used, without JavaScript: four kinds, each
    // with examples.
    assert!(j.page.body.contains("<summary>利用不可文字一覧を見る</summary>"));
    let html = Html::parse_document(&j.page.body);
    let kinds: Vec<String> = select(&html, "details.disallowed dt").iter().map(text).collect();
    let examples: Vec<String> = select(&html, "details.disallowed dd").iter().map(text).collect();
    assert_eq!(
        kinds,
        ["全角の英数字・記号", "ひらがな・カタカナ・漢字", "空白（スペース）", "- _ . @ 以外の記号"]
    );
    assert_eq!(
        examples,
        ["Ａ ａ １ ＠", "あ ア ｱ 漢", "␣", "! \" # $ % & ' ( ) * + , / : ; < = > ? [ \\ ] ^ ` { | } ~"]
    );
    let cases: [(&str, &str); 11] = [
        ("", "ユーザIDを入力してください。"),
        ("abc1234", "ユーザIDは8文字以上、13文字以内で入力してください。"),
        ("abcdefghij1234", "ユーザIDは8文字以上、13文字以内で入力してください。"),
        ("taroｋenpo01", "ユーザIDに利用できない文字「ｋ」が含まれています。"),
        ("taro+kenpo01", "ユーザIDに利用できない文字「+」が含まれています。"),
        ("taro kenpo1", "ユーザIDに利用できない文字「 」が含まれています。"),
        ("たろうkenpo01", "ユーザIDに利用できない文字「た」が含まれています。"),
        ("太郎kenpo0001", "ユーザIDに利用できない文字「太」が含まれています。"),
        ("taro1234", "このユーザIDは既に使用されています。別のユーザIDを入力してください。"),
        ("K00000001", "健保組合から発行された仮IDとは別のユーザIDを入力してください。"),
        ("TARO1234", "このユーザIDは既に使用されています。別のユーザIDを入力してください。"),
    ];
    for (typed, message) in cases {
        j.submit(USER_ID_FORM, &[("username", typed), ("authMethod", "email-otp")]).await;
        j.refused_with(&[message]);
    }
    // Every example the list gives is refused, with itself named (␣ stands for a space).
    for example in examples.iter().flat_map(|e| e.split(' ')) {
        let refused = if example == "␣" { " " } else { example };
        j.submit(USER_ID_FORM, &[("username", &format!("taro{refused}kenpo")), ("authMethod", "otp")]).await;
        j.refused_with(&[&format!("ユーザIDに利用できない文字「{refused}」が含まれています。")]);
    }
    // A method must be chosen.
    j.submit(USER_ID_FORM, &[("username", "taro_kenpo.1")]).await;
    j.refused_with(&["認証方法を選択してください。"]);
    assert_eq!(idp.user("k00000001").await.username.as_str(), "k00000001", "nothing refused was kept");

    // 13 characters, with every allowed symbol, pass (stored lower case)...
    j.submit(USER_ID_FORM, &[("username", "T.a_r-o@12345"), ("authMethod", "email-otp")]).await;
    j.on("パスワードの変更");
    let taro = idp.user("t.a_r-o@12345").await;
    assert_eq!(taro.auth_method, Some(AuthMethod::EmailOtp));
    assert!(taro.temporary_id, "still 仮ID until the password is the member's own");
    // ...and so do 8.
    let mut j = Journey::log_in(&idp, "k00000002", HANAKO_TEMP).await;
    j.on(USER_ID_PAGE);
    j.submit(USER_ID_FORM, &[("username", "H-n_k.@8"), ("authMethod", "otp")]).await;
    j.on("パスワードの変更");
    assert_eq!(idp.user("h-n_k.@8").await.auth_method, Some(AuthMethod::Otp));
}

async fn the_user_id_page_offers_the_realms_methods_and_stores_the_choice(idp: Idp) {
    import_taro_verified(&idp).await;
    import_hanako(&idp).await;
    let mut j = walk_to(&idp, USER_ID_PAGE).await;
    j.on(USER_ID_PAGE);

    // The three methods of the manual, with its names.
    let all = [
        ("webauthn", "生体認証"),
        ("otp", "ワンタイムパスワード (OTP) アプリ認証"),
        ("email-otp", "ワンタイムパスワード (OTP) メール認証"),
    ];
    let expected: Vec<(String, String)> =
        all.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect();
    assert_eq!(offered_methods(&j.page), expected);
    assert!(j.page.body.contains(PASSKEY_NOTE));
    // 生体認証 chosen is stored as the member's method.
    j.submit(USER_ID_FORM, &[("username", "taro-kenpo01"), ("authMethod", "webauthn")]).await;
    j.on("パスワードの変更");
    assert_eq!(idp.user("taro-kenpo01").await.auth_method, Some(AuthMethod::Webauthn));

    // A realm that turns 生体認証 off neither shows it nor takes it from a crafted form.
    let mut settings = idp.realm.settings.clone();
    settings.auth_methods.retain(|m| *m != AuthMethod::Webauthn);
    idp.state.db.update_realm_settings(&idp.realm.id, &settings).await.unwrap_or_else(|e| panic!("{e}"));
    idp.state.lookups.forget_realm(idp.realm.name.as_str());
    let mut j = Journey::log_in(&idp, "k00000002", HANAKO_TEMP).await;
    j.on(USER_ID_PAGE);
    assert_eq!(offered_methods(&j.page), expected[1..]);
    assert!(!j.page.body.contains(PASSKEY_NOTE), "no note about a method not offered");
    j.submit(USER_ID_FORM, &[("username", "hanako-k01"), ("authMethod", "webauthn")]).await;
    j.refused_with(&["認証方法を選択してください。"]);
    let hanako = idp.user("k00000002").await;
    assert_eq!((hanako.username.as_str(), hanako.auth_method), ("k00000002", None));
    j.submit(USER_ID_FORM, &[("username", "hanako-k01"), ("authMethod", "email-otp")]).await;
    j.on("パスワードの変更");
    assert_eq!(idp.user("hanako-k01").await.auth_method, Some(AuthMethod::EmailOtp));
}

/// The 仮ID member, owing only パスワードの変更.
async fn taro_owing_only_the_password(idp: &Idp) {
    import_taro(idp).await;
    let mut taro = idp.user("k00000001").await;
    taro.required_actions = vec![RequiredAction::UpdatePassword];
    idp.save(&taro).await;
}

async fn password_policy_rules_and_messages(idp: Idp) {
    taro_owing_only_the_password(&idp).await;
    let mut j = Journey::log_in(&idp, "k00000001", TEMP).await;
    j.on("パスワードの変更");
    let symbols = "!\"#$%&'()*~`{+}<>?_^\\@[;:],./-";
    let cases: [(String, String, &str); 7] = [
        (String::new(), String::new(), "パスワードを入力してください。"),
        ("Abc-123".into(), "Abc-123".into(), "パスワードの文字数が正しくありません。"),
        ("a".repeat(65), "a".repeat(65), "パスワードの文字数が正しくありません。"),
        ("Abc 12345".into(), "Abc 12345".into(), "パスワードに利用できない文字が含まれています。"),
        ("K00000001".into(), "K00000001".into(), "ユーザIDと同じパスワードは設定できません。"),
        ("Abc-12345".into(), "Abc-12346".into(), "パスワードが一致していません。"),
        (TEMP.into(), TEMP.into(), "現在のパスワードとは異なるパスワードを入力してください。"),
    ];
    for (new, confirm, message) in &cases {
        j.submit(PASSWORD_FORM, &[("password-new", new), ("password-confirm", confirm)]).await;
        j.refused_with(&[message]);
        assert!(
            !j.page.body.contains(&format!("value=\"{new}\"")) || new.is_empty(),
            "passwords are never echoed"
        );
    }
    // Every symbol of the manual, at the 64-character maximum.
    let longest = format!(
        "{symbols}{}",
        "a1".repeat(64 - symbols.len()).chars().take(64 - symbols.len()).collect::<String>()
    );
    assert_eq!(longest.len(), 64);
    j.submit(PASSWORD_FORM, &[("password-new", &longest), ("password-confirm", &longest)]).await;
    j.reached_client();
    let taro = idp.user("k00000001").await;
    assert!(taro.temporary_id, "the 仮ID flag stays until the member's own user ID is set");
}

async fn a_password_equal_to_the_user_id_just_chosen_is_refused_whatever_its_case(idp: Idp) {
    import_taro_verified(&idp).await;
    // Step 9 of the same login chooses taro-kenpo01 (a valid password too: 12 characters).
    let mut j = walk_to(&idp, "パスワードの変更").await;
    j.on("パスワードの変更");
    assert_eq!(idp.user("taro-kenpo01").await.username.as_str(), "taro-kenpo01");

    for same in ["taro-kenpo01", "Taro-Kenpo01", "TARO-KENPO01"] {
        j.submit(PASSWORD_FORM, &[("password-new", same), ("password-confirm", same)]).await;
        j.refused_with(&["ユーザIDと同じパスワードは設定できません。"]);
    }

    j.submit(PASSWORD_FORM, &[("password-new", "Taro-Kenpo02"), ("password-confirm", "Taro-Kenpo02")]).await;
    j.set_up_app("iPhone").await;
    j.reached_client();
    assert!(!idp.user("taro-kenpo01").await.temporary_id);
}

async fn a_realms_narrower_password_policy_is_enforced_and_shown(idp: Idp) {
    let mut settings = idp.realm.settings.clone();
    settings.password_policy.min_length = 12;
    settings.password_policy.max_length = 20;
    idp.state.db.update_realm_settings(&idp.realm.id, &settings).await.unwrap_or_else(|e| panic!("{e}"));
    idp.state.lookups.forget_realm(idp.realm.name.as_str());
    taro_owing_only_the_password(&idp).await;

    let mut j = Journey::log_in(&idp, "k00000001", TEMP).await;

    j.on("パスワードの変更");
    // The hint states the realm's bounds, not the manual's 8 and 64.
    let html = Html::parse_document(&j.page.body);
    let hint: Vec<String> = select(&html, "#password-new-hint").iter().map(text).collect();
    assert_eq!(
        hint,
        [format!(
            "12文字以上、20文字以内の半角英数字と記号 {PASSWORD_SYMBOLS} で入力します。ユーザIDと同じパスワードは設定できません。"
        )]
    );
    for (refused, length) in [("Abcd-123456", 11), ("Abcd-1234567890123456", 21)] {
        assert_eq!(refused.len(), length);
        j.submit(PASSWORD_FORM, &[("password-new", refused), ("password-confirm", refused)]).await;
        j.refused_with(&["パスワードの文字数が正しくありません。"]);
    }
    j.submit(PASSWORD_FORM, &[("password-new", "Abcd-1234567"), ("password-confirm", "Abcd-1234567")]).await;
    j.reached_client();
}
