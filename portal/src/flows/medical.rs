//! 医療費照会: which claims a query selects, and the totals per person and year.

use crate::domain::{Category, MemberId, Month};
use crate::store::Claim;
use std::collections::BTreeMap;

/// The months a member may look at: the kenpo's retention back from this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub first: Month,
    pub last: Month,
}

impl Window {
    pub fn new(this_month: Month, retention_months: u32) -> Self {
        Self { first: this_month.minus(retention_months.saturating_sub(1)), last: this_month }
    }

    /// The calendar years the window touches, newest first.
    pub fn years(&self) -> Vec<i32> {
        (self.first.year()..=self.last.year()).rev().collect()
    }

    /// The part of `from..=to` inside the window, if any.
    pub fn clamp(&self, from: Month, to: Month) -> Option<(Month, Month)> {
        let (from, to) = (from.max(self.first), to.min(self.last));
        (from <= to).then_some((from, to))
    }
}

/// A query as the page's filters give it, already parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub year: Option<i32>,
    pub month: Option<Month>,
    pub category: Option<Category>,
}

impl Query {
    /// The months the query asks for, inside the window.
    pub fn months(&self, window: Window) -> Option<(Month, Month)> {
        match (self.month, self.year) {
            (Some(m), _) => window.clamp(m, m),
            (None, Some(y)) => window.clamp(Month::new(y, 1)?, Month::new(y, 12)?),
            (None, None) => Some((window.first, window.last)),
        }
    }

    pub fn keeps(&self, claim: &Claim) -> bool {
        self.category.is_none_or(|c| c == claim.category)
    }
}

/// One person's totals for one calendar year (診療年).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Totals {
    pub claims: usize,
    pub days: i64,
    pub total_yen: i64,
    pub insurer_yen: i64,
    pub public_yen: i64,
    pub patient_yen: i64,
    pub refunds_yen: i64,
}

impl Totals {
    fn add(&mut self, c: &Claim) {
        self.claims += 1;
        self.days += c.days;
        self.total_yen += c.total_yen;
        self.insurer_yen += c.insurer_yen;
        self.public_yen += c.public_yen;
        self.patient_yen += c.patient_yen;
        self.refunds_yen += c.statutory_refund_yen + c.additional_refund_yen;
    }
}

/// Totals per (year, person), years newest first.
pub fn totals(claims: &[Claim]) -> Vec<(i32, MemberId, Totals)> {
    let mut by: BTreeMap<(std::cmp::Reverse<i32>, MemberId), Totals> = BTreeMap::new();
    for c in claims {
        by.entry((std::cmp::Reverse(c.service_month.year()), c.member_id.clone())).or_default().add(c);
    }
    by.into_iter().map(|((y, m), t)| (y.0, m, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(y: i32, m: u8) -> Month {
        Month::new(y, m).unwrap_or_else(|| panic!("month"))
    }

    fn claim(member: &MemberId, m: Month, patient: i64) -> Claim {
        Claim {
            id: "c".into(),
            member_id: member.clone(),
            service_month: m,
            category: Category::Outpatient,
            institution: Some("クリニック".into()),
            days: 1,
            total_yen: patient * 10 / 3,
            insurer_yen: patient * 10 / 3 - patient,
            public_yen: 0,
            patient_yen: patient,
            meal_yen: 0,
            statutory_refund_yen: 0,
            additional_refund_yen: 0,
            reduced: false,
        }
    }

    #[test]
    fn the_window_is_the_retention_back_from_this_month() {
        let w = Window::new(month(2026, 11), 24);
        assert_eq!(w.first, month(2024, 12));
        assert_eq!(w.years(), [2026, 2025, 2024]);
        let q = Query { year: Some(2024), ..Query::default() };
        assert_eq!(q.months(w), Some((month(2024, 12), month(2024, 12))));
        let old = Query { year: Some(2020), ..Query::default() };
        assert_eq!(old.months(w), None, "older than the retention shows nothing");
    }

    #[test]
    fn totals_are_per_person_and_year() {
        let (a, b) = (MemberId::new(), MemberId::new());
        let claims = [
            claim(&a, month(2025, 3), 3000),
            claim(&a, month(2025, 4), 1500),
            claim(&b, month(2025, 4), 900),
            claim(&a, month(2026, 1), 600),
        ];
        let t = totals(&claims);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].0, 2026);
        let a2025 = t.iter().find(|(y, m, _)| *y == 2025 && *m == a).map(|(_, _, t)| t.patient_yen);
        assert_eq!(a2025, Some(4500));
    }
}
