//! One portal, two kenpos: each signs its members in at its own IdP realm, with its own client,
//! at its own host; neither's session nor data crosses to the other, and a logout at one realm
//! reaches the portal over the back channel of that kenpo's host.

use crate::helpers::{Browser, Idp, log_in_at, on_every_backend};
use kenpo_portal::domain::KenpoId;
use kenpo_portal::import::{ImportKind, ImportOptions, import_file};
use reqwest::StatusCode;

on_every_backend!(a_second_kenpo_signs_in_at_its_own_realm_and_host_and_sees_only_its_data);

async fn import(db: &kenpo_portal::store::Db, kenpo: &str, kind: ImportKind, csv: &str) {
    let kenpo = KenpoId::parse(kenpo).unwrap_or_else(|| panic!("kenpo id {kenpo}"));
    let options = ImportOptions { file_name: format!("{kind}.csv"), ..ImportOptions::default() };
    import_file(db, &kenpo, kind, csv.as_bytes(), &options, time::OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{kind}: {e} {e:?}"));
}

const MEMBERS: &str =
    "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n";
const CLAIMS: &str = "claim_no,symbol,number,branch,service_month,category,institution,days,total_yen,insurer_yen,public_yen,patient_yen,meal_yen,statutory_refund_yen,additional_refund_yen,reduced\n";

async fn a_second_kenpo_signs_in_at_its_own_realm_and_host_and_sees_only_its_data(idp: Idp) {
    let portal = idp.spawn_portal().await;
    let b = idp.add_second_kenpo(&portal).await;
    let month = kenpo_portal::domain::Month::of(time::OffsetDateTime::now_utc().date()).minus(2);
    let db = &portal.state.db;
    // Each kenpo's systems send their own files; the two members share a user name, each at
    // their own realm.
    let (a, sub_a) = (portal.state.kenpo_id.clone(), idp.member.sub.clone());
    import(
        db,
        &a,
        ImportKind::Members,
        &format!("{MEMBERS}10,1001,00,本人,健保 太郎,,19790822,1,,,{sub_a}\n"),
    )
    .await;
    import(
        db,
        &a,
        ImportKind::Claims,
        &format!("{CLAIMS}A1,10,1001,00,{month},外来,エー医院,1,10000,7000,0,3000,,,,\n"),
    )
    .await;
    let sub_b = b.member.sub.clone();
    import(
        db,
        &b.kenpo.id,
        ImportKind::Members,
        &format!("{MEMBERS}20,3003,00,本人,美井 太郎,,19790822,1,,,{sub_b}\n"),
    )
    .await;
    import(
        db,
        &b.kenpo.id,
        ImportKind::Claims,
        &format!("{CLAIMS}B1,20,3003,00,{month},入院,ビー総合病院,5,500000,350000,0,150000,,,,\n"),
    )
    .await;

    let browser = Browser::new(&b.issuer);
    let start = browser.get(&b.at("/auth/login")).await;
    let authorize = start.redirect_target();
    assert!(authorize.query_pairs().any(|(k, v)| k == "client_id" && v == "portal-b"), "{authorize}");
    assert!(
        authorize.query_pairs().any(|(k, v)| k == "redirect_uri" && v == b.at("/auth/callback")),
        "the callback at B's host: {authorize}"
    );

    let page = log_in_at(&browser, &b.url, &b.issuer, &b.member, "/medical-expenses").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("ビー健康保険組合加入者ページ") && page.body.contains("ビー総合病院"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("エー医院"), "never the other kenpo's data");
    let profile = page.attr("a[href$='/account']", "href");
    assert_eq!(
        profile,
        format!("{}/account", b.issuer),
        "プロフィール変更 leads to B's realm's account pages"
    );

    // The same browser at the first kenpo's host is not signed in: sessions are per kenpo.
    let at_a = browser.get(&portal.at("/medical-expenses")).await;
    assert_eq!(at_a.status, StatusCode::SEE_OTHER, "no session at kenpo A");

    // The member signs out at realm B: the IdP calls B's back-channel URL, signed with B's keys.
    let ended = browser.logout(&[("client_id", "portal-b")]).await;
    assert!(ended.status.is_success() || ended.status.is_redirection(), "{}", ended.body);
    let mut signed_out = false;
    for _ in 0..50 {
        if browser.get(&b.at("/medical-expenses")).await.status == StatusCode::SEE_OTHER {
            signed_out = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(signed_out, "the back-channel logout ended kenpo B's portal session");
}
