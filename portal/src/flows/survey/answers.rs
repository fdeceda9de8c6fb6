//! The questions of §5 for one dependant, kept as the member typed them (a save never loses
//! input, even a number typed wrong), checked only at 提出; the documents the answers call for;
//! and the income thresholds shown as guidance — the kenpo decides, the page never does.

use super::attachments::DocumentKind;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// 続柄.
pub const RELATIONSHIPS: [&str; 7] =
    ["spouse", "child", "parent", "grandchild", "sibling", "grandparent", "other"];
/// 同居 / 別居.
pub const LIVING: [&str; 2] = ["together", "apart"];
/// 職業 / 在学.
pub const OCCUPATIONS: [&str; 6] = ["student", "employee", "part_time", "self_employed", "none", "other"];
/// 収入の種類 (several may apply).
pub const INCOME_KINDS: [&str; 5] = ["salary", "pension", "business", "unemployment", "other"];
/// 仕送りの頻度.
pub const FREQUENCIES: [&str; 4] = ["monthly", "quarterly", "yearly", "irregular"];
/// 変更予定.
pub const CHANGES: [&str; 4] = ["none", "employment", "marriage", "other"];
pub const YES_NO: [&str; 2] = ["yes", "no"];

/// Longest free text kept (a school or employer name, a note).
const MAX_TEXT: usize = 200;

/// One dependant's answers. Choices hold one of the lists above or nothing; amounts hold what
/// was typed. Stored as one JSON document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Answers {
    pub relationship: String,
    pub living: String,
    pub occupation: String,
    /// School or workplace.
    pub occupation_detail: String,
    pub has_income: String,
    pub income_kinds: Vec<String>,
    /// 年間収入見込 (yen), as typed.
    pub annual_income: String,
    /// 仕送り額 (yen per time), when living apart.
    pub remittance: String,
    pub remittance_frequency: String,
    /// 他の健康保険加入.
    pub other_insurance: String,
    /// 配偶者の収入 (共同扶養: the insured's spouse's yearly income, when a child is shared).
    pub spouse_income: String,
    pub planned_change: String,
    pub planned_change_note: String,
}

/// A question answered wrongly or not at all: the field and the catalogue key saying why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub key: &'static str,
}

fn choice(value: &str, allowed: &[&str]) -> String {
    if allowed.contains(&value) { value.to_owned() } else { String::new() }
}

fn text(value: &str) -> String {
    value.trim().chars().take(MAX_TEXT).collect()
}

/// Yen as members type them: digits, with commas, spaces, full-width digits and a trailing 円
/// allowed (not 万 notation). At most ¥99,999,999,999.
pub fn parse_yen(typed: &str) -> Option<i64> {
    let digits: String = typed
        .trim()
        .trim_end_matches('円')
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' ' | '\u{3000}'))
        .map(|c| match c {
            '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c),
            _ => c,
        })
        .collect();
    if digits.is_empty() || digits.len() > 11 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl Answers {
    /// From the posted form's pairs (a checkbox list repeats its name). Unknown choices are
    /// dropped; free text is trimmed and shortened; amounts are kept as typed.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut a = Self::default();
        for (name, value) in pairs {
            match name {
                "relationship" => a.relationship = choice(value, &RELATIONSHIPS),
                "living" => a.living = choice(value, &LIVING),
                "occupation" => a.occupation = choice(value, &OCCUPATIONS),
                "occupation_detail" => a.occupation_detail = text(value),
                "has_income" => a.has_income = choice(value, &YES_NO),
                "income_kinds"
                    if INCOME_KINDS.contains(&value) && !a.income_kinds.iter().any(|k| k == value) =>
                {
                    a.income_kinds.push(value.to_owned());
                }
                "annual_income" => a.annual_income = text(value),
                "remittance" => a.remittance = text(value),
                "remittance_frequency" => a.remittance_frequency = choice(value, &FREQUENCIES),
                "other_insurance" => a.other_insurance = choice(value, &YES_NO),
                "spouse_income" => a.spouse_income = text(value),
                "planned_change" => a.planned_change = choice(value, &CHANGES),
                "planned_change_note" => a.planned_change_note = text(value),
                _ => {}
            }
        }
        a
    }

    pub fn has_income(&self) -> bool {
        self.has_income == "yes"
    }

    pub fn lives_apart(&self) -> bool {
        self.living == "apart"
    }

    /// What 提出 needs, per field, in the page's order. Empty when the sheet may be submitted.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut need = |field: &'static str, value: &str| {
            if value.is_empty() {
                errors.push(FieldError { field, key: "survey.error.required" });
            }
        };
        need("relationship", &self.relationship);
        need("living", &self.living);
        need("occupation", &self.occupation);
        need("has_income", &self.has_income);
        need("other_insurance", &self.other_insurance);
        need("planned_change", &self.planned_change);
        if self.has_income() {
            if self.income_kinds.is_empty() {
                errors.push(FieldError { field: "income_kinds", key: "survey.error.income_kinds" });
            }
            yen_field(&mut errors, "annual_income", &self.annual_income, true);
        } else {
            yen_field(&mut errors, "annual_income", &self.annual_income, false);
        }
        if self.lives_apart() {
            yen_field(&mut errors, "remittance", &self.remittance, true);
            if self.remittance_frequency.is_empty() {
                errors.push(FieldError { field: "remittance_frequency", key: "survey.error.required" });
            }
        }
        yen_field(&mut errors, "spouse_income", &self.spouse_income, false);
        errors
    }

    /// The documents these answers call for (§5 attachments), each once, in a fixed order.
    pub fn required_documents(&self) -> Vec<DocumentKind> {
        let mut kinds = Vec::new();
        let kinds_of = |k: &str| self.income_kinds.iter().any(|x| x == k);
        // (非)課税証明書: the income of the latest year, whatever it is (none is proven by it too).
        if self.has_income() || self.has_income == "no" && self.occupation != "student" {
            kinds.push(DocumentKind::IncomeCertificate);
        }
        if self.has_income() && kinds_of("salary") {
            kinds.push(DocumentKind::SalaryProof);
        }
        if self.has_income() && kinds_of("business") {
            kinds.push(DocumentKind::TaxReturn);
        }
        if self.has_income() && kinds_of("pension") {
            kinds.push(DocumentKind::PensionNotice);
        }
        if self.lives_apart() {
            kinds.push(DocumentKind::RemittanceProof);
        }
        if self.occupation == "student" {
            kinds.push(DocumentKind::StudentCertificate);
        }
        // Relatives beyond spouse, children, parents and grandchildren qualify only when living
        // with the insured, which 住民票 (世帯全員) shows.
        if self.living == "together"
            && matches!(self.relationship.as_str(), "sibling" | "grandparent" | "other")
        {
            kinds.push(DocumentKind::ResidenceRecord);
        }
        kinds
    }
}

fn yen_field(errors: &mut Vec<FieldError>, field: &'static str, typed: &str, required: bool) {
    if typed.is_empty() {
        if required {
            errors.push(FieldError { field, key: "survey.error.required" });
        }
    } else if parse_yen(typed).is_none() {
        errors.push(FieldError { field, key: "survey.error.yen" });
    }
}

/// The §5 income limits that apply to a dependant, as lines for the page. Guidance only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guidance {
    /// Catalogue keys, in order.
    pub lines: Vec<&'static str>,
    /// The limit that applies by age (130万, 150万 or 180万円), in yen.
    pub limit_yen: i64,
    /// The typed 年間収入見込 is at or over that limit: the page says the kenpo will look closely.
    pub over: bool,
}

/// §5: under 130万円 a year; 60 or older (or disabled) under 180万円; from 2025-10-01 aged 19 to
/// under 23 on 31 December of the year (spouses excepted) under 150万円; and besides, living
/// together under half the insured's income, living apart under the remittance.
pub fn guidance(birth: Date, base_date: Date, answers: &Answers) -> Guidance {
    let age = super::lifecycle::age_on(birth, base_date);
    let year_end = Date::from_calendar_date(base_date.year(), Month::December, 31).unwrap_or(base_date);
    let age_at_year_end = super::lifecycle::age_on(birth, year_end);
    let young_rule_starts = Date::from_calendar_date(2025, Month::October, 1).unwrap_or(base_date);
    let young = base_date >= young_rule_starts
        && (19..23).contains(&age_at_year_end)
        && answers.relationship != "spouse";
    let mut lines = vec!["survey.guidance.base"];
    let limit_yen = if age >= 60 {
        lines.push("survey.guidance.senior");
        1_800_000
    } else if young {
        lines.push("survey.guidance.young");
        1_500_000
    } else {
        1_300_000
    };
    lines.push(if answers.lives_apart() { "survey.guidance.apart" } else { "survey.guidance.together" });
    lines.push("survey.guidance.note");
    let over = parse_yen(&answers.annual_income).is_some_and(|y| y >= limit_yen);
    Guidance { lines, limit_yen, over }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn filled() -> Answers {
        Answers::from_pairs([
            ("relationship", "child"),
            ("living", "together"),
            ("occupation", "part_time"),
            ("has_income", "yes"),
            ("income_kinds", "salary"),
            ("income_kinds", "salary"),
            ("annual_income", "１,０８０,０００円"),
            ("other_insurance", "no"),
            ("planned_change", "none"),
        ])
    }

    #[test]
    fn a_partial_save_keeps_what_was_typed_and_drops_unknown_choices() {
        let a =
            Answers::from_pairs([("relationship", "boss"), ("annual_income", "12万"), ("living", "apart")]);
        assert_eq!(a.relationship, "");
        assert_eq!(a.annual_income, "12万", "kept as typed, checked at submit");
        assert_eq!(a.living, "apart");
    }

    #[test]
    fn submit_names_every_missing_or_wrong_field() {
        let fields: Vec<_> = Answers::default().check().iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["relationship", "living", "occupation", "has_income", "other_insurance", "planned_change"]
        );
        let mut a = filled();
        assert_eq!(a.check(), [], "{a:?}");
        a.income_kinds.clear();
        a.annual_income = "12万".into();
        a.living = "apart".into();
        let errors = a.check();
        assert!(errors.contains(&FieldError { field: "income_kinds", key: "survey.error.income_kinds" }));
        assert!(errors.contains(&FieldError { field: "annual_income", key: "survey.error.yen" }));
        assert!(errors.contains(&FieldError { field: "remittance", key: "survey.error.required" }));
        assert!(errors.contains(&FieldError { field: "remittance_frequency", key: "survey.error.required" }));
    }

    #[test]
    fn yen_is_read_with_commas_full_width_digits_and_a_trailing_yen() {
        assert_eq!(parse_yen("1,080,000"), Some(1_080_000));
        assert_eq!(parse_yen("１０８万"), None);
        assert_eq!(parse_yen("１,０８０,０００円"), Some(1_080_000));
        assert_eq!(parse_yen("-5"), None);
        assert_eq!(parse_yen(""), None);
        assert_eq!(parse_yen("999999999999"), None);
    }

    #[test]
    fn the_answers_decide_which_documents_are_needed() {
        assert_eq!(
            filled().required_documents(),
            [DocumentKind::IncomeCertificate, DocumentKind::SalaryProof]
        );
        let student_apart = Answers::from_pairs([
            ("relationship", "child"),
            ("living", "apart"),
            ("occupation", "student"),
            ("has_income", "no"),
        ]);
        assert_eq!(
            student_apart.required_documents(),
            [DocumentKind::RemittanceProof, DocumentKind::StudentCertificate]
        );
        let parent = Answers::from_pairs([
            ("relationship", "grandparent"),
            ("living", "together"),
            ("has_income", "yes"),
            ("income_kinds", "pension"),
            ("income_kinds", "business"),
        ]);
        assert_eq!(
            parent.required_documents(),
            [
                DocumentKind::IncomeCertificate,
                DocumentKind::TaxReturn,
                DocumentKind::PensionNotice,
                DocumentKind::ResidenceRecord
            ]
        );
    }

    #[test]
    fn the_income_limit_follows_age_and_the_2025_rule_but_only_guides() {
        let base = date!(2026 - 06 - 01);
        let a = filled();
        // 20 on 31 December 2026: the 150万円 rule (not a spouse).
        let g = guidance(date!(2006 - 08 - 01), base, &a);
        assert_eq!(g.limit_yen, 1_500_000);
        assert!(!g.over);
        let mut spouse = a.clone();
        spouse.relationship = "spouse".into();
        assert_eq!(guidance(date!(2006 - 08 - 01), base, &spouse).limit_yen, 1_300_000);
        // Before 2025-10-01 the rule did not exist.
        assert_eq!(guidance(date!(2005 - 08 - 01), date!(2025 - 06 - 01), &a).limit_yen, 1_300_000);
        let senior = guidance(date!(1960 - 01 - 01), base, &a);
        assert_eq!(senior.limit_yen, 1_800_000);
        assert!(senior.lines.contains(&"survey.guidance.senior"));
        let mut high = a;
        high.annual_income = "1300000".into();
        assert!(guidance(date!(1990 - 01 - 01), base, &high).over);
    }
}
