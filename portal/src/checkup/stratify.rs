//! 階層化: the 特定保健指導 level of one exam (spec §4.4, MHLW 標準的な健診・保健指導プログラム).
//!
//! These thresholds are the statutory definition of the levels, not display ranks, so they are
//! code here rather than rule-set data. Time is an input: the exam date and the birth date give
//! the 年度末年齢, nothing reads a clock.
//!
//! Missing values: every unknown input is carried as "could be either"; when the possible outcomes
//! still differ the level is [`Level::Undetermined`] (判定不能) and the inputs that were missing are
//! listed. An unknown that cannot change the outcome (BMI when the waist already decides Step 1,
//! smoking when no other risk can exist) is not asked for.

use super::cda::{CheckupDocument, Observation, Sex};
use super::codes;
use time::{Date, Month};

/// What the 階層化 reads from one exam. Built from a document, or directly in tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurements {
    pub sex: Sex,
    pub birth_date: Date,
    pub exam_date: Date,
    pub waist: Option<f64>,
    pub visceral_fat: Option<f64>,
    pub bmi: Option<f64>,
    pub sbp: Option<f64>,
    pub dbp: Option<f64>,
    pub tg_fasting: Option<f64>,
    pub tg_casual: Option<f64>,
    pub hdl: Option<f64>,
    pub glucose_fasting: Option<f64>,
    pub glucose_casual: Option<f64>,
    pub hba1c: Option<f64>,
    pub smoker: Option<bool>,
    pub medication_blood_pressure: Option<bool>,
    pub medication_glucose: Option<bool>,
    pub medication_lipids: Option<bool>,
}

impl Measurements {
    /// Picks the values the 階層化 needs: 腹囲 実測 before 自己測定 before 自己申告; BMI computed
    /// from 身長/体重 when not reported; blood pressure その他, else the mean of the 1st and 2nd
    /// readings, else the one reading taken.
    pub fn from_document(doc: &CheckupDocument) -> Measurements {
        let number = |list: &[&str]| doc.find(list).and_then(Observation::quantity);
        let answer = |list: &[&str]| match doc.find(list).and_then(Observation::coded) {
            Some(codes::ANSWER_YES) => Some(true),
            Some(codes::ANSWER_NO) => Some(false),
            _ => None,
        };
        let bmi = number(codes::BMI).or_else(|| match (number(codes::HEIGHT), number(codes::WEIGHT)) {
            (Some(h), Some(w)) if h > 0.0 => Some((w / (h / 100.0).powi(2) * 10.0).round() / 10.0),
            _ => None,
        });
        let pressure = |other: &[&str], first: &[&str], second: &[&str]| {
            number(other).or(match (number(first), number(second)) {
                (Some(a), Some(b)) => Some((a + b) / 2.0),
                (a, b) => a.or(b),
            })
        };
        Measurements {
            sex: doc.sex,
            birth_date: doc.birth_date,
            exam_date: doc.exam_date,
            waist: number(codes::WAIST),
            visceral_fat: number(codes::VISCERAL_FAT),
            bmi,
            sbp: pressure(codes::SBP_OTHER, codes::SBP_FIRST, codes::SBP_SECOND),
            dbp: pressure(codes::DBP_OTHER, codes::DBP_FIRST, codes::DBP_SECOND),
            tg_fasting: number(codes::TG_FASTING),
            tg_casual: number(codes::TG_CASUAL),
            hdl: number(codes::HDL),
            glucose_fasting: number(codes::GLUCOSE_FASTING),
            glucose_casual: number(codes::GLUCOSE_CASUAL),
            hba1c: number(codes::HBA1C),
            smoker: answer(codes::SMOKING),
            medication_blood_pressure: answer(codes::MED_BLOOD_PRESSURE),
            medication_glucose: answer(codes::MED_GLUCOSE),
            medication_lipids: answer(codes::MED_LIPIDS),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// 積極的支援
    Active,
    /// 動機付け支援
    Motivational,
    /// 情報提供 (no 保健指導)
    InformationOnly,
    /// 服薬中のため対象外
    NotEligible,
    /// 判定不能: see [`Stratification::missing`].
    Undetermined,
}

/// Step 1 of the 階層化.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step1Group {
    /// (1) 腹囲 男≥85 / 女≥90, or 内臓脂肪面積 ≥100 cm².
    Waist,
    /// (2) otherwise BMI ≥25.
    Bmi,
    /// Neither: 情報提供.
    None,
    /// The values that decide Step 1 are missing.
    Unknown,
}

/// Step 2 risks that are certainly present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Risk {
    /// ① 収縮期 ≥130 or 拡張期 ≥85 mmHg.
    BloodPressure,
    /// ② 中性脂肪 空腹時 ≥150 (随時 ≥175 only without a fasting value) or HDL <40 mg/dL.
    Lipids,
    /// ③ 空腹時血糖 ≥100, else HbA1c ≥5.6 %, else 随時血糖 ≥100.
    Glucose,
    /// ④ 喫煙, counted only with at least one of ①–③.
    Smoking,
}

/// An input whose absence left the level undetermined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MissingItem {
    /// 腹囲 (or 内臓脂肪面積).
    Waist,
    Bmi,
    SystolicBloodPressure,
    DiastolicBloodPressure,
    /// 中性脂肪, fasting or casual.
    Triglycerides,
    Hdl,
    /// 空腹時血糖, HbA1c or 随時血糖.
    Glucose,
    Smoking,
    MedicationBloodPressure,
    MedicationGlucose,
    MedicationLipids,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stratification {
    pub level: Level,
    pub step1: Step1Group,
    pub risks: Vec<Risk>,
    /// The 年度末年齢 used for the 65–74 rule.
    pub age_at_fiscal_year_end: i32,
    /// Empty unless `level` is [`Level::Undetermined`].
    pub missing: Vec<MissingItem>,
}

/// A fact that may be unknown: every outcome of an unknown is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    fn of(value: Option<f64>, abnormal: impl Fn(f64) -> bool) -> Tri {
        match value {
            Some(v) if abnormal(v) => Tri::Yes,
            Some(_) => Tri::No,
            None => Tri::Unknown,
        }
    }

    fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Unknown,
        }
    }

    fn outcomes(self) -> &'static [bool] {
        match self {
            Tri::Yes => &[true],
            Tri::No => &[false],
            Tri::Unknown => &[false, true],
        }
    }
}

/// Notes which inputs were unknown, in the order they were consulted.
#[derive(Default)]
struct Missing(Vec<MissingItem>);

impl Missing {
    fn check(&mut self, value: Option<f64>, item: MissingItem) -> Option<f64> {
        if value.is_none() && !self.0.contains(&item) {
            self.0.push(item);
        }
        value
    }

    fn unknown(&mut self, item: MissingItem) -> Tri {
        self.check(None, item);
        Tri::Unknown
    }

    fn answer(&mut self, value: Option<bool>, item: MissingItem) -> Tri {
        match value {
            Some(true) => Tri::Yes,
            Some(false) => Tri::No,
            None => self.unknown(item),
        }
    }
}

/// The 年度末年齢: age on March 31 that ends the fiscal year (April–March) of the exam.
pub fn age_at_fiscal_year_end(birth_date: Date, exam_date: Date) -> i32 {
    let fiscal_year = if exam_date.month() >= Month::April { exam_date.year() } else { exam_date.year() - 1 };
    let (end_year, end_month, end_day) = (fiscal_year + 1, 3u8, 31u8);
    let birthday_passed = (end_month, end_day) >= (u8::from(birth_date.month()), birth_date.day());
    end_year - birth_date.year() - if birthday_passed { 0 } else { 1 }
}

/// Steps 1–4 of the 階層化.
pub fn stratify(m: &Measurements) -> Stratification {
    let mut missing = Missing::default();

    // Step 1. 内臓脂肪面積 may replace the waist, so either measured value can decide "not (1)".
    let waist_limit = match m.sex {
        Sex::Male => 85.0,
        Sex::Female => 90.0,
    };
    let by_waist = match (m.waist, m.visceral_fat) {
        (None, None) => missing.unknown(MissingItem::Waist),
        (waist, fat) => {
            if waist.is_some_and(|w| w >= waist_limit) || fat.is_some_and(|v| v >= 100.0) {
                Tri::Yes
            } else {
                Tri::No
            }
        }
    };
    let by_bmi = if by_waist == Tri::Yes {
        Tri::No
    } else {
        Tri::of(missing.check(m.bmi, MissingItem::Bmi), |b| b >= 25.0)
    };
    let mut groups: Vec<Step1Group> = Vec::new();
    for &w in by_waist.outcomes() {
        for &b in by_bmi.outcomes() {
            let group = if w {
                Step1Group::Waist
            } else if b {
                Step1Group::Bmi
            } else {
                Step1Group::None
            };
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
    }

    // Step 2. Risks only matter when some group with risks is possible.
    let needs_risks = groups.iter().any(|g| *g != Step1Group::None);
    let mut risks = Vec::new();
    let (mut base_min, mut base_max, mut smoking) = (0, 0, Tri::No);
    if needs_risks {
        let blood_pressure =
            Tri::of(missing.check(m.sbp, MissingItem::SystolicBloodPressure), |v| v >= 130.0)
                .or(Tri::of(missing.check(m.dbp, MissingItem::DiastolicBloodPressure), |v| v >= 85.0));
        let triglycerides = match (m.tg_fasting, m.tg_casual) {
            (Some(fasting), _) => Tri::of(Some(fasting), |v| v >= 150.0),
            (None, Some(casual)) => Tri::of(Some(casual), |v| v >= 175.0),
            (None, None) => missing.unknown(MissingItem::Triglycerides),
        };
        let lipids = triglycerides.or(Tri::of(missing.check(m.hdl, MissingItem::Hdl), |v| v < 40.0));
        // The programme: 空腹時血糖 takes precedence over HbA1c when both were measured; 随時血糖
        // is used only without either.
        let glucose = match (m.glucose_fasting, m.hba1c, m.glucose_casual) {
            (Some(fasting), _, _) => Tri::of(Some(fasting), |v| v >= 100.0),
            (None, Some(hba1c), _) => Tri::of(Some(hba1c), |v| v >= 5.6),
            (None, None, Some(casual)) => Tri::of(Some(casual), |v| v >= 100.0),
            (None, None, None) => missing.unknown(MissingItem::Glucose),
        };
        let all = [(Risk::BloodPressure, blood_pressure), (Risk::Lipids, lipids), (Risk::Glucose, glucose)];
        risks.extend(all.iter().filter(|(_, t)| *t == Tri::Yes).map(|(r, _)| *r));
        base_min = risks.len();
        base_max = all.iter().filter(|(_, t)| *t != Tri::No).count();
        if base_max >= 1 {
            smoking = missing.answer(m.smoker, MissingItem::Smoking);
        }
        if base_min >= 1 && smoking == Tri::Yes {
            risks.push(Risk::Smoking);
        }
    }

    // Step 3 for every combination the unknowns allow.
    let age = age_at_fiscal_year_end(m.birth_date, m.exam_date);
    let mut levels: Vec<Level> = Vec::new();
    for group in &groups {
        for base in base_min..=base_max {
            for &smokes in smoking.outcomes() {
                let count = base + usize::from(base >= 1 && smokes);
                let level = match (group, count) {
                    (Step1Group::Waist, 2..) | (Step1Group::Bmi, 3..) => Level::Active,
                    (Step1Group::Waist | Step1Group::Bmi, 1..) => Level::Motivational,
                    _ => Level::InformationOnly,
                };
                // Step 4: 65–74 at the fiscal year end get 動機付け支援 instead of 積極的支援.
                let level = if level == Level::Active && (65..=74).contains(&age) {
                    Level::Motivational
                } else {
                    level
                };
                if !levels.contains(&level) {
                    levels.push(level);
                }
            }
        }
    }

    // Step 4: on medication for blood pressure, glucose or lipids → not eligible. When no
    // 保健指導 is possible anyway, an unanswered question changes nothing for the member.
    let medication = [
        (m.medication_blood_pressure, MissingItem::MedicationBloodPressure),
        (m.medication_glucose, MissingItem::MedicationGlucose),
        (m.medication_lipids, MissingItem::MedicationLipids),
    ];
    let on_medication = if medication.iter().any(|(answer, _)| *answer == Some(true)) {
        Tri::Yes
    } else if levels.iter().all(|l| *l == Level::InformationOnly) {
        Tri::No
    } else {
        medication.iter().fold(Tri::No, |acc, (answer, item)| acc.or(missing.answer(*answer, *item)))
    };
    let step1 = match groups.as_slice() {
        [group] => *group,
        _ => Step1Group::Unknown,
    };
    let level = match (on_medication, levels.as_slice()) {
        (Tri::Yes, _) => Level::NotEligible,
        (Tri::No, [level]) => *level,
        _ => Level::Undetermined,
    };
    let missing = if level == Level::Undetermined { missing.0 } else { Vec::new() };
    Stratification { level, step1, risks, age_at_fiscal_year_end: age, missing }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Male, 52 at the exam, 腹囲 90, BP 135/82, TG 160, HDL 45, 血糖 98, HbA1c 5.4, smoker, no
    /// medication: the FY2025 fixture's values.
    fn fixture_like() -> Measurements {
        Measurements {
            sex: Sex::Male,
            birth_date: date!(1972 - 10 - 20),
            exam_date: date!(2025 - 04 - 15),
            waist: Some(90.0),
            visceral_fat: None,
            bmi: Some(26.0),
            sbp: Some(135.0),
            dbp: Some(82.0),
            tg_fasting: Some(160.0),
            tg_casual: None,
            hdl: Some(45.0),
            glucose_fasting: Some(98.0),
            glucose_casual: None,
            hba1c: Some(5.4),
            smoker: Some(true),
            medication_blood_pressure: Some(false),
            medication_glucose: Some(false),
            medication_lipids: Some(false),
        }
    }

    /// No risk at all: 腹囲 and BMI decide alone.
    fn healthy() -> Measurements {
        Measurements {
            sbp: Some(118.0),
            dbp: Some(74.0),
            tg_fasting: Some(90.0),
            smoker: Some(false),
            ..fixture_like()
        }
    }

    #[test]
    fn smoker_with_two_risks_and_large_waist_is_active_support() {
        let s = stratify(&fixture_like());

        assert_eq!(s.level, Level::Active);
        assert_eq!(s.step1, Step1Group::Waist);
        assert_eq!(s.risks, [Risk::BloodPressure, Risk::Lipids, Risk::Smoking]);
        assert_eq!(s.age_at_fiscal_year_end, 53);
        assert!(s.missing.is_empty());
    }

    #[test]
    fn the_fy2025_fixture_is_stratified_to_active_support() {
        let doc = crate::checkup::cda::parse_str(crate::checkup::fixtures::FIXTURE_2025)
            .unwrap_or_else(|e| panic!("{e}"));

        let s = stratify(&Measurements::from_document(&doc));

        assert_eq!(s.level, Level::Active);
        assert_eq!(s.risks, [Risk::BloodPressure, Risk::Lipids, Risk::Smoking]);
    }

    #[test]
    fn the_fy2024_fixture_with_no_risks_is_information_only() {
        let doc = crate::checkup::cda::parse_str(crate::checkup::fixtures::FIXTURE_2024)
            .unwrap_or_else(|e| panic!("{e}"));

        let s = stratify(&Measurements::from_document(&doc));

        assert_eq!((s.level, s.step1), (Level::InformationOnly, Step1Group::Waist));
        assert!(s.risks.is_empty());
    }

    #[test]
    fn a_65_year_old_at_fiscal_year_end_is_downgraded_to_motivational() {
        // 64 on the exam day in April 2025, 65 on 2026-03-31.
        let m = Measurements { birth_date: date!(1961 - 03 - 01), ..fixture_like() };

        let s = stratify(&m);

        assert_eq!(s.age_at_fiscal_year_end, 65);
        assert_eq!(s.level, Level::Motivational);
    }

    #[test]
    fn a_birthday_after_march_31_does_not_count_for_the_fiscal_year_end_age() {
        assert_eq!(age_at_fiscal_year_end(date!(1961 - 04 - 01), date!(2025 - 04 - 15)), 64);
        assert_eq!(age_at_fiscal_year_end(date!(1961 - 03 - 31), date!(2026 - 03 - 31)), 65);
        assert_eq!(age_at_fiscal_year_end(date!(1961 - 03 - 31), date!(2026 - 04 - 01)), 66);
        assert_eq!(age_at_fiscal_year_end(date!(1960 - 02 - 29), date!(2025 - 06 - 01)), 66);
    }

    #[test]
    fn smoking_is_not_a_risk_on_its_own() {
        let s = stratify(&Measurements { smoker: Some(true), ..healthy() });

        assert_eq!(s.level, Level::InformationOnly);
        assert!(s.risks.is_empty());
    }

    #[test]
    fn a_woman_with_waist_88_and_bmi_under_25_is_information_only() {
        let m = Measurements { sex: Sex::Female, waist: Some(88.0), bmi: Some(24.0), ..fixture_like() };

        let s = stratify(&m);

        assert_eq!((s.step1, s.level), (Step1Group::None, Level::InformationOnly));
    }

    #[test]
    fn visceral_fat_of_100_puts_a_slim_waist_in_group_1() {
        let m = Measurements { waist: Some(80.0), visceral_fat: Some(100.0), ..fixture_like() };

        assert_eq!(stratify(&m).step1, Step1Group::Waist);
    }

    #[test]
    fn bmi_group_needs_three_risks_for_active_support() {
        let bmi_only = Measurements { waist: Some(80.0), bmi: Some(25.0), ..fixture_like() };
        assert_eq!(stratify(&bmi_only).level, Level::Active);

        let two = Measurements { smoker: Some(false), ..bmi_only.clone() };
        let s = stratify(&two);
        assert_eq!((s.step1, s.level), (Step1Group::Bmi, Level::Motivational));
    }

    #[test]
    fn casual_triglycerides_count_only_without_a_fasting_value() {
        let casual = Measurements { tg_fasting: None, tg_casual: Some(180.0), ..healthy() };
        assert_eq!(stratify(&casual).risks, [Risk::Lipids]);

        let both = Measurements { tg_fasting: Some(120.0), tg_casual: Some(400.0), ..healthy() };
        assert!(stratify(&both).risks.is_empty());

        let below = Measurements { tg_fasting: None, tg_casual: Some(170.0), ..healthy() };
        assert!(stratify(&below).risks.is_empty());
    }

    #[test]
    fn hba1c_of_5_6_is_a_glucose_risk_without_fasting_glucose() {
        let m = Measurements { glucose_fasting: None, hba1c: Some(5.6), ..healthy() };

        let s = stratify(&m);

        assert_eq!(s.risks, [Risk::Glucose]);
        assert_eq!(s.level, Level::Motivational);
    }

    #[test]
    fn fasting_glucose_takes_precedence_over_hba1c() {
        let m = Measurements { glucose_fasting: Some(95.0), hba1c: Some(5.8), ..healthy() };

        assert!(stratify(&m).risks.is_empty());
    }

    #[test]
    fn casual_glucose_is_used_when_fasting_glucose_and_hba1c_are_missing() {
        let m = Measurements { glucose_fasting: None, hba1c: None, glucose_casual: Some(110.0), ..healthy() };

        assert_eq!(stratify(&m).risks, [Risk::Glucose]);
    }

    #[test]
    fn missing_fasting_and_casual_glucose_with_no_hba1c_is_undetermined() {
        let m = Measurements { glucose_fasting: None, glucose_casual: None, hba1c: None, ..healthy() };

        let s = stratify(&m);

        assert_eq!(s.level, Level::Undetermined);
        assert_eq!(s.missing, [MissingItem::Glucose]);
    }

    #[test]
    fn a_missing_value_that_cannot_change_the_level_is_not_needed() {
        // Two risks already: one more cannot move group (1) beyond 積極的支援.
        let m = Measurements { glucose_fasting: None, hba1c: None, hdl: None, ..fixture_like() };
        assert_eq!(stratify(&m).level, Level::Active);

        // Waist decides Step 1 without BMI; no group: blood values do not matter.
        let slim =
            Measurements { waist: Some(80.0), bmi: Some(22.0), sbp: None, dbp: None, ..fixture_like() };
        assert_eq!(stratify(&Measurements { bmi: None, ..fixture_like() }).level, Level::Active);
        assert_eq!(stratify(&slim).level, Level::InformationOnly);
    }

    #[test]
    fn a_missing_waist_and_bmi_is_undetermined() {
        let m = Measurements { waist: None, bmi: None, ..fixture_like() };

        let s = stratify(&m);

        assert_eq!((s.level, s.step1), (Level::Undetermined, Step1Group::Unknown));
        assert_eq!(s.missing, [MissingItem::Waist, MissingItem::Bmi]);
    }

    #[test]
    fn an_unanswered_smoking_question_with_one_risk_in_group_1_is_undetermined() {
        let m = Measurements { tg_fasting: Some(100.0), smoker: None, ..fixture_like() };

        let s = stratify(&m);

        assert_eq!(s.level, Level::Undetermined);
        assert_eq!(s.missing, [MissingItem::Smoking]);
    }

    #[test]
    fn medication_for_any_of_the_three_makes_the_member_not_eligible() {
        let on_bp = Measurements { medication_blood_pressure: Some(true), ..fixture_like() };
        let on_lipids = Measurements { medication_lipids: Some(true), sbp: None, ..fixture_like() };

        assert_eq!(stratify(&on_bp).level, Level::NotEligible);
        assert_eq!(stratify(&on_lipids).level, Level::NotEligible);
    }

    #[test]
    fn unanswered_medication_questions_leave_a_support_level_undetermined() {
        let m = Measurements { medication_glucose: None, ..fixture_like() };

        let s = stratify(&m);

        assert_eq!(s.level, Level::Undetermined);
        assert_eq!(s.missing, [MissingItem::MedicationGlucose]);
        let info = Measurements { medication_glucose: None, ..healthy() };
        assert_eq!(stratify(&info).level, Level::InformationOnly);
    }

    #[test]
    fn blood_pressure_uses_the_mean_of_two_readings() {
        let mut doc = crate::checkup::cda::parse_str(crate::checkup::fixtures::FIXTURE_2025)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut second = doc.find(codes::SBP_FIRST).cloned().unwrap_or_else(|| panic!("sbp missing"));
        second.code = codes::SBP_SECOND[0].into();
        second.value =
            crate::checkup::cda::ObservationValue::Quantity { text: "121".into(), value: 121.0, unit: None };
        doc.observations.push(second);

        assert_eq!(Measurements::from_document(&doc).sbp, Some(128.0));
    }
}
