//! Who handles whose 資格情報のお知らせ, through HTTP (spec §6, the kenpo setting
//! `qualification_pdf`): a dependant's own login sees their own notice (and none under
//! `insured_only`); the insured sees the household's, or only their own under `self`; any other
//! id is not found. And a notice is the document as issued: a later member import that changes
//! the name does not rewrite it.

use crate::helpers::{Browser, Idp, Portal, log_in_at, on_every_backend};
use kenpo_portal::domain::{KenpoId, NoticeReason};
use kenpo_portal::flows::qualification::{self, CardNumber};
use kenpo_portal::import::{ImportKind, ImportOptions, import_file};
use kenpo_portal::store::KenpoStore;
use reqwest::StatusCode;
use time::OffsetDateTime;
use time::macros::date;

on_every_backend!(
    a_dependants_own_login_handles_only_their_own_notice_and_none_under_insured_only,
    the_insured_handles_the_households_notices_or_only_their_own_under_self,
    an_issued_notice_keeps_the_name_it_stated_after_a_member_import,
);

const MEMBERS: &str =
    "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n";

/// The members' ids.
struct Family {
    taro: String,
    hanako: String,
    stranger: String,
}

async fn import_members(portal: &Portal, csv: &str) {
    let db = &portal.state.db;
    let id = KenpoId::parse(&portal.state.kenpo_id).unwrap_or_else(|| panic!("kenpo id"));
    let options = ImportOptions { file_name: "members.csv".to_owned(), ..ImportOptions::default() };
    import_file(db, &id, ImportKind::Members, csv.as_bytes(), &options, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("members: {e} {e:?}"));
}

fn members(sub: &str, login_branch: &str, hanako: &str) -> String {
    let (taro_sub, hanako_sub) = if login_branch == "00" { (sub, "") } else { ("", sub) };
    format!(
        "{MEMBERS}10,1001,00,本人,健保 太郎,,19790822,1,2015-04-01,,{taro_sub}\n\
         10,1001,01,家族,{hanako},,19810315,2,2016-06-01,,{hanako_sub}\n\
         10,2002,00,本人,他人 次郎,,19700101,1,2010-04-01,,\n"
    )
}

async fn record_notice(portal: &Portal, number: &str, branch: &str, issued_on: time::Date) -> String {
    let card = CardNumber { symbol: "10", number, branch };
    let now = OffsetDateTime::now_utc();
    qualification::record_notice(
        &portal.state.db,
        &portal.state.kenpo_id,
        card,
        issued_on,
        NoticeReason::Enrolment,
        None,
        now,
    )
    .await
    .unwrap_or_else(|e| panic!("notice {number}-{branch}: {e}"))
    .member_id
    .to_string()
}

/// The household of the suite's member, who signs in as the member with `login_branch`; each
/// of the three members has a notice.
async fn seed(portal: &Portal, idp: &Idp, login_branch: &str) -> Family {
    import_members(portal, &members(&idp.member.sub, login_branch, "健保 花子")).await;
    let issued_on = date!(2025 - 12 - 02);
    Family {
        taro: record_notice(portal, "1001", "00", issued_on).await,
        hanako: record_notice(portal, "1001", "01", issued_on).await,
        stranger: record_notice(portal, "2002", "00", issued_on).await,
    }
}

async fn set_qualification_pdf(portal: &Portal, value: &str) {
    let db = &portal.state.db;
    let kenpo = db.kenpo(&portal.state.kenpo_id).await.ok().flatten().unwrap_or_else(|| panic!("kenpo"));
    let changes = format!(r#"{{"qualification_pdf":"{value}"}}"#);
    kenpo_portal::flows::admin::change_settings(db, &kenpo, &changes, OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("settings: {e}"));
}

async fn pdf(portal: &Portal, browser: &Browser, member: &str) -> (StatusCode, Vec<u8>) {
    let (status, _, bytes) =
        browser.download(&portal.at(&format!("/qualification/notice/{member}.pdf"))).await;
    (status, bytes)
}

/// Which of `family`'s notices the browser downloads: `[taro, hanako, stranger]`.
async fn downloadable(portal: &Portal, browser: &Browser, family: &Family) -> [bool; 3] {
    let mut got = [false; 3];
    for (i, id) in [&family.taro, &family.hanako, &family.stranger].into_iter().enumerate() {
        let (status, bytes) = pdf(portal, browser, id).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{id}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        got[i] = status == StatusCode::OK;
    }
    got
}

/// The text of every page of a PDF, whitespace removed.
fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).unwrap_or_else(|e| panic!("not a readable PDF: {e}"));
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages)
        .unwrap_or_else(|e| panic!("extracting the text: {e}"))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

async fn a_dependants_own_login_handles_only_their_own_notice_and_none_under_insured_only(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let family = seed(&portal, &idp, "01").await;
    let browser = idp.browser();

    // The default (insured_for_household): the dependant's login handles their own documents.
    let page = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/qualification").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("記号 10　番号 1001　枝番 01"), "their own card: {}", page.body);
    assert!(!page.body.contains("枝番 00"), "not the insured's card: {}", page.body);
    assert_eq!(downloadable(&portal, &browser, &family).await, [false, true, false]);
    let (_, bytes) = pdf(&portal, &browser, &family.hanako).await;
    assert!(pdf_text(&bytes).contains("氏名健保花子"));

    // insured_only: only the insured's login handles them, the dependant's own included.
    set_qualification_pdf(&portal, "insured_only").await;
    assert_eq!(downloadable(&portal, &browser, &family).await, [false, false, false]);
    let page = browser.get(&portal.at("/qualification")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("枝番 01") && !page.body.contains("枝番 00"), "{}", page.body);
}

async fn the_insured_handles_the_households_notices_or_only_their_own_under_self(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let family = seed(&portal, &idp, "00").await;
    let browser = idp.browser();

    set_qualification_pdf(&portal, "self").await;
    let page = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/qualification").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("記号 10　番号 1001　枝番 00"), "{}", page.body);
    assert!(!page.body.contains("枝番 01"), "not the dependant's under self: {}", page.body);
    assert_eq!(downloadable(&portal, &browser, &family).await, [true, false, false]);

    set_qualification_pdf(&portal, "insured_only").await;
    let page = browser.get(&portal.at("/qualification")).await;
    assert!(page.body.contains("枝番 00") && page.body.contains("枝番 01"), "{}", page.body);
    assert_eq!(downloadable(&portal, &browser, &family).await, [true, true, false]);
    for other in ["not-a-uuid", "00000000-0000-4000-8000-000000000000"] {
        assert_eq!(pdf(&portal, &browser, other).await.0, StatusCode::NOT_FOUND, "{other}");
    }
}

async fn an_issued_notice_keeps_the_name_it_stated_after_a_member_import(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let family = seed(&portal, &idp, "00").await;
    let browser = idp.browser();

    // The dependant marries: the next member file carries her new name.
    import_members(&portal, &members(&idp.member.sub, "00", "山田 花子")).await;

    let page = log_in_at(&browser, &portal.url, &idp.issuer, &idp.member, "/qualification").await;
    assert!(page.body.contains("山田 花子"), "the page shows the member as they stand: {}", page.body);
    let (status, bytes) = pdf(&portal, &browser, &family.hanako).await;
    assert_eq!(status, StatusCode::OK);
    let text = pdf_text(&bytes);
    assert!(text.contains("氏名健保花子"), "the notice as issued: {text}");
    assert!(!text.contains("山田"), "not rewritten by the import: {text}");

    // The kenpo issues a new notice for the change: that one states the new name.
    let hanako = record_notice(&portal, "1001", "01", date!(2026 - 01 - 10)).await;
    assert_eq!(hanako, family.hanako, "the same member");
    let (status, bytes) = pdf(&portal, &browser, &family.hanako).await;
    assert_eq!(status, StatusCode::OK);
    let text = pdf_text(&bytes);
    assert!(text.contains("氏名山田花子") && !text.contains("健保花子"), "{text}");
}
