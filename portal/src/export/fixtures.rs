//! Sample notices and the shared font for the export tests.

use std::sync::OnceLock;

use time::macros::date;

use super::{BenefitNotice, BenefitPeriod, MedicalExpenseNotice, NoticeRow, PdfFont};
use crate::domain::{Category, Month, Payee};

fn month(s: &str) -> Month {
    Month::parse(s).unwrap_or_else(|e| panic!("fixture month {s}: {e}"))
}

fn claim(
    patient: &str,
    service_month: &str,
    institution: Option<&str>,
    category: Category,
    days: u32,
    total_yen: i64,
) -> NoticeRow {
    let patient_yen = total_yen * 3 / 10;
    NoticeRow {
        patient_name: patient.to_owned(),
        service_month: month(service_month),
        institution: institution.map(str::to_owned),
        category,
        days,
        total_yen,
        patient_yen,
        reimbursed_yen: 0,
    }
}

/// A household's year: 12 claims, one of each 診療区分, a 柔整 claim with no institution, a
/// claim with 付加給付, and names that need CSV quoting or the formula guard.
pub(crate) fn notice() -> MedicalExpenseNotice {
    let mut rows = vec![
        claim("健保 太郎", "2025-01", Some("さくら内科クリニック"), Category::Outpatient, 2, 12_340),
        claim("健保 太郎", "2025-01", Some("ひまわり薬局 駅前店"), Category::Pharmacy, 1, 4_560),
        claim(
            "健保 花子",
            "2025-02",
            Some("医療法人社団 青葉会 青葉総合病院"),
            Category::Inpatient,
            6,
            842_000,
        ),
        claim("健保 花子", "2025-03", Some("みどり歯科医院"), Category::Dental, 3, 21_870),
        claim("健保 一郎", "2025-03", None, Category::Judo, 4, 9_800),
        claim(
            "健保 一郎",
            "2025-04",
            Some("訪問看護ステーションあおぞら"),
            Category::VisitingNursing,
            8,
            96_000,
        ),
        claim("健保 太郎", "2025-05", Some("Smith, \"Dr.\" Clinic"), Category::Outpatient, 1, 3_210),
        claim("健保 花子", "2025-06", Some("=HYPERLINK(\"http://x\")"), Category::Outpatient, 1, 2_880),
        claim("健保 花子", "2025-07", Some("-2+3 薬局"), Category::Pharmacy, 1, 1_230),
        claim("健保 一郎", "2025-08", Some("@こども医院"), Category::Outpatient, 2, 6_540),
        claim("健保 太郎", "2025-09", Some("さくら内科クリニック"), Category::Outpatient, 1, 5_430),
        claim("健保 太郎", "2025-10", Some("ひまわり薬局 駅前店"), Category::Pharmacy, 1, 7_650),
    ];
    // 高額療養費 and 一部負担還元金 were paid against the hospital stay.
    rows[2].patient_yen = 252_600;
    rows[2].reimbursed_yen = 165_000;
    MedicalExpenseNotice {
        insurer_name: "さくら電機健康保険組合".to_owned(),
        insured_name: "健保 太郎".to_owned(),
        year: 2025,
        covered_months: (month("2025-01"), month("2025-10")),
        issued_on: date!(2026 - 01 - 15),
        rows,
    }
}

/// A 高額療養費 decision paid through the employer.
pub(crate) fn high_cost_benefit() -> BenefitNotice {
    BenefitNotice {
        notice_no: "K-2025-000123".to_owned(),
        insurer_name: "さくら電機健康保険組合".to_owned(),
        issued_on: date!(2025 - 06 - 10),
        recipient_name: "健保 太郎".to_owned(),
        patient_name: "健保 花子".to_owned(),
        kind_label: "高額療養費".to_owned(),
        period: Some(BenefitPeriod::ServiceMonth(month("2025-02"))),
        days: Some(6),
        total_yen: Some(842_000),
        public_yen: Some(0),
        patient_yen: Some(252_600),
        insurer_yen: Some(589_400),
        amount_yen: 165_000,
        decided_on: date!(2025 - 05 - 28),
        paid_on: Some(date!(2025 - 06 - 20)),
        payee: Payee::Employer,
        income_category: Some("ウ".to_owned()),
        many_times: false,
        daily_amount_yen: None,
    }
}

/// A 傷病手当金 decision: a span of days, 日額 × 日数, no medical amounts.
pub(crate) fn sickness_benefit() -> BenefitNotice {
    BenefitNotice {
        notice_no: "S-2025-000045".to_owned(),
        insurer_name: "さくら電機健康保険組合".to_owned(),
        issued_on: date!(2025 - 08 - 10),
        recipient_name: "健保 太郎".to_owned(),
        patient_name: "健保 太郎".to_owned(),
        kind_label: "傷病手当金".to_owned(),
        period: Some(BenefitPeriod::Days { from: date!(2025 - 07 - 01), to: date!(2025 - 07 - 20) }),
        days: Some(17),
        total_yen: None,
        public_yen: None,
        patient_yen: None,
        insurer_yen: None,
        amount_yen: 113_339,
        decided_on: date!(2025 - 07 - 30),
        paid_on: None,
        payee: Payee::Member,
        income_category: None,
        many_times: false,
        daily_amount_yen: Some(6_667),
    }
}

/// The machine's Japanese font, loaded once for all tests. Without one the PDF tests are
/// skipped locally, but fail under CI (`CI` set), where the font must be installed.
pub(crate) fn font() -> Option<&'static PdfFont> {
    static FONT: OnceLock<Option<PdfFont>> = OnceLock::new();
    FONT.get_or_init(|| match PdfFont::discover() {
        Ok(font) => Some(font),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI needs a Japanese font (apt-get install fonts-noto-cjk): {e}")
        }
        Err(e) => {
            eprintln!("note: skipping PDF test, no Japanese font: {e}");
            None
        }
    })
    .as_ref()
}
