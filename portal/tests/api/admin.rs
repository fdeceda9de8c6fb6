//! What operators change for a kenpo: its registration (own realm, client and host), its
//! settings and its よくある質問, through the flows and through the `kenpo-portal` binary.

use crate::helpers::{TEST_MASTER_KEY, TestApp, on_every_backend};
use kenpo_portal::flows::admin::{self, AdminError, Registration};
use kenpo_portal::i18n::Locale;
use kenpo_portal::oidc::RpError;
use kenpo_portal::store::{Kenpo, KenpoStore};
use kenpo_portal::tenant::Edition;
use secrecy::{ExposeSecret, SecretString};
use shared_crypto::MasterKey;
use std::io::Write;
use std::process::{Command, Stdio};
use time::OffsetDateTime;

on_every_backend!(
    a_second_kenpo_signs_in_with_its_own_sealed_client_at_its_own_host,
    settings_change_only_what_is_named_and_bad_values_change_nothing,
    a_kenpo_faq_replaces_the_manuals_and_english_readers_get_the_kenpos_japanese,
    the_binary_changes_settings_and_refuses_bad_input_with_exit_code_2,
    the_audit_lists_the_kenpos_reads_with_cards_and_names_in_japan_time,
);

const HOST_B: &str = "kenpo-b.portal.example.jp";
const ISSUER_B: &str = "https://idp.example.jp/realms/kenpo-b";

fn key() -> MasterKey {
    MasterKey::from_base64(TEST_MASTER_KEY).unwrap_or_else(|e| panic!("test key: {e}"))
}

async fn configured(app: &TestApp) -> Kenpo {
    let kenpo = app.state.db.kenpo_by_issuer(&app.state.config.idp_issuer).await;
    kenpo.ok().flatten().unwrap_or_else(|| panic!("the configured kenpo"))
}

async fn register_b(app: &TestApp, secret: &str) -> Result<Kenpo, AdminError> {
    let registration = Registration {
        issuer: format!("{ISSUER_B}/"),
        client_id: "portal-b".to_owned(),
        client_secret: SecretString::from(format!("{secret}\n")),
        host: HOST_B.to_uppercase(),
        display_name: "ビー健康保険組合加入者ページ".to_owned(),
    };
    admin::register_kenpo(&app.state.db, &key(), registration, OffsetDateTime::now_utc()).await
}

async fn a_second_kenpo_signs_in_with_its_own_sealed_client_at_its_own_host(app: TestApp) {
    let b = register_b(&app, "secret-of-kenpo-b").await.unwrap_or_else(|e| panic!("register: {e}"));
    assert_eq!((b.issuer.as_str(), b.host.as_deref()), (ISSUER_B, Some(HOST_B)));
    let sealed = b.client_secret_sealed.clone().unwrap_or_default();
    assert!(!sealed.is_empty() && !sealed.contains("secret-of-kenpo-b"), "stored sealed: {sealed}");

    let rp = app.state.rp(&b).await.unwrap_or_else(|e| panic!("kenpo B's relying party: {e}"));
    assert_eq!((rp.issuer(), rp.client_id()), (ISSUER_B, "portal-b"));
    assert_eq!(rp.redirect_uri(), format!("http://{HOST_B}/auth/callback"));
    let a = app.state.rp(&configured(&app).await).await.unwrap_or_else(|e| panic!("configured: {e}"));
    assert_eq!(a.client_id(), "portal");

    // The page at B's host is B's; the configured kenpo's stays the default.
    let body = page(&app, "/", Some(HOST_B)).await;
    assert!(body.contains("ビー健康保険組合加入者ページ"), "{body}");

    // A sealed secret moved to another kenpo's row does not open there: it is bound to B's issuer.
    let mut moved = configured(&app).await;
    moved.id = "another".to_owned();
    moved.host = Some("moved.example.jp".to_owned());
    moved.client_secret_sealed = Some(sealed);
    assert!(matches!(app.state.rp(&moved).await, Err(RpError::SecretUnreadable)));

    // A bad host or a missing secret is refused before anything is written.
    let bad = Registration {
        issuer: ISSUER_B.to_owned(),
        client_id: "portal-b".to_owned(),
        client_secret: SecretString::from(String::new()),
        host: HOST_B.to_owned(),
        display_name: "x".to_owned(),
    };
    let refused = admin::register_kenpo(&app.state.db, &key(), bad, OffsetDateTime::now_utc()).await;
    assert!(matches!(refused, Err(AdminError::NoSecret)));
    let bad_host = Registration {
        issuer: ISSUER_B.to_owned(),
        client_id: "portal-b".to_owned(),
        client_secret: SecretString::from("s".to_owned()),
        host: format!("https://{HOST_B}/"),
        display_name: "x".to_owned(),
    };
    let refused = admin::register_kenpo(&app.state.db, &key(), bad_host, OffsetDateTime::now_utc()).await;
    assert!(matches!(refused, Err(AdminError::BadHost(_))));
    let kept = app.state.db.kenpo_by_issuer(ISSUER_B).await.ok().flatten();
    assert_eq!(kept.map(|k| k.display_name).as_deref(), Some("ビー健康保険組合加入者ページ"));

    // A new secret builds a new relying party; the host cannot be taken by a second kenpo.
    let renewed = register_b(&app, "rotated-secret").await.unwrap_or_else(|e| panic!("renew: {e}"));
    assert_ne!(renewed.client_secret_sealed, b.client_secret_sealed);
    let rp2 = app.state.rp(&renewed).await.unwrap_or_else(|e| panic!("renewed: {e}"));
    assert!(!std::sync::Arc::ptr_eq(&rp, &rp2));
}

async fn page(app: &TestApp, path: &str, host: Option<&str>) -> String {
    let mut request = app.http.get(app.url(path));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap_or_default()
}

async fn settings_change_only_what_is_named_and_bad_values_change_nothing(app: TestApp) {
    let kenpo = configured(&app).await;
    let now = OffsetDateTime::now_utc();
    let changed =
        admin::change_settings(&app.state.db, &kenpo, r#"{"edition":"rich","refresh_day":15}"#, now)
            .await
            .unwrap_or_else(|e| panic!("change: {e}"));
    assert_eq!((changed.edition, changed.refresh_day, changed.retention_months), (Edition::Rich, 15, 24));
    let kenpo = configured(&app).await;
    assert_eq!(kenpo.settings, changed, "stored");

    for bad in [r#"{"refresh_day":31}"#, r#"{"edition":"gold"}"#, r#"{"retention":12}"#, "[1]", "{"] {
        let refused = admin::change_settings(&app.state.db, &kenpo, bad, now).await;
        assert!(refused.is_err(), "{bad}");
    }
    assert_eq!(configured(&app).await.settings, changed, "nothing changed");
}

const KENPO_FAQ: &str = r#"
[[category]]
title = "当組合のよくある質問"

[[category.items]]
question = "保険証の再交付を受けたい"
answer = ["「資格確認書」の再交付申請をご利用ください。", "<script>は表示されるだけです</script>"]
"#;

async fn a_kenpo_faq_replaces_the_manuals_and_english_readers_get_the_kenpos_japanese(app: TestApp) {
    let kenpo = configured(&app).await;
    let now = OffsetDateTime::now_utc();
    let before = page(&app, "/faq", None).await;
    assert!(before.contains("ユーザIDがわからない"), "the manual's FAQ by default");

    let refused =
        admin::set_faq(&app.state.db, &kenpo, Locale::Ja, Some("[[category]]\ntitle = \"\""), now).await;
    assert!(matches!(refused, Err(AdminError::Faq(_))));
    assert!(
        page(&app, "/faq", None).await.contains("ユーザIDがわからない"),
        "a refused file changes nothing"
    );

    admin::set_faq(&app.state.db, &kenpo, Locale::Ja, Some(KENPO_FAQ), now)
        .await
        .unwrap_or_else(|e| panic!("set: {e}"));
    let ja = page(&app, "/faq", None).await;
    assert!(ja.contains("保険証の再交付を受けたい") && !ja.contains("ユーザIDがわからない"), "{ja}");
    assert!(ja.contains("&lt;script&gt;") && !ja.contains("<script>は"), "answers are text, escaped");
    let en = page(&app, "/faq?lang=en", None).await;
    assert!(
        en.contains("保険証の再交付を受けたい"),
        "the kenpo's own answers over the manual's English: {en}"
    );

    let printed = admin::faq_document(&app.state.db, &kenpo, Locale::Ja).await.unwrap_or_default();
    assert_eq!(printed, KENPO_FAQ);
    admin::set_faq(&app.state.db, &kenpo, Locale::Ja, None, now)
        .await
        .unwrap_or_else(|e| panic!("reset: {e}"));
    assert!(page(&app, "/faq", None).await.contains("ユーザIDがわからない"), "back to the manual's");
    assert!(page(&app, "/faq?lang=en", None).await.contains("I want to create a user ID"));
}

pub(crate) fn portal_command(app: &TestApp, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kenpo-portal"))
        .args(args)
        .env("KENPO_PORTAL_DATABASE_URL", app.state.config.database_url.expose_secret())
        .env("KENPO_PORTAL_MASTER_KEY", TEST_MASTER_KEY)
        .env("KENPO_PORTAL_DATA_DIR", &app.state.config.data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("kenpo-portal: {e}"));
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).unwrap_or_else(|e| panic!("stdin: {e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("kenpo-portal: {e}"));
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap_or_default();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

async fn the_binary_changes_settings_and_refuses_bad_input_with_exit_code_2(app: TestApp) {
    let issuer = app.state.config.idp_issuer.clone();
    let (code, out, err) =
        portal_command(&app, &["settings", "--kenpo", &issuer, "--set", r#"{"edition":"rich"}"#], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"edition\": \"rich\""), "{out}");
    assert_eq!(configured(&app).await.settings.edition, Edition::Rich);

    let (code, _, err) =
        portal_command(&app, &["settings", "--kenpo", &issuer, "--set", r#"{"refresh_day":0}"#], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refresh_day"), "{err}");

    let add = ["kenpo", "add", "--issuer", ISSUER_B, "--client-id", "portal-b", "--name", "ビー"];
    let (code, _, err) = portal_command(&app, &[&add[..], &["--host", "bad host/x"]].concat(), "s3cret\n");
    assert_eq!(code, 2, "{err}");
    let (code, out, err) = portal_command(&app, &[&add[..], &["--host", HOST_B]].concat(), "s3cret\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(HOST_B), "{out}");
    let (_, list, _) = portal_command(&app, &["kenpo", "list"], "");
    assert!(list.contains(ISSUER_B) && list.contains(&issuer) && !list.contains("s3cret"), "{list}");
}

async fn the_audit_lists_the_kenpos_reads_with_cards_and_names_in_japan_time(app: TestApp) {
    use kenpo_portal::domain::KenpoId;
    use kenpo_portal::import::{ImportKind, ImportOptions, import_file};
    use kenpo_portal::store::{HealthDataRead, MemberStore, Reader, RecordStore};
    let kenpo = configured(&app).await;
    let id = KenpoId::parse(&kenpo.id).unwrap_or_else(|| panic!("kenpo id"));
    let csv = "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n\
               1001,2345,00,本人,健保 太郎,,19790822,1,,,7f0c1c2e-2a4b-4c1e-9d55-0b6f1e2d3c4a\n1001,2345,01,家族,健保 花子,,19810315,2,,,\n";
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(&app.state.db, &id, ImportKind::Members, csv.as_bytes(), &options, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("members: {e} {e:?}"));
    let taro = app
        .state
        .db
        .member_by_subject(&kenpo.id, "7f0c1c2e-2a4b-4c1e-9d55-0b6f1e2d3c4a")
        .await
        .ok()
        .flatten();
    let taro = taro.unwrap_or_else(|| panic!("taro"));
    let household =
        app.state.db.household(&taro.household_id).await.unwrap_or_else(|e| panic!("household: {e}"));
    let subjects: Vec<_> = household.iter().map(|m| m.id.clone()).collect();
    // 2026-11-24T09:30+09:00, then the next day (outside a one-day listing).
    for (at, detail) in [(1_795_480_200_000, "year=2026"), (1_795_480_200_000 + 86_400_000, "next-day")] {
        let read = HealthDataRead {
            kenpo_id: &kenpo.id,
            reader: Reader::Member(&taro.id),
            subjects: &subjects,
            what: "medical_expenses",
            detail,
            at_millis: at,
        };
        app.state.db.record_reads(read).await.unwrap_or_else(|e| panic!("record: {e}"));
    }
    // One of the kenpo's systems reads 花子's survey sheet through the API at 10:00.
    let read = HealthDataRead {
        kenpo_id: &kenpo.id,
        reader: Reader::ApiClient("kihan-system"),
        subjects: &subjects[1..],
        what: "survey_sheet",
        detail: "sheet-1",
        at_millis: 1_795_482_000_000,
    };
    app.state.db.record_reads(read).await.unwrap_or_else(|e| panic!("record: {e}"));
    let issuer = kenpo.issuer.clone();
    let (code, out, err) = portal_command(&app, &["reads", "--kenpo", &issuer, "--from", "2026-11-24"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("\u{feff}日時,閲覧者の種別,閲覧者の記号番号"), "{out}");
    assert!(
        out.contains("2026-11-24T09:30:00+09:00,加入者,1001-2345-00,健保 太郎,1001-2345-01,健保 花子,medical_expenses,year=2026"),
        "{out}"
    );
    assert!(
        out.contains(
            "2026-11-24T10:00:00+09:00,健保API,kihan-system,,1001-2345-01,健保 花子,survey_sheet,sheet-1"
        ),
        "the kenpo's system is named by its client_id, apart from members: {out}"
    );
    assert_eq!(out.lines().count(), 4, "a header and one line per person read that day: {out}");
    let (code, out, _) = portal_command(
        &app,
        &["reads", "--kenpo", &issuer, "--from", "2026-11-24", "--to", "2026-11-25", "--json"],
        "",
    );
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(json.as_array().map(Vec::len), Some(5), "{out}");
    let kinds: Vec<&str> =
        json.as_array().into_iter().flatten().filter_map(|r| r["reader_kind"].as_str()).collect();
    assert_eq!(kinds, ["member", "member", "api_client", "member", "member"], "{out}");
    let (code, _, err) = portal_command(&app, &["reads", "--kenpo", &issuer, "--from", "24/11/2026"], "");
    assert_eq!(code, 2, "{err}");
}
