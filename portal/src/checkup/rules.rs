//! Per-item judgements (保健指導判定値 / 受診勧奨判定値, spec §4.3) and the portal's A–E ranks
//! (spec §4.5), driven by a versioned rule set that is data, not code (spec §9.2).
//!
//! Ranks are facility-specific and not in the MHLW XML: the portal computes them from its own
//! rule set and shows the set's id beside them. Our mapping: Normal → A, Guidance → C,
//! Referral → D, and E (治療中) when the item's 服薬 question is answered はい. B is not produced
//! by the MHLW thresholds; it exists so a kenpo rule set or a later revision can use it.

use super::cda::{CheckupDocument, Observation, ObservationValue, Sex};
use super::codes;
use serde::Deserialize;
use std::collections::HashSet;

/// The MHLW 第4期 rule set shipped with the portal.
const MHLW_4TH: &str = include_str!("rules/mhlw_4th.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Shown beside every rank, e.g. `mhlw-4th-2024`.
    pub id: String,
    pub title: String,
    pub items: Vec<ItemRule>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRule {
    /// Stable key used by charts and i18n, e.g. `sbp`.
    pub key: String,
    pub label_ja: String,
    pub label_en: String,
    #[serde(default)]
    pub unit: Option<String>,
    /// Every JLAC10 code this rule judges.
    pub codes: Vec<String>,
    /// For numeric items: which side of a threshold is abnormal.
    #[serde(default)]
    pub bad_when: Option<BadWhen>,
    /// 保健指導判定値.
    #[serde(default)]
    pub guidance: Option<BySex<f64>>,
    /// 受診勧奨判定値; unset where the rule set has none (HDL in 第4期).
    #[serde(default)]
    pub referral: Option<BySex<f64>>,
    /// The 基準値 text shown next to the value.
    pub reference: BySex<String>,
    /// For coded items (尿蛋白, 尿糖): the value codes of each level.
    #[serde(default)]
    pub coded: Option<CodedLevels>,
    #[serde(default)]
    pub medication: Option<Medication>,
}

/// Which side of a threshold is abnormal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadWhen {
    /// High is bad: `value >= threshold`.
    AtLeast,
    /// Low is bad: `value <= threshold`.
    AtMost,
    /// Low is bad: `value < threshold`.
    Below,
}

impl BadWhen {
    pub fn is_abnormal(self, value: f64, threshold: f64) -> bool {
        match self {
            BadWhen::AtLeast => value >= threshold,
            BadWhen::AtMost => value <= threshold,
            BadWhen::Below => value < threshold,
        }
    }

    pub fn high_is_bad(self) -> bool {
        self == BadWhen::AtLeast
    }
}

/// One value for everyone, or one per sex.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum BySex<T> {
    Same(T),
    Split { male: T, female: T },
}

impl<T> BySex<T> {
    pub fn for_sex(&self, sex: Sex) -> &T {
        match (self, sex) {
            (BySex::Same(v), _) => v,
            (BySex::Split { male, .. }, Sex::Male) => male,
            (BySex::Split { female, .. }, Sex::Female) => female,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodedLevels {
    pub normal: Vec<String>,
    pub guidance: Vec<String>,
    pub referral: Vec<String>,
}

/// The 服薬 question an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Medication {
    BloodPressure,
    Glucose,
    Lipids,
}

impl Medication {
    pub fn codes(self) -> &'static [&'static str] {
        match self {
            Medication::BloodPressure => codes::MED_BLOOD_PRESSURE,
            Medication::Glucose => codes::MED_GLUCOSE,
            Medication::Lipids => codes::MED_LIPIDS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Judgement {
    Normal,
    /// 保健指導判定値 reached.
    Guidance,
    /// 受診勧奨判定値 reached.
    Referral,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// 異常なし
    A,
    /// 軽度異常
    B,
    /// 要経過観察・生活改善
    C,
    /// 要医療
    D,
    /// 治療中
    E,
}

impl From<Judgement> for Rank {
    fn from(j: Judgement) -> Self {
        match j {
            Judgement::Normal => Rank::A,
            Judgement::Guidance => Rank::C,
            Judgement::Referral => Rank::D,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemJudgement {
    pub key: String,
    /// The observation's item code.
    pub code: String,
    pub level: Judgement,
    pub rank: Rank,
    /// The id of the rule set that produced this, to label the rank.
    pub rule_set: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule set is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("rule {key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl RuleSet {
    /// The MHLW 第4期 thresholds (`mhlw-4th-2024`).
    pub fn mhlw_4th() -> Result<RuleSet, RuleError> {
        RuleSet::from_toml(MHLW_4TH)
    }

    /// A rule set from TOML (a kenpo's own), checked so that judging can never be ambiguous.
    pub fn from_toml(text: &str) -> Result<RuleSet, RuleError> {
        let set: RuleSet = toml::from_str(text)?;
        set.validate()?;
        Ok(set)
    }

    pub fn item(&self, key: &str) -> Option<&ItemRule> {
        self.items.iter().find(|i| i.key == key)
    }

    pub fn for_code(&self, code: &str) -> Option<&ItemRule> {
        self.items.iter().find(|i| i.codes.iter().any(|c| c == code))
    }

    fn validate(&self) -> Result<(), RuleError> {
        let mut keys = HashSet::new();
        let mut all_codes = HashSet::new();
        for item in &self.items {
            let invalid =
                |reason: &str| RuleError::Invalid { key: item.key.clone(), reason: reason.to_owned() };
            if !keys.insert(item.key.as_str()) {
                return Err(invalid("key appears twice"));
            }
            if item.codes.is_empty() {
                return Err(invalid("no codes"));
            }
            for code in &item.codes {
                if code.len() != 17 {
                    return Err(invalid(&format!("code {code} is not 17 characters")));
                }
                if !all_codes.insert(code.as_str()) {
                    return Err(invalid(&format!("code {code} belongs to two items")));
                }
            }
            match (item.bad_when, &item.guidance, &item.coded) {
                (Some(bad_when), Some(guidance), None) => {
                    if let Some(referral) = &item.referral {
                        for sex in [Sex::Male, Sex::Female] {
                            let (g, r) = (*guidance.for_sex(sex), *referral.for_sex(sex));
                            // The referral threshold must lie on the abnormal side of the guidance one.
                            if g != r && !bad_when.is_abnormal(r, g) {
                                return Err(invalid(
                                    "受診勧奨判定値 is on the normal side of 保健指導判定値",
                                ));
                            }
                        }
                    }
                }
                (None, None, Some(_)) if item.referral.is_none() => {}
                _ => return Err(invalid("needs either bad_when + guidance, or coded levels")),
            }
        }
        Ok(())
    }
}

/// The judgement of one observation, or `None` when no rule covers its code or it has no value
/// the rule can read (a coded value for a numeric rule, a value code outside the levels …).
pub fn judge(rules: &RuleSet, sex: Sex, observation: &Observation) -> Option<ItemJudgement> {
    let rule = rules.for_code(&observation.code)?;
    let level = match (&observation.value, &rule.coded, rule.bad_when, &rule.guidance) {
        (ObservationValue::Quantity { value, .. }, None, Some(bad_when), Some(guidance)) => {
            let beyond = |t: &BySex<f64>| bad_when.is_abnormal(*value, *t.for_sex(sex));
            if rule.referral.as_ref().is_some_and(beyond) {
                Judgement::Referral
            } else if beyond(guidance) {
                Judgement::Guidance
            } else {
                Judgement::Normal
            }
        }
        (ObservationValue::Coded { code, .. }, Some(levels), _, _) => {
            let has = |list: &[String]| list.iter().any(|c| c == code);
            if has(&levels.referral) {
                Judgement::Referral
            } else if has(&levels.guidance) {
                Judgement::Guidance
            } else if has(&levels.normal) {
                Judgement::Normal
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some(ItemJudgement {
        key: rule.key.clone(),
        code: observation.code.clone(),
        level,
        rank: level.into(),
        rule_set: rules.id.clone(),
    })
}

/// Every judgeable observation of a document, with rank E where the member answered はい to the
/// item's 服薬 question (the level still says where the value stands).
pub fn judge_all(rules: &RuleSet, document: &CheckupDocument) -> Vec<ItemJudgement> {
    let on_medication =
        |m: Medication| document.find(m.codes()).and_then(Observation::coded) == Some(codes::ANSWER_YES);
    document
        .observations
        .iter()
        .filter_map(|observation| {
            let mut judgement = judge(rules, document.sex, observation)?;
            let medication = rules.item(&judgement.key).and_then(|r| r.medication);
            if medication.is_some_and(on_medication) {
                judgement.rank = Rank::E;
            }
            Some(judgement)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        RuleSet::mhlw_4th().unwrap_or_else(|e| panic!("embedded rule set: {e}"))
    }

    fn quantity(code: &str, value: f64) -> Observation {
        Observation {
            section: "01010".into(),
            code: code.into(),
            name: None,
            value: ObservationValue::Quantity { text: value.to_string(), value, unit: None },
            interpretation: None,
            reference: None,
        }
    }

    fn coded(code: &str, value: &str) -> Observation {
        Observation {
            value: ObservationValue::Coded { code: value.into(), display: None },
            ..quantity(code, 0.0)
        }
    }

    fn level(sex: Sex, observation: &Observation) -> Option<(Judgement, Rank)> {
        judge(&rules(), sex, observation).map(|j| (j.level, j.rank))
    }

    #[test]
    fn the_embedded_rule_set_loads_with_its_id() {
        let rules = rules();

        assert_eq!(rules.id, "mhlw-4th-2024");
        assert!(rules.item("hdl").is_some_and(|hdl| hdl.referral.is_none()));
    }

    #[test]
    fn systolic_pressure_reaches_guidance_at_130_and_referral_at_140_on_any_reading() {
        for code in ["9A751000000000001", "9A752000000000001", "9A755000000000001"] {
            assert_eq!(level(Sex::Male, &quantity(code, 129.0)), Some((Judgement::Normal, Rank::A)));
            assert_eq!(level(Sex::Male, &quantity(code, 130.0)), Some((Judgement::Guidance, Rank::C)));
            assert_eq!(level(Sex::Male, &quantity(code, 140.0)), Some((Judgement::Referral, Rank::D)));
        }
    }

    #[test]
    fn waist_thresholds_depend_on_sex() {
        let waist = quantity("9N016160100000001", 87.0);

        assert_eq!(level(Sex::Male, &waist), Some((Judgement::Guidance, Rank::C)));
        assert_eq!(level(Sex::Female, &waist), Some((Judgement::Normal, Rank::A)));
    }

    #[test]
    fn low_hdl_is_guidance_and_never_referral() {
        let hdl = "3F070000002327101";

        assert_eq!(level(Sex::Female, &quantity(hdl, 40.0)).map(|l| l.0), Some(Judgement::Normal));
        assert_eq!(level(Sex::Female, &quantity(hdl, 39.0)).map(|l| l.0), Some(Judgement::Guidance));
        assert_eq!(level(Sex::Female, &quantity(hdl, 20.0)).map(|l| l.0), Some(Judgement::Guidance));
    }

    #[test]
    fn hemoglobin_is_low_is_bad_and_sex_specific() {
        let hb = "2A030000001930101";

        assert_eq!(level(Sex::Male, &quantity(hb, 13.0)).map(|l| l.0), Some(Judgement::Guidance));
        assert_eq!(level(Sex::Male, &quantity(hb, 12.0)).map(|l| l.0), Some(Judgement::Referral));
        assert_eq!(level(Sex::Female, &quantity(hb, 12.5)).map(|l| l.0), Some(Judgement::Normal));
        assert_eq!(level(Sex::Female, &quantity(hb, 11.0)).map(|l| l.0), Some(Judgement::Referral));
    }

    #[test]
    fn urine_protein_minus_is_a_plus_minus_is_c_and_plus_is_d() {
        let protein = "1A010000000191111";

        assert_eq!(level(Sex::Male, &coded(protein, "1")), Some((Judgement::Normal, Rank::A)));
        assert_eq!(level(Sex::Male, &coded(protein, "2")), Some((Judgement::Guidance, Rank::C)));
        assert_eq!(level(Sex::Male, &coded(protein, "3")), Some((Judgement::Referral, Rank::D)));
        assert_eq!(level(Sex::Male, &coded(protein, "5")), Some((Judgement::Referral, Rank::D)));
        assert_eq!(level(Sex::Male, &coded(protein, "9")), None);
    }

    #[test]
    fn unknown_codes_and_mismatched_value_types_are_not_judged() {
        assert_eq!(level(Sex::Male, &quantity("9N001000000000001", 170.0)), None);
        assert_eq!(level(Sex::Male, &coded("9A751000000000001", "1")), None);
    }

    #[test]
    fn items_of_a_medication_answered_yes_rank_e_but_keep_their_level() {
        let mut doc = crate::checkup::cda::parse_str(crate::checkup::fixtures::FIXTURE_2025)
            .unwrap_or_else(|e| panic!("{e}"));
        for o in &mut doc.observations {
            if o.code == codes::MED_BLOOD_PRESSURE[0] {
                o.value = ObservationValue::Coded { code: codes::ANSWER_YES.into(), display: None };
            }
        }

        let judgements = judge_all(&rules(), &doc);

        let of = |key: &str| judgements.iter().find(|j| j.key == key).map(|j| (j.level, j.rank));
        assert_eq!(of("sbp"), Some((Judgement::Guidance, Rank::E)));
        assert_eq!(of("dbp"), Some((Judgement::Normal, Rank::E)));
        assert_eq!(of("tg_fasting"), Some((Judgement::Guidance, Rank::C)));
        assert_eq!(of("waist"), Some((Judgement::Guidance, Rank::C)));
        assert!(judgements.iter().all(|j| j.rule_set == "mhlw-4th-2024"));
    }

    #[test]
    fn a_rule_set_with_referral_on_the_normal_side_is_refused() {
        let text = r#"
            id = "broken"
            title = "x"
            [[items]]
            key = "sbp"
            label_ja = "収縮期血圧"
            label_en = "SBP"
            codes = ["9A751000000000001"]
            bad_when = "at_least"
            guidance = 140
            referral = 130
            reference = "129以下"
        "#;

        let e = RuleSet::from_toml(text);

        assert!(matches!(e, Err(RuleError::Invalid { ref key, .. }) if key == "sbp"), "{e:?}");
    }

    #[test]
    fn the_stratification_codes_are_judged_by_the_rule_set_under_the_same_item() {
        let rules = rules();
        let pairs: [(&str, &[&str]); 7] = [
            ("waist", codes::WAIST),
            ("bmi", codes::BMI),
            ("tg_fasting", codes::TG_FASTING),
            ("tg_casual", codes::TG_CASUAL),
            ("hdl", codes::HDL),
            ("glucose_fasting", codes::GLUCOSE_FASTING),
            ("hba1c", codes::HBA1C),
        ];
        for (key, list) in pairs {
            for code in list {
                assert_eq!(rules.for_code(code).map(|r| r.key.as_str()), Some(key), "{code}");
            }
        }
        for code in [codes::SBP_OTHER, codes::SBP_FIRST, codes::SBP_SECOND].concat() {
            assert_eq!(rules.for_code(code).map(|r| r.key.as_str()), Some("sbp"));
        }
        for code in [codes::DBP_OTHER, codes::DBP_FIRST, codes::DBP_SECOND].concat() {
            assert_eq!(rules.for_code(code).map(|r| r.key.as_str()), Some("dbp"));
        }
    }
}
