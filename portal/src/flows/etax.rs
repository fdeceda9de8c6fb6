//! 医療費控除申請用データ: the claims of a calendar year as the documents the NTA's forms take.
//! Year = the claims' 診療年 (spec §3.4 says payment year; the kenpo's data knows the month of
//! care, which is when nearly all of it was paid). Only insured care is in the kenpo's data.

use crate::domain::{BenefitKind, Month, Payee};
use crate::export::{BenefitNotice, BenefitPeriod, MedicalExpenseNotice, NoticeRow};
use crate::store::{Benefit, Claim};
use time::Date;

/// The months of `year` the data covers: from January to the latest month the kenpo has
/// published (data arrives about three months after the month of care).
pub fn covered(year: i32, latest_published: Option<Month>) -> Option<(Month, Month)> {
    let first = Month::new(year, 1)?;
    let last = Month::new(year, 12)?.min(latest_published?);
    (first <= last).then_some((first, last))
}

/// The notice for `claims` (already only the year's and the member's household's, oldest first).
pub fn notice(
    insurer_name: &str,
    insured_name: &str,
    year: i32,
    covered: (Month, Month),
    issued_on: Date,
    claims: &[Claim],
    name_of: impl Fn(&crate::domain::MemberId) -> String,
) -> MedicalExpenseNotice {
    let rows = claims
        .iter()
        .map(|c| NoticeRow {
            patient_name: name_of(&c.member_id),
            service_month: c.service_month,
            institution: c.institution.clone(),
            category: c.category,
            days: u32::try_from(c.days).unwrap_or(0),
            total_yen: c.total_yen,
            patient_yen: c.patient_yen,
            reimbursed_yen: c.statutory_refund_yen + c.additional_refund_yen,
        })
        .collect();
    MedicalExpenseNotice {
        insurer_name: insurer_name.to_owned(),
        insured_name: insured_name.to_owned(),
        year,
        covered_months: covered,
        issued_on,
        rows,
    }
}

fn date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// The 支給決定通知書 of one decision.
pub fn benefit_notice(
    insurer_name: &str,
    recipient_name: &str,
    patient_name: &str,
    b: &Benefit,
    issued_on: Date,
) -> Option<BenefitNotice> {
    let period = match (
        &b.service_month,
        b.period_from.as_deref().and_then(date),
        b.period_to.as_deref().and_then(date),
    ) {
        (Some(m), _, _) => Some(BenefitPeriod::ServiceMonth(*m)),
        (None, Some(from), Some(to)) => Some(BenefitPeriod::Days { from, to }),
        _ => None,
    };
    Some(BenefitNotice {
        notice_no: b.notice_no.clone(),
        insurer_name: insurer_name.to_owned(),
        issued_on,
        recipient_name: recipient_name.to_owned(),
        patient_name: patient_name.to_owned(),
        kind_label: BenefitKind::parse(&b.kind).map_or_else(|| b.kind.clone(), |k| k.label_ja().to_owned()),
        period,
        days: b.days.and_then(|d| u32::try_from(d).ok()),
        total_yen: b.total_yen,
        public_yen: b.public_yen,
        patient_yen: b.patient_yen,
        insurer_yen: b.insurer_yen,
        amount_yen: b.amount_yen,
        decided_on: date(&b.decided_on)?,
        paid_on: b.paid_on.as_deref().and_then(date),
        // A stored payee this version cannot read is shown as paid through the employer.
        payee: Payee::parse(&b.payee).unwrap_or(Payee::Employer),
        income_category: b.income_category.clone(),
        many_times: b.many_times,
        daily_amount_yen: b.daily_amount_yen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_covered_months_end_at_the_latest_published() {
        let m = |y, mo| Month::new(y, mo).unwrap_or_else(|| panic!("month"));
        assert_eq!(covered(2026, Some(m(2026, 8))), Some((m(2026, 1), m(2026, 8))));
        assert_eq!(covered(2025, Some(m(2026, 8))), Some((m(2025, 1), m(2025, 12))));
        assert_eq!(covered(2027, Some(m(2026, 8))), None);
        assert_eq!(covered(2026, None), None);
    }
}
