//! The member portal as the IdP's relying party, end to end: a member logs in through the IdP's
//! hosted page, sees only their household's data, logs out through the manual's confirmation
//! (2-2), and a logout at the IdP ends the portal session over the back channel.

use crate::helpers::{Browser, Idp, Page, Portal, log_in_at, on_every_backend};
use reqwest::StatusCode;
use sqlx::Row;

on_every_backend!(
    a_member_logs_in_through_the_idp_and_sees_only_their_household,
    logout_asks_first_then_ends_the_portal_and_idp_sessions,
    a_logout_at_the_idp_ends_the_portal_session_over_the_back_channel,
    forged_and_replayed_logout_tokens_are_refused,
    the_e_tax_data_equals_the_imported_claims_and_wants_a_fresh_login,
    checkups_show_judgements_and_the_guidance_level,
    every_portal_page_passes_axe_on_a_phone,
);

/// The member's household (本人 + one dependant) and another household, with claims for each.
struct Seeded {
    own_dependant: String,
    stranger: String,
}

async fn seed(portal: &Portal, idp: &Idp) -> Seeded {
    let pool = portal.state.db.pool();
    let kenpo = portal.state.kenpo_id.clone();
    let id = || uuid::Uuid::new_v4().to_string();
    let (home, other) = (id(), id());
    for (household, number) in [(&home, "1001"), (&other, "2002")] {
        sqlx::query(
            "INSERT INTO households (id, kenpo_id, symbol, number, created_at) VALUES ($1, $2, '10', $3, 0)",
        )
        .bind(household)
        .bind(&kenpo)
        .bind(number)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("household: {e}"));
    }
    let (taro, hanako, stranger) = (id(), id(), id());
    let members = [
        (&taro, &home, "00", "insured", "健保 太郎", Some(idp.member.sub.clone())),
        (&hanako, &home, "01", "dependant", "健保 花子", None),
        (&stranger, &other, "00", "insured", "他人 次郎", None),
    ];
    for (member, household, branch, relation, name, subject) in members {
        sqlx::query(
            "INSERT INTO members (id, kenpo_id, household_id, branch, relation, name, birth_date, sex, subject, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, '1980-01-01', 'male', $7, 0)",
        )
        .bind(member)
        .bind(&kenpo)
        .bind(household)
        .bind(branch)
        .bind(relation)
        .bind(name)
        .bind(subject)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("member: {e}"));
    }
    let this_month = kenpo_portal::domain::Month::of(time::OffsetDateTime::now_utc().date());
    let claims = [
        (&taro, this_month.minus(3), "outpatient", "さくら内科クリニック", 3000),
        (&hanako, this_month.minus(4), "dental", "ひまわり歯科", 1500),
        (&stranger, this_month.minus(3), "outpatient", "他人クリニック", 9990),
    ];
    for (n, (member, month, category, institution, patient)) in claims.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO claims (id, kenpo_id, claim_no, member_id, service_month, category, institution, days, \
             total_yen, insurer_yen, public_yen, patient_yen, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, 0, $10, 0)",
        )
        .bind(id())
        .bind(&kenpo)
        .bind(format!("R{n}"))
        .bind(member)
        .bind(month.to_string())
        .bind(category)
        .bind(institution)
        .bind(patient * 10 / 3)
        .bind(patient * 10 / 3 - patient)
        .bind(patient)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("claim: {e}"));
    }
    Seeded { own_dependant: hanako, stranger }
}

/// Portal 「ログイン」 → IdP login page → credentials → callback → back on `path`, signed in.
async fn log_in(idp: &Idp, portal: &Portal, browser: &Browser, path: &str) -> Page {
    log_in_at(browser, &portal.url, &idp.issuer, &idp.member, path).await
}

async fn a_member_logs_in_through_the_idp_and_sees_only_their_household(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let seeded = seed(&portal, &idp).await;
    let browser = idp.browser();

    let anonymous = browser.get(&portal.at("/medical-expenses")).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "a health page wants a login first");

    let page = log_in(&idp, &portal, &browser, "/medical-expenses").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("健保 太郎"), "the member's name at the top right");
    assert!(
        page.body.contains("さくら内科クリニック") && page.body.contains("ひまわり歯科"),
        "the household's claims"
    );
    assert!(
        !page.body.contains("他人クリニック") && !page.body.contains("他人 次郎"),
        "never another household's"
    );

    let stranger = browser.get(&portal.at(&format!("/medical-expenses?person={}", seeded.stranger))).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "another household's member id is not found");
    assert!(!stranger.body.contains("他人クリニック"));
    let dependant =
        browser.get(&portal.at(&format!("/medical-expenses?person={}", seeded.own_dependant))).await;
    assert!(dependant.body.contains("ひまわり歯科") && !dependant.body.contains("さくら内科クリニック"));
    let garbage = browser.get(&portal.at("/medical-expenses?person=1%27%20OR%201%3D1&year=abc")).await;
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
    let bad_year = browser.get(&portal.at("/medical-expenses?year=abc")).await;
    assert_eq!(bad_year.status, StatusCode::OK, "a bad filter is reported, never a failure");
    assert!(bad_year.body.contains("年の指定が正しくありません"));

    let reads: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM health_data_reads WHERE what = 'medical_expenses'")
            .fetch_one(portal.state.db.pool())
            .await
            .map(|r| r.get::<i64, _>("n"))
            .unwrap_or_else(|e| panic!("reads: {e}"));
    assert!(reads >= 3, "every read of health data is recorded ({reads})");
}

async fn logout_asks_first_then_ends_the_portal_and_idp_sessions(idp: Idp) {
    let portal = idp.spawn_portal().await;
    seed(&portal, &idp).await;
    let browser = idp.browser();
    log_in(&idp, &portal, &browser, "/").await;

    let confirm = browser.get(&portal.at("/auth/logout")).await;
    assert!(confirm.body.contains("ログアウトしてもよろしいですか？"), "{}", confirm.body);
    let form = confirm.form("form[action='/auth/logout']");
    let forged = browser.submit(&form, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "a form without the session's token is refused");

    let confirm = browser.get(&portal.at("/auth/logout")).await;
    let out = browser.submit(&confirm.form("form[action='/auth/logout']"), &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let end_session = out.redirect_target();
    assert!(
        end_session.as_str().starts_with(&idp.endpoint("/protocol/openid-connect/logout")),
        "{end_session}"
    );
    assert!(end_session.query_pairs().any(|(k, _)| k == "id_token_hint"));
    let back = browser.follow(&out).await;
    assert!(back.status.is_redirection(), "the IdP signs out and sends the browser back: {}", back.body);
    assert_eq!(back.redirect_target().as_str(), portal.at("/"), "to the portal's top page");
    let top = browser.get(&portal.at("/")).await;
    assert!(top.body.contains(">ログイン</a>"), "the top page shows 「ログイン」 again");
    let again = browser.get(&portal.at("/medical-expenses")).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "the portal session is gone");
    let idp_again = browser.follow(&browser.get(&portal.at("/auth/login")).await).await;
    assert!(idp_again.find_login_form().is_some(), "the IdP session is gone too");
}

async fn a_logout_at_the_idp_ends_the_portal_session_over_the_back_channel(idp: Idp) {
    let portal = idp.spawn_portal().await;
    seed(&portal, &idp).await;
    let browser = idp.browser();
    log_in(&idp, &portal, &browser, "/medical-expenses").await;

    // The member signs out at the IdP itself (another app, say): the IdP tells the portal.
    let ended = browser.logout(&[("client_id", "portal")]).await;
    assert!(ended.status.is_success() || ended.status.is_redirection(), "{}", ended.body);
    let mut signed_out = false;
    for _ in 0..50 {
        let page = browser.get(&portal.at("/medical-expenses")).await;
        if page.status == StatusCode::SEE_OTHER {
            signed_out = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(signed_out, "the back-channel logout ended the portal session");
}

async fn forged_and_replayed_logout_tokens_are_refused(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let http = reqwest::Client::new();
    let url = portal.at("/auth/backchannel-logout");
    for body in [vec![], vec![("logout_token", "not-a-jwt")], vec![("logout_token", "a.b.c")]] {
        let response = http.post(&url).form(&body).send().await.unwrap_or_else(|e| panic!("post: {e}"));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
        let json: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(json["error"], "invalid_request");
    }
}

/// The launcher's demo household, imported through the kenpo-file path, tied to the suite's member.
pub(crate) async fn seed_demo(portal: &Portal, idp: &Idp) {
    let logins =
        [kenpo_portal::demo::DemoLogin { username: "k00000001".to_owned(), subject: idp.member.sub.clone() }];
    kenpo_portal::demo::seed(&portal.state, &logins, time::OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("demo data: {e}"));
}

async fn the_e_tax_data_equals_the_imported_claims_and_wants_a_fresh_login(idp: Idp) {
    let portal = idp.spawn_portal().await;
    seed_demo(&portal, &idp).await;
    let browser = idp.browser();
    let page = log_in(&idp, &portal, &browser, "/etax").await;
    assert!(page.body.contains("このデータに含まれる診療月"), "the page says which months are covered");
    let year = page.attr("select#year option[selected]", "value");

    let csv = browser.get(&portal.at(&format!("/etax/iryohi_{year}.csv"))).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    let text = csv.body.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let paid = header
        .iter()
        .position(|h| h.contains("支払った医療費の金額"))
        .unwrap_or_else(|| panic!("{header:?}"));
    let sum: i64 = lines
        .filter_map(|l| l.split(',').nth(paid))
        .map(|v| v.trim_matches('"').replace(',', "").parse::<i64>().unwrap_or(0))
        .sum();
    let expected: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(patient_yen), 0) AS BIGINT) AS s FROM claims WHERE service_month >= $1 AND service_month <= $2",
    )
    .bind(format!("{year}-01"))
    .bind(format!("{year}-12"))
    .fetch_one(portal.state.db.pool())
    .await
    .map(|r| r.get::<i64, _>("s"))
    .unwrap_or_else(|e| panic!("sum: {e}"));
    assert!(expected > 0, "the demo year has claims");
    assert_eq!(sum, expected, "the download's amounts are the imported claims'");

    let xlsx = browser.get(&portal.at(&format!("/etax/iryohi_{year}.xlsx"))).await;
    assert_eq!(xlsx.status, StatusCode::OK);

    // Ten minutes later the same download asks the IdP for a fresh authentication.
    portal.state.clock.advance(11 * 60);
    let stale = browser.get(&portal.at(&format!("/etax/iryohi_{year}.csv"))).await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER);
    let target = stale.redirect_target();
    assert!(target.as_str().contains("fresh=1"), "{target}");
    let authorize = browser.follow(&stale).await;
    let max_age =
        authorize.redirect_target().query_pairs().find(|(k, _)| k == "max_age").map(|(_, v)| v.into_owned());
    assert_eq!(max_age.as_deref(), Some("600"), "the IdP is asked for max_age");
}

async fn checkups_show_judgements_and_the_guidance_level(idp: Idp) {
    let portal = idp.spawn_portal().await;
    seed_demo(&portal, &idp).await;
    let browser = idp.browser();
    let page = log_in(&idp, &portal, &browser, "/checkups").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("積極的支援"), "the fixture's level by 階層化");
    assert!(
        page.body.contains("収縮期血圧") && page.body.contains("保健指導判定値"),
        "items judged by the rule set"
    );
    let prescriptions = browser.get(&portal.at("/prescriptions?drug=%E3%82%A2%E3%83%A0%E3%83%AD")).await;
    assert!(
        prescriptions.body.contains("アムロジピン") && !prescriptions.body.contains("ネキシウム"),
        "search by name"
    );
    let benefits = browser.get(&portal.at("/benefits")).await;
    assert!(benefits.body.contains("高額療養費"), "{}", benefits.body);
}

/// Every portal page, signed in through the IdP in real Chromium at 375 px: axe-core finds no
/// serious or critical violation and nothing scrolls sideways.
async fn every_portal_page_passes_axe_on_a_phone(idp: Idp) {
    let Some(chromium) = crate::helpers::chromium::Chromium::launch().await else { return };
    let portal = idp.spawn_portal().await;
    seed_demo(&portal, &idp).await;
    let (notice, message) = crate::portal_notices::seed_notice_and_message(&portal, &idp).await;
    let (notice, message) = (format!("/notices/{notice}"), format!("/inbox/{message}"));
    let survey_sheet = crate::portal_survey::open_demo_survey(&portal).await;
    let (sheet, sheet_refused, sheet_en) = (
        format!("/survey/{survey_sheet}"),
        format!("/survey/{survey_sheet}?upload_error=type&done=saved"),
        format!("/survey/{survey_sheet}?lang=en"),
    );
    let tab = chromium.tab().await;
    tab.goto(&portal.at("/")).await;
    tab.check_page("portal top, signed out").await;
    tab.goto(&portal.at("/auth/login?return_to=/")).await;
    tab.fill("form#kc-form-login [name=\"username\"]", &idp.member.username).await;
    tab.fill("form#kc-form-login [name=\"password\"]", &idp.member.password).await;
    tab.click("form#kc-form-login [type=submit]").await;
    let mut landed = String::new();
    for _ in 0..50 {
        landed = tab.url().await;
        if landed.starts_with(&portal.url) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(landed.starts_with(&portal.url), "signed in and back at the portal: {landed}");
    for (name, path) in [
        ("portal top", "/"),
        ("medical expenses", "/medical-expenses"),
        ("medical expenses, bad filter", "/medical-expenses?year=abc"),
        ("benefits", "/benefits"),
        ("prescriptions", "/prescriptions"),
        ("e-Tax", "/etax"),
        ("checkups", "/checkups"),
        ("guide", "/guide"),
        ("FAQ", "/faq"),
        ("settings", "/settings"),
        ("logout confirmation", "/auth/logout"),
        ("English medical expenses", "/medical-expenses?lang=en"),
        ("not found", "/no-such-page"),
        ("notices", "/notices"),
        ("notice", &notice),
        ("MYメール", "/inbox"),
        ("MYメール message", &message),
        ("MYメール, a message deleted", "/inbox?deleted=1"),
        ("qualification", "/qualification"),
        ("English qualification", "/qualification?lang=en"),
        ("dependant survey list", "/survey"),
        ("dependant survey sheet", sheet.as_str()),
        ("dependant survey sheet, upload refused", sheet_refused.as_str()),
        ("English dependant survey sheet", sheet_en.as_str()),
    ] {
        tab.goto(&portal.at(path)).await;
        tab.check_page(name).await;
        // The page itself, not the error page in its place.
        let heading = tab.heading().await;
        let failed = ["ただいま表示できません", "cannot be shown", "ページが見つかりません"]
            .iter()
            .any(|e| heading.contains(e));
        assert_eq!(failed, name == "not found", "{name}: the heading is {heading:?}");
    }
    chromium.close().await;
}
