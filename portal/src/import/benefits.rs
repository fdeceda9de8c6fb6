//! benefits.csv: 給付金支給決定, one notice per line (spec §7).
//!
//! ```text
//! notice_no,symbol,number,branch,kind,paid_month,service_month,period_from,period_to,days,total_yen,public_yen,patient_yen,insurer_yen,amount_yen,daily_amount_yen,decided_on,paid_on,payee,income_category,many_times
//! N2025060001,1001,2345,00,kogaku,2025-06,2025-03,,,,1000000,0,300000,700000,212570,,2025-05-28,2025-06-20,事業主,ウ,0
//! N2025060002,1001,2345,00,shobyo,2025-06,,2025-04-01,2025-04-30,27,,,,,180000,6667,20250601,20250610,本人,,
//! ```
//!
//! `kind` is a code of `domain::BenefitKind` (or its Japanese label); `payee` is 事業主/本人
//! (employer/member). Only notice_no, the member, kind, paid_month, amount_yen, decided_on and
//! payee are required.

use super::{Columns, ImportLimits, LineError, MemberKey, ReasonCode, Row, parse_table, reject_duplicates};
use crate::domain::{BenefitKind, Month, Payee};

pub const COLUMNS: Columns = Columns {
    required: &[
        "notice_no",
        "symbol",
        "number",
        "branch",
        "kind",
        "paid_month",
        "amount_yen",
        "decided_on",
        "payee",
    ],
    optional: &[
        "service_month",
        "period_from",
        "period_to",
        "days",
        "total_yen",
        "public_yen",
        "patient_yen",
        "insurer_yen",
        "daily_amount_yen",
        "paid_on",
        "income_category",
        "many_times",
    ],
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitLine {
    pub line: u64,
    pub notice_no: String,
    pub member: MemberKey,
    pub kind: BenefitKind,
    pub paid_month: Month,
    pub service_month: Option<Month>,
    pub period_from: Option<String>,
    pub period_to: Option<String>,
    pub days: Option<i64>,
    pub total_yen: Option<i64>,
    pub public_yen: Option<i64>,
    pub patient_yen: Option<i64>,
    pub insurer_yen: Option<i64>,
    pub amount_yen: i64,
    pub daily_amount_yen: Option<i64>,
    pub decided_on: String,
    pub paid_on: Option<String>,
    pub payee: Payee,
    pub income_category: Option<String>,
    pub many_times: bool,
}

pub fn parse(bytes: &[u8], limits: ImportLimits) -> Result<Vec<BenefitLine>, Vec<LineError>> {
    let benefits = parse_table(bytes, limits, COLUMNS, parse_line)?;
    let errors = reject_duplicates(&benefits, |b| b.line, |b| b.notice_no.clone(), "notice_no");
    if errors.is_empty() { Ok(benefits) } else { Err(errors) }
}

fn parse_line(row: &mut Row<'_>) -> Option<BenefitLine> {
    let notice_no = row.required("notice_no", 40);
    let member = MemberKey::read(row);
    let kind = BenefitKind::parse(row.text("kind"));
    if kind.is_none() {
        row.fail(Some("kind"), ReasonCode::UnknownBenefitKind);
    }
    let paid_month = row.month("paid_month");
    let service_month = row.optional_month("service_month");
    let period_from = row.optional_date("period_from");
    let period_to = row.optional_date("period_to");
    if let (Some(Some(from)), Some(Some(to))) = (&period_from, &period_to)
        && from > to
    {
        row.fail(Some("period_to"), ReasonCode::PeriodReversed);
    }
    let days = row.optional_amount("days");
    let total_yen = row.optional_amount("total_yen");
    let public_yen = row.optional_amount("public_yen");
    let patient_yen = row.optional_amount("patient_yen");
    let insurer_yen = row.optional_amount("insurer_yen");
    let amount_yen = row.amount("amount_yen");
    let daily_amount_yen = row.optional_amount("daily_amount_yen");
    let decided_on = row.date("decided_on");
    let paid_on = row.optional_date("paid_on");
    let payee = Payee::parse(row.text("payee"));
    if payee.is_none() {
        row.fail(Some("payee"), ReasonCode::UnknownPayee);
    }
    let income_category = row.optional("income_category", 20);
    let many_times = row.flag("many_times", &["該当", "多数回"], &["非該当"]);
    Some(BenefitLine {
        line: row.line,
        notice_no: notice_no?,
        member: member?,
        kind: kind?,
        paid_month: paid_month?,
        service_month: service_month?,
        period_from: period_from?,
        period_to: period_to?,
        days: days?,
        total_yen: total_yen?,
        public_yen: public_yen?,
        patient_yen: patient_yen?,
        insurer_yen: insurer_yen?,
        amount_yen: amount_yen?,
        daily_amount_yen: daily_amount_yen?,
        decided_on: decided_on?,
        paid_on: paid_on?,
        payee: payee?,
        income_category: income_category?,
        many_times: many_times?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "notice_no,symbol,number,branch,kind,paid_month,service_month,period_from,period_to,days,total_yen,public_yen,patient_yen,insurer_yen,amount_yen,daily_amount_yen,decided_on,paid_on,payee,income_category,many_times\n";

    #[test]
    fn a_high_cost_and_an_allowance_notice_read() {
        let body = "N1,1001,2345,00,kogaku,2025-06,2025-03,,,,1000000,0,300000,700000,212570,,2025-05-28,2025-06-20,事業主,ウ,0\n\
                    N2,1001,2345,00,傷病手当金,2025-06,,2025-04-01,2025-04-30,27,,,,,180000,6667,20250601,20250610,member,,\n";
        let benefits = parse(format!("{HEADER}{body}").as_bytes(), ImportLimits::default())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((benefits[0].kind, benefits[0].payee), (BenefitKind::Kogaku, Payee::Employer));
        assert_eq!(benefits[0].income_category.as_deref(), Some("ウ"));
        assert_eq!((benefits[1].kind, benefits[1].days), (BenefitKind::Shobyo, Some(27)));
        assert_eq!(benefits[1].decided_on, "2025-06-01");
    }

    #[test]
    fn unknown_kinds_payees_and_reversed_periods_are_refused() {
        let body = "N1,1,1,00,bonus,2025-06,,2025-05-01,2025-04-01,,,,,,1,,2025-05-28,,会社,,\n";
        let errors =
            parse(format!("{HEADER}{body}").as_bytes(), ImportLimits::default()).err().unwrap_or_default();
        let codes: Vec<&str> = errors.iter().map(|e| e.reason.code()).collect();
        assert_eq!(codes, ["unknown_benefit_kind", "period_reversed", "unknown_payee"]);
    }
}
