//! Passkeys (2-3, Q16, Q21): registration under a label unique per member, the passkey as the
//! second factor with its sign counter kept and on the lockout records, and passwordless
//! sign-in with a discoverable credential. Answers come from a software passkey
//! ([`SoftPasskey`]); the browser's side is the Chromium tests'.

use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::Kenpo;
use crate::soft_passkey::SoftPasskey;
use kenpo_idp::flows::brute_force::Lock;
use kenpo_idp::flows::lockout::IdentityCheck;
use kenpo_idp::flows::mfa::passkey::{self, PasskeyData, Setup, SignIn};
use kenpo_idp::flows::tokens::Ctx;
use kenpo_idp::i18n::{Locale, catalogue};
use kenpo_idp::store::{BruteForcePolicy, Credential, CredentialType, User, UserStore};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::net::IpAddr;
use time::Duration;

on_every_backend!(
    a_passkey_registers_discoverable_and_verified_under_a_label,
    registration_refuses_bad_labels_and_answers_that_are_not_valid,
    a_passkey_passes_as_second_factor_and_keeps_its_counter,
    a_cloned_or_replayed_answer_gets_in_at_most_once,
    wrong_answers_lock_like_wrong_passwords_and_a_cancel_counts_nothing,
    passwordless_sign_in_names_the_member_by_the_passkey_alone,
);

const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 40));
/// Passkeys need a domain name: the flows run as if the IdP were reached at localhost.
pub(crate) const ORIGIN: &str = "http://localhost:8080";
const ISSUER: &str = "http://localhost:8080/realms/lockout";

pub(crate) fn ctx(kenpo: &Kenpo) -> Ctx<'_> {
    kenpo.app.state.ctx(&kenpo.realm, ISSUER)
}

pub(crate) async fn member(kenpo: &Kenpo, id: &str) -> User {
    let found = kenpo.app.state.db.user_by_id(&kenpo.realm.id, id).await;
    found.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("no member {id}"))
}

async fn register(kenpo: &Kenpo, user: &User, device: &mut SoftPasskey, label: &str) -> Setup {
    let ctx = ctx(kenpo);
    let (options, ceremony) = passkey::start_registration(&ctx, user).await.unwrap_or_else(|e| panic!("{e}"));
    let answer = device.register(&options);
    passkey::finish_registration(&ctx, user, &ceremony, &answer, label)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn registered(kenpo: &Kenpo, user: &User, device: &mut SoftPasskey, label: &str) -> Credential {
    match register(kenpo, user, device, label).await {
        Setup::Registered(credential) => credential,
        Setup::Refused(errors) => panic!("registration refused: {errors:?}"),
    }
}

fn refused_fields(setup: Setup) -> Vec<(&'static str, &'static str)> {
    match setup {
        Setup::Refused(errors) => errors.iter().map(|e| (e.field, e.message)).collect(),
        Setup::Registered(c) => panic!("registered {c:?}"),
    }
}

/// The second factor with `device` answering.
pub(crate) async fn second_factor(kenpo: &Kenpo, user: &User, device: &mut SoftPasskey) -> IdentityCheck {
    let ctx = ctx(kenpo);
    let (options, ceremony) =
        passkey::start_second_factor(&ctx, user).await.unwrap_or_else(|e| panic!("{e}"));
    let answer = device.sign(&options);
    passkey::check_second_factor(&ctx, user, &ceremony, &answer, None, IP)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) async fn sign_in_with(kenpo: &Kenpo, answer: impl FnOnce(&Value) -> String) -> SignIn {
    let ctx = ctx(kenpo);
    let (options, ceremony) = passkey::start_sign_in(&ctx).unwrap_or_else(|e| panic!("{e}"));
    let answer = answer(&options);
    passkey::finish_sign_in(&ctx, &ceremony, &answer, None, IP).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn stored_data(kenpo: &Kenpo, user: &User) -> Vec<PasskeyData> {
    let all = passkey::passkeys(&ctx(kenpo), user).await.unwrap_or_else(|e| panic!("{e}"));
    all.iter().map(|c| PasskeyData::of(c).unwrap_or_else(|e| panic!("{e}"))).collect()
}

/// `value` with the JSON at `pointer` replaced: what a forged tab state would hold.
fn tampered<T: Serialize + DeserializeOwned>(value: &T, pointer: &str, with: Value) -> T {
    let mut json = serde_json::to_value(value).unwrap_or_else(|e| panic!("{e}"));
    match json.pointer_mut(pointer) {
        Some(slot) => *slot = with,
        None => panic!("no {pointer} in {json}"),
    }
    serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
}

async fn a_passkey_registers_discoverable_and_verified_under_a_label(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let user = member(&kenpo, &kenpo.taro.id).await;
    let ctx = ctx(&kenpo);

    let (options, _) = passkey::start_registration(&ctx, &user).await.unwrap_or_else(|e| panic!("{e}"));
    let mut phone = SoftPasskey::new(1, ORIGIN);
    let credential = registered(&kenpo, &user, &mut phone, "  iPhone  ").await;
    let (again, _) = passkey::start_registration(&ctx, &user).await.unwrap_or_else(|e| panic!("{e}"));

    let selection = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "discoverable, for passwordless sign-in");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    assert!(
        selection.get("authenticatorAttachment").is_none_or(Value::is_null),
        "hybrid (phone QR) not blocked"
    );
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(options["publicKey"]["user"]["name"], "taro1234");
    assert!(options["publicKey"].get("excludeCredentials").is_none_or(Value::is_null));
    assert_eq!(again["publicKey"]["excludeCredentials"][0]["id"], phone.id(), "no second registration");

    assert_eq!(credential.kind, CredentialType::Webauthn);
    assert_eq!(credential.user_label.as_deref(), Some("iPhone"));
    assert_eq!(credential.secret_data, "", "a public key is no secret");
    assert_eq!(credential.webauthn_id.as_deref(), Some(phone.id().as_str()));
    let data: Value = serde_json::from_str(&credential.credential_data).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(data["credentialId"], phone.id());
    assert_eq!(data["counter"], 0);
    assert_eq!((data["backupEligible"].clone(), data["backupState"].clone()), (false.into(), false.into()));
    let shown = format!("{credential:?} {:?}", stored_data(&kenpo, &user).await);
    assert!(
        shown.contains(&phone.id()) && !shown.contains("EC_EC2") && !shown.contains("COSEKey"),
        "{shown}"
    );
}

async fn registration_refuses_bad_labels_and_answers_that_are_not_valid(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let (taro, hanako) = (member(&kenpo, &kenpo.taro.id).await, member(&kenpo, &kenpo.hanako.id).await);
    let ctx = ctx(&kenpo);
    let mut phone = SoftPasskey::new(1, ORIGIN);
    let (options, ceremony) =
        passkey::start_registration(&ctx, &taro).await.unwrap_or_else(|e| panic!("{e}"));
    let answer = phone.register(&options);
    let finish = |user: &User, ceremony, answer: &str, label: &str| {
        let (ctx, user, answer, label) = (ctx, user.clone(), answer.to_owned(), label.to_owned());
        async move {
            passkey::finish_registration(&ctx, &user, &ceremony, &answer, &label)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };

    let nothing = finish(&taro, ceremony.clone(), r#"{"error":"NotAllowedError"}"#, " ").await;
    let too_long = finish(&taro, ceremony.clone(), &answer, &"あ".repeat(passkey::LABEL_MAX + 1)).await;
    let forged = tampered(&ceremony, "/state/rs/challenge", Value::from("AAAAAAAAAAAAAAAAAAAAAA"));
    let forged = finish(&taro, forged, &answer, "iPhone").await;
    let for_taro = finish(&hanako, ceremony.clone(), &answer, "iPhone").await;
    let checked =
        passkey::check_registration(&ctx, &taro, &ceremony, &answer).unwrap_or_else(|e| panic!("{e}"));
    // Nothing was spent by the refusals: the same answer registers with a good label.
    let first = finish(&taro, ceremony.clone(), &answer, "iPhone").await;
    let twice = finish(&taro, ceremony.clone(), &answer, "iPhone 2").await;
    let taken = register(&kenpo, &taro, &mut SoftPasskey::new(2, ORIGIN), "iPhone").await;
    let mut no_uv = SoftPasskey::unverified(3, ORIGIN);
    let unverified = register(&kenpo, &taro, &mut no_uv, "YubiKey").await;
    let mut elsewhere = SoftPasskey::new(4, "http://localhost.evil.test:8080");
    let phished = register(&kenpo, &taro, &mut elsewhere, "YubiKey").await;
    let (options, ceremony) =
        passkey::start_registration(&ctx, &taro).await.unwrap_or_else(|e| panic!("{e}"));
    let answer = SoftPasskey::new(5, ORIGIN).register(&options);
    kenpo.advance(passkey::CEREMONY_LIFETIME + Duration::seconds(1));
    let later = crate::passkey::ctx(&kenpo);
    let late = passkey::finish_registration(&later, &taro, &ceremony, &answer, "Pixel").await;
    let late = late.unwrap_or_else(|e| panic!("{e}"));

    let invalid = ("webauthn", "webauthn.invalid");
    assert_eq!(refused_fields(nothing), [invalid, ("userLabel", "webauthn.label_empty")]);
    assert_eq!(refused_fields(too_long), [("userLabel", "webauthn.label_long")]);
    assert_eq!(refused_fields(forged), [invalid], "the challenge is the server's");
    assert_eq!(refused_fields(for_taro), [invalid], "an answer for one member registers for no other");
    assert_eq!(checked, Ok(()));
    assert!(matches!(first, Setup::Registered(_)), "{first:?}");
    assert_eq!(refused_fields(twice), [invalid], "one credential id, stored once");
    assert_eq!(refused_fields(taken), [("userLabel", "webauthn.label_taken")]);
    assert_eq!(refused_fields(unverified), [invalid], "user verification is required");
    assert_eq!(refused_fields(phished), [invalid], "another origin's answer");
    assert_eq!(refused_fields(late), [invalid], "the ceremony expired");
    for key in ["webauthn.invalid", "webauthn.label_empty", "webauthn.label_long", "webauthn.label_taken"] {
        assert!(catalogue(Locale::Ja).contains_key(key) && catalogue(Locale::En).contains_key(key), "{key}");
    }
    assert_eq!(catalogue(Locale::Ja)["webauthn.invalid"], "セキュリティキーの登録が無効です", "Q16");
}

async fn a_passkey_passes_as_second_factor_and_keeps_its_counter(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let user = member(&kenpo, &kenpo.taro.id).await;
    let mut key = SoftPasskey::new(1, ORIGIN);
    let mut phone = SoftPasskey::synced(2, ORIGIN);
    registered(&kenpo, &user, &mut key, "YubiKey").await;
    registered(&kenpo, &user, &mut phone, "iPhone").await;
    let (options, _) =
        passkey::start_second_factor(&ctx(&kenpo), &user).await.unwrap_or_else(|e| panic!("{e}"));

    let by_key = second_factor(&kenpo, &user, &mut key).await;
    let by_key_again = second_factor(&kenpo, &user, &mut key).await;
    let by_phone = second_factor(&kenpo, &user, &mut phone).await;
    let by_stranger = second_factor(&kenpo, &user, &mut SoftPasskey::new(3, ORIGIN)).await;

    let allowed: Vec<_> = options["publicKey"]["allowCredentials"]
        .as_array()
        .map(|list| list.iter().map(|c| c["id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(allowed, [Value::from(key.id()), Value::from(phone.id())], "the member's passkeys only");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert_eq!([by_key, by_key_again, by_phone], [IdentityCheck::Passed; 3]);
    assert_eq!(by_stranger, IdentityCheck::Failed);
    let data = stored_data(&kenpo, &user).await;
    assert_eq!((data[0].counter, data[0].backup_eligible), (2, false), "the key's counter is kept");
    assert_eq!((data[1].counter, data[1].backup_eligible, data[1].backup_state), (0, true, true));
}

async fn a_cloned_or_replayed_answer_gets_in_at_most_once(app: TestApp) {
    let kenpo = Kenpo::new(
        app,
        BruteForcePolicy { quick_login_check_milliseconds: 0, ..BruteForcePolicy::default() },
    )
    .await;
    let user = member(&kenpo, &kenpo.taro.id).await;
    let ctx = ctx(&kenpo);
    let mut key = SoftPasskey::new(1, ORIGIN);
    registered(&kenpo, &user, &mut key, "YubiKey").await;
    let check = |ceremony, answer: String| {
        let user = user.clone();
        async move {
            passkey::check_second_factor(&ctx, &user, &ceremony, &answer, None, IP)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };

    // The same answer sent twice at once.
    let (options, ceremony) =
        passkey::start_second_factor(&ctx, &user).await.unwrap_or_else(|e| panic!("{e}"));
    let answer = key.sign(&options);
    let (a, b) =
        tokio::join!(check(ceremony.clone(), answer.clone()), check(ceremony.clone(), answer.clone()));
    let replayed = check(ceremony, answer).await;
    // A copy of the key, both answering ceremonies started against the same stored counter.
    let mut copy = key.clone();
    let (first, first_ceremony) =
        passkey::start_second_factor(&ctx, &user).await.unwrap_or_else(|e| panic!("{e}"));
    let (second, second_ceremony) =
        passkey::start_second_factor(&ctx, &user).await.unwrap_or_else(|e| panic!("{e}"));
    let by_key = check(first_ceremony, key.sign(&first)).await;
    let by_copy = check(second_ceremony, copy.sign(&second)).await;
    // The copy falls behind the original, which has moved on.
    key.sign(&first);
    let ahead = second_factor(&kenpo, &user, &mut key).await;
    let behind = second_factor(&kenpo, &user, &mut copy).await;

    let passed = [a, b].iter().filter(|c| **c == IdentityCheck::Passed).count();
    assert_eq!(passed, 1, "{a:?} {b:?}");
    assert_eq!(replayed, IdentityCheck::Failed, "a ceremony is answered once");
    assert_eq!((by_key, by_copy), (IdentityCheck::Passed, IdentityCheck::Failed), "same counter twice");
    assert_eq!((ahead, behind), (IdentityCheck::Passed, IdentityCheck::Failed), "a counter that went back");
}

async fn wrong_answers_lock_like_wrong_passwords_and_a_cancel_counts_nothing(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let user = member(&kenpo, &kenpo.taro.id).await;
    let ctx = ctx(&kenpo);
    let mut key = SoftPasskey::new(1, ORIGIN);
    registered(&kenpo, &user, &mut key, "YubiKey").await;

    let mut cancelled = Vec::new();
    for _ in 0..6 {
        kenpo.advance(Duration::seconds(2));
        let (_, ceremony) = passkey::start_second_factor(&ctx, &user).await.unwrap_or_else(|e| panic!("{e}"));
        let answer = r#"{"error":"NotAllowedError"}"#;
        cancelled.push(passkey::check_second_factor(&ctx, &user, &ceremony, answer, None, IP).await.ok());
    }
    kenpo.advance(Duration::seconds(2));
    let after_cancels = second_factor(&kenpo, &user, &mut key).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        kenpo.advance(Duration::seconds(2));
        seen.push(second_factor(&kenpo, &user, &mut SoftPasskey::new(9, ORIGIN)).await);
    }
    kenpo.advance(Duration::seconds(2));
    let right_but_locked = second_factor(&kenpo, &user, &mut key).await;
    let sign_in_locked = sign_in_with(&kenpo, |o| key.sign(o)).await;

    assert_eq!(cancelled, [Some(IdentityCheck::Failed); 6]);
    assert_eq!(after_cancels, IdentityCheck::Passed, "cancelling the prompt is no wrong answer");
    assert_eq!(seen[..4], [IdentityCheck::Failed; 4]);
    assert!(matches!(seen[4], IdentityCheck::Locked(Lock::Temporary { .. })), "{seen:?}");
    assert!(matches!(right_but_locked, IdentityCheck::Locked(_)), "{right_but_locked:?}");
    assert!(matches!(sign_in_locked, SignIn::Locked(_)), "no way around the lock: {sign_in_locked:?}");
}

async fn passwordless_sign_in_names_the_member_by_the_passkey_alone(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let (taro, hanako) = (member(&kenpo, &kenpo.taro.id).await, member(&kenpo, &kenpo.hanako.id).await);
    let mut phone = SoftPasskey::synced(1, ORIGIN);
    let mut hanakos = SoftPasskey::new(2, ORIGIN);
    registered(&kenpo, &taro, &mut phone, "iPhone").await;
    registered(&kenpo, &hanako, &mut hanakos, "Pixel").await;
    let (options, _) = passkey::start_sign_in(&ctx(&kenpo)).unwrap_or_else(|e| panic!("{e}"));

    let as_taro = sign_in_with(&kenpo, |o| phone.sign(o)).await;
    let as_hanako = sign_in_with(&kenpo, |o| hanakos.sign(o)).await;
    let unknown = sign_in_with(&kenpo, |o| SoftPasskey::new(3, ORIGIN).sign(o)).await;
    let mut impostor = phone.clone();
    impostor.user_handle.clone_from(&hanakos.user_handle);
    let wrong_handle = sign_in_with(&kenpo, |o| impostor.sign(o)).await;
    let cancelled = sign_in_with(&kenpo, |_| r#"{"error":"NotAllowedError"}"#.to_owned()).await;
    let ctx = ctx(&kenpo);
    let (o, ceremony) = passkey::start_sign_in(&ctx).unwrap_or_else(|e| panic!("{e}"));
    let answer = phone.sign(&o);
    let once = passkey::finish_sign_in(&ctx, &ceremony, &answer, None, IP).await.ok();
    let twice = passkey::finish_sign_in(&ctx, &ceremony, &answer, None, IP).await.ok();
    let result = kenpo.app.state.db.set_enabled(&kenpo.realm.id, &taro.id, false).await;
    result.unwrap_or_else(|e| panic!("{e}"));
    let disabled = sign_in_with(&kenpo, |o| phone.sign(o)).await;

    assert_eq!(options["mediation"], "conditional", "autofill where the browser offers it");
    assert!(
        options["publicKey"].get("allowCredentials").is_none_or(|v| v.as_array().is_none_or(Vec::is_empty))
    );
    assert_eq!(options["publicKey"]["userVerification"], "required");
    assert!(matches!(&as_taro, SignIn::Passed(u) if u.id == taro.id), "{as_taro:?}");
    assert!(matches!(&as_hanako, SignIn::Passed(u) if u.id == hanako.id), "{as_hanako:?}");
    assert!(matches!(unknown, SignIn::Refused), "{unknown:?}");
    assert!(matches!(wrong_handle, SignIn::Refused), "{wrong_handle:?}");
    assert!(matches!(cancelled, SignIn::Refused), "{cancelled:?}");
    assert!(matches!(once, Some(SignIn::Passed(_))), "{once:?}");
    assert!(matches!(twice, Some(SignIn::Refused)), "{twice:?}");
    assert!(matches!(disabled, SignIn::Disabled), "{disabled:?}");
}
