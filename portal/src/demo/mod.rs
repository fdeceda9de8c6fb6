//! The demo kenpo's data, for the embedded launcher: one household of the IdP's three demo
//! members, with about two years of claims, benefit decisions, prescriptions and two checkups,
//! dated back from today so every page has something to show. Imported through the same code
//! as the kenpo's real files, so a second start changes nothing. The kenpo's paperwork (notices,
//! MYメール, qualification documents, the annual check) is in `extras`.

mod extras;

use crate::app::AppState;
use crate::domain::{KenpoId, Month};
use crate::flows::checkups;
use crate::import::{ImportError, ImportKind, ImportLimits, ImportOptions, import_file};
use crate::store::KenpoStore;
use std::fmt::Write;
use time::OffsetDateTime;

/// A demo login: the 仮ID the IdP issued and the IdP user's id (`sub`).
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub subject: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo {0}: {1}")]
    Import(&'static str, ImportError),
    #[error("demo checkups: {0}")]
    Checkups(#[from] checkups::ImportError),
    #[error("demo {0}: {1}")]
    Extra(&'static str, String),
}

/// Who is who in the demo household: the IdP's demo CSV (本人, 家族, 家族).
const PEOPLE: [(&str, &str, &str, &str, &str, &str); 3] = [
    ("k00000001", "00", "本人", "健保 太郎", "19790822", "男"),
    ("k00000002", "01", "家族", "健保 花子", "19820315", "女"),
    ("k00000003", "02", "家族", "健保 一郎", "20100405", "男"),
];

pub async fn seed(state: &AppState, logins: &[DemoLogin], now: OffsetDateTime) -> Result<(), DemoError> {
    let kenpo = KenpoId::parse(&state.kenpo_id).unwrap_or_default();
    let today = crate::domain::japan_date(now);
    let this_month = Month::of(today);
    let files = [
        (ImportKind::Members, "demo-members.csv", members(logins)),
        (ImportKind::Claims, "demo-claims.csv", claims(this_month)),
        (ImportKind::Benefits, "demo-benefits.csv", benefits(this_month)),
        (ImportKind::Prescriptions, "demo-prescriptions.csv", prescriptions(this_month)),
    ];
    for (kind, name, csv) in files {
        let options =
            ImportOptions { file_name: name.to_owned(), dry_run: false, limits: ImportLimits::default() };
        import_file(&state.db, &kenpo, kind, csv.as_bytes(), &options, now)
            .await
            .map_err(|e| DemoError::Import(name_of(kind), e))?;
    }
    for (template, months_ago, id) in [(CHECKUP_RECENT, 7, "DEMO-1"), (CHECKUP_EARLIER, 19, "DEMO-2")] {
        let exam = today.checked_sub(time::Duration::days(30 * months_ago)).unwrap_or(today);
        let xml = checkup(template, exam, id);
        let options =
            ImportOptions { file_name: format!("demo-checkup-{id}.xml"), ..ImportOptions::default() };
        checkups::import(&state.db, &kenpo, xml.as_bytes(), &options, now).await?;
    }
    let kenpo = state.db.kenpo(&state.kenpo_id).await.ok().flatten();
    let kenpo = kenpo.ok_or_else(|| DemoError::Extra("kenpo", state.kenpo_id.clone()))?;
    extras::seed(state, &kenpo, today, now).await
}

fn name_of(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Members => "members",
        ImportKind::Claims => "claims",
        ImportKind::Benefits => "benefits",
        ImportKind::Prescriptions => "prescriptions",
    }
}

fn members(logins: &[DemoLogin]) -> String {
    let mut csv = String::from(
        "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n",
    );
    for (username, branch, relation, name, birth, sex) in PEOPLE {
        let subject = logins.iter().find(|l| l.username == username).map_or("", |l| l.subject.as_str());
        let _ = writeln!(csv, "10,1234,{branch},{relation},{name},,{birth},{sex},2005-04-01,,{subject}");
    }
    csv
}

/// Claims for the 20 published months (data arrives three months after the month of care).
fn claims(this_month: Month) -> String {
    let mut csv = String::from(
        "claim_no,symbol,number,branch,service_month,category,institution,days,total_yen,insurer_yen,public_yen,\
         patient_yen,meal_yen,statutory_refund_yen,additional_refund_yen,reduced\n",
    );
    let mut line = |no: String,
                    branch: &str,
                    m: Month,
                    category: &str,
                    institution: &str,
                    days: u32,
                    total: i64,
                    refund: (i64, i64),
                    meal: i64| {
        let patient = total * 3 / 10;
        let _ = writeln!(
            csv,
            "{no},10,1234,{branch},{m},{category},{institution},{days},{total},{},0,{patient},{meal},{},{},0",
            total - patient,
            refund.0,
            refund.1
        );
    };
    for ago in 3..23u32 {
        let m = this_month.minus(ago);
        let n = m.to_string().replace('-', "");
        if ago % 2 == 1 {
            line(
                format!("D{n}01"),
                "00",
                m,
                "外来",
                "さくら内科クリニック",
                1,
                6_420 + i64::from(ago) * 130,
                (0, 0),
                0,
            );
            line(
                format!("D{n}02"),
                "00",
                m,
                "調剤",
                "あおば薬局 丸の内店",
                1,
                4_380 + i64::from(ago) * 40,
                (0, 0),
                0,
            );
        }
        if ago % 3 == 0 {
            line(format!("D{n}03"), "01", m, "歯科", "ひまわり歯科医院", 2, 8_900, (0, 0), 0);
        }
        if ago % 4 == 2 {
            line(format!("D{n}04"), "02", m, "外来", "こどもクリニックみなと", 1, 3_870, (0, 0), 0);
            line(format!("D{n}05"), "02", m, "調剤", "あおば薬局 丸の内店", 1, 1_960, (0, 0), 0);
        }
        if ago == 8 {
            line(
                format!("D{n}06"),
                "01",
                m,
                "入院",
                "東京けんぽ病院",
                6,
                1_200_000,
                (272_570, 67_430),
                41_400,
            );
        }
        if ago == 5 {
            line(format!("D{n}07"), "00", m, "柔整", "", 3, 7_300, (0, 0), 0);
        }
    }
    csv
}

fn benefits(this_month: Month) -> String {
    let mut csv = String::from(
        "notice_no,symbol,number,branch,kind,paid_month,service_month,period_from,period_to,days,total_yen,\
         public_yen,patient_yen,insurer_yen,amount_yen,daily_amount_yen,decided_on,paid_on,payee,income_category,many_times\n",
    );
    let service = this_month.minus(8);
    let paid = this_month.minus(5);
    let _ = writeln!(
        csv,
        "K{p}01,10,1234,01,kogaku,{paid},{service},,,6,1200000,0,360000,840000,272570,,{paid}-05,{paid}-20,事業主,ウ,0",
        p = paid.to_string().replace('-', "")
    );
    let _ = writeln!(
        csv,
        "K{p}02,10,1234,01,kazoku_fukakin,{paid},{service},,,6,1200000,0,360000,840000,67400,,{paid}-05,{paid}-20,事業主,,0",
        p = paid.to_string().replace('-', "")
    );
    csv
}

fn prescriptions(this_month: Month) -> String {
    let mut csv = String::from(
        "claim_no,line_no,symbol,number,branch,dispensed_month,pharmacy,prescriber,drug_name,generic_name,strength,\
         quantity,days,is_generic,amount_yen\n",
    );
    for ago in (3..23u32).filter(|a| a % 2 == 1) {
        let m = this_month.minus(ago);
        let n = m.to_string().replace('-', "");
        let _ = writeln!(
            csv,
            "D{n}02,1,10,1234,00,{m},あおば薬局 丸の内店,さくら内科クリニック,アムロジピン錠5mg「サワイ」,アムロジピンベシル酸塩,5mg 1錠,28錠,28,後発,560"
        );
        let _ = writeln!(
            csv,
            "D{n}02,2,10,1234,00,{m},あおば薬局 丸の内店,さくら内科クリニック,ロスバスタチン錠2.5mg「DSEP」,ロスバスタチンカルシウム,2.5mg 1錠,28錠,28,後発,700"
        );
        let _ = writeln!(
            csv,
            "D{n}02,3,10,1234,00,{m},あおば薬局 丸の内店,さくら内科クリニック,ネキシウムカプセル20mg,エソメプラゾールマグネシウム水和物,20mg 1カプセル,28カプセル,28,先発,1890"
        );
    }
    for ago in (3..23u32).filter(|a| a % 4 == 2) {
        let m = this_month.minus(ago);
        let n = m.to_string().replace('-', "");
        let _ = writeln!(
            csv,
            "D{n}05,1,10,1234,02,{m},あおば薬局 丸の内店,こどもクリニックみなと,ムコダイン錠250mg,L-カルボシステイン,250mg 1錠,15錠,5,先発,180"
        );
        let _ = writeln!(
            csv,
            "D{n}05,2,10,1234,02,{m},あおば薬局 丸の内店,こどもクリニックみなと,カロナール錠200,アセトアミノフェン,200mg 1錠,10錠,5,先発,90"
        );
    }
    csv
}

const CHECKUP_RECENT: &str = include_str!("../../tests/fixtures/checkup/h0000000001202504150001.xml");
const CHECKUP_EARLIER: &str = include_str!("../../tests/fixtures/checkup/h0000000001202404160001.xml");

/// A fixture exam (a file written to the MHLW format) made the demo insured person's, on `exam`.
fn checkup(template: &str, exam: time::Date, id: &str) -> String {
    let date = format!("{:04}{:02}{:02}", exam.year(), u8::from(exam.month()), exam.day());
    template
        .replace("extension=\"ケンポ１\"", "extension=\"10\"")
        .replace("extension=\"4321\"", "extension=\"1234\"")
        .replace("19721020", "19790822")
        .replace("<effectiveTime value=\"20250415\"/>", &format!("<effectiveTime value=\"{date}\"/>"))
        .replace("<effectiveTime value=\"20240416\"/>", &format!("<effectiveTime value=\"{date}\"/>"))
        .replace("extension=\"0000000001202504150001\"", &format!("extension=\"{id}\""))
        .replace("extension=\"0000000001202404160001\"", &format!("extension=\"{id}\""))
}
