//! 特定健診 (specific health checkup) results for the 健診結果 pages (spec §2.5, §4): pure
//! functions, no database and no HTTP, so the importer and the pages share one tested core.
//!
//! - [`zip`]: a submission ZIP → its `DATA/*.xml` files, with zip-bomb limits.
//! - [`cda`]: one 特定健診情報ファイル (HL7 CDA, `hc08_V08`) → [`cda::CheckupDocument`]; errors
//!   name the XML path.
//! - [`rules`]: per-item 保健指導 / 受診勧奨 judgements and A–E ranks from a versioned rule set
//!   (`rules/mhlw_4th.toml`, id `mhlw-4th-2024`).
//! - [`stratify`]: the statutory 階層化 → 積極的支援 / 動機付け支援 / 情報提供 / 対象外 / 判定不能.
//! - [`chart`]: a year-over-year SVG chart of one item with threshold bands.
//!
//! ```text
//! bytes ─zip::read_data_files─▶ DataFile ─cda::parse─▶ CheckupDocument
//!   ├─ rules::judge_all(&RuleSet, &doc)                 ▶ Vec<ItemJudgement>
//!   ├─ stratify::stratify(&Measurements::from_document) ▶ Stratification
//!   └─ chart::render(&Chart)                            ▶ SVG string
//! ```
//!
//! Labels are i18n catalogue keys ([`keys`]); their ja/en texts are in `i18n-keys.md` beside this
//! file, for the catalogue owner to append.

pub mod cda;
pub mod chart;
pub mod codes;
pub mod rules;
pub mod stratify;
pub mod zip;

pub use cda::{CdaError, CheckupDocument, Observation, ObservationValue, Sex};
pub use rules::{ItemJudgement, ItemRule, Judgement, Rank, RuleSet};
pub use stratify::{Level, Measurements, MissingItem, Risk, Step1Group, Stratification};

/// i18n catalogue keys for this module's values. Texts: `i18n-keys.md`.
pub mod keys {
    use super::rules::{Judgement, Rank};
    use super::stratify::{Level, MissingItem, Risk, Step1Group};

    pub const LEVELS: &[&str] = &[
        "checkup.level.active",
        "checkup.level.motivational",
        "checkup.level.information_only",
        "checkup.level.not_eligible",
        "checkup.level.undetermined",
    ];
    pub const JUDGEMENTS: &[&str] =
        &["checkup.judgement.normal", "checkup.judgement.guidance", "checkup.judgement.referral"];
    pub const RANKS: &[&str] =
        &["checkup.rank.a", "checkup.rank.b", "checkup.rank.c", "checkup.rank.d", "checkup.rank.e"];
    pub const STEP1_GROUPS: &[&str] =
        &["checkup.step1.waist", "checkup.step1.bmi", "checkup.step1.none", "checkup.step1.unknown"];
    pub const RISKS: &[&str] = &[
        "checkup.risk.blood_pressure",
        "checkup.risk.lipids",
        "checkup.risk.glucose",
        "checkup.risk.smoking",
    ];
    pub const MISSING: &[&str] = &[
        "checkup.missing.waist",
        "checkup.missing.bmi",
        "checkup.missing.systolic_blood_pressure",
        "checkup.missing.diastolic_blood_pressure",
        "checkup.missing.triglycerides",
        "checkup.missing.hdl",
        "checkup.missing.glucose",
        "checkup.missing.smoking",
        "checkup.missing.medication_blood_pressure",
        "checkup.missing.medication_glucose",
        "checkup.missing.medication_lipids",
    ];
    /// Texts around the results: rule-set label, chart legend, headings.
    pub const OTHER: &[&str] = &[
        "checkup.rank.rule_set",
        "checkup.chart.band.normal",
        "checkup.chart.band.guidance",
        "checkup.chart.band.referral",
        "checkup.reference_range",
    ];
    /// Every key above, for the catalogue completeness test.
    pub const ALL: &[&[&str]] = &[LEVELS, JUDGEMENTS, RANKS, STEP1_GROUPS, RISKS, MISSING, OTHER];

    pub fn level(level: Level) -> &'static str {
        LEVELS[level as usize]
    }

    pub fn judgement(judgement: Judgement) -> &'static str {
        JUDGEMENTS[judgement as usize]
    }

    pub fn rank(rank: Rank) -> &'static str {
        RANKS[rank as usize]
    }

    pub fn step1(group: Step1Group) -> &'static str {
        STEP1_GROUPS[group as usize]
    }

    pub fn risk(risk: Risk) -> &'static str {
        RISKS[risk as usize]
    }

    pub fn missing(item: MissingItem) -> &'static str {
        MISSING[item as usize]
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_variant_has_its_own_key_in_declaration_order() {
            assert_eq!(level(Level::Undetermined), "checkup.level.undetermined");
            assert_eq!(judgement(Judgement::Referral), "checkup.judgement.referral");
            assert_eq!(rank(Rank::E), "checkup.rank.e");
            assert_eq!(step1(Step1Group::Unknown), "checkup.step1.unknown");
            assert_eq!(risk(Risk::Smoking), "checkup.risk.smoking");
            assert_eq!(missing(MissingItem::MedicationLipids), "checkup.missing.medication_lipids");
        }

        #[test]
        fn every_key_is_listed_in_the_integrators_file() {
            let listed = include_str!("i18n-keys.md");
            for key in ALL.iter().flat_map(|k| k.iter()) {
                assert!(listed.contains(&format!("`{key}`")), "{key} missing from i18n-keys.md");
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    pub const FIXTURE_2025: &str = include_str!("../../tests/fixtures/checkup/h0000000001202504150001.xml");
    pub const FIXTURE_2024: &str = include_str!("../../tests/fixtures/checkup/h0000000001202404160001.xml");
}
