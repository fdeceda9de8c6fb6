//! 健診結果: importing the kenpo's 特定健診 files (one CDA XML, or the submission ZIP), and the
//! view of an exam: each item with its value, 基準値 and 判定 by the rule set, the 保健指導
//! level by 階層化, and for the rich edition a chart per item across years.

use crate::checkup::cda::{self, CheckupDocument, ObservationValue};
use crate::checkup::chart::{self, BAND_LABELS_EN, BAND_LABELS_JA, ChartPoint};
use crate::checkup::rules::{self, RuleSet};
use crate::checkup::stratify::{self, Measurements};
use crate::checkup::{keys, zip};
use crate::i18n::Locale;
use crate::store::{CheckupRecord, CheckupStore, NewCheckup, StoreError, Stored};
use serde::Serialize;
use time::OffsetDateTime;

/// Why one document of a file was refused: the file (inside a ZIP), the XML path, the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentError {
    pub file: String,
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub documents: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} document(s) refused", .0.len())]
    Refused(Vec<DocumentError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Imports one file: a `.zip` submission or a single XML document. Nothing is written unless
/// every document parses and names a member of this kenpo.
pub async fn import(
    db: &impl CheckupStore,
    kenpo_id: &str,
    file_name: &str,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Result<ImportReport, ImportError> {
    let files: Vec<(String, Vec<u8>)> = if bytes.starts_with(b"PK") {
        zip::read_data_files(bytes, &zip::Limits::default())
            .map_err(|e| {
                ImportError::Refused(vec![DocumentError {
                    file: file_name.to_owned(),
                    path: String::new(),
                    reason: e.to_string(),
                }])
            })?
            .into_iter()
            .map(|f| (f.name, f.bytes))
            .collect()
    } else {
        vec![(file_name.to_owned(), bytes.to_vec())]
    };
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for (name, bytes) in &files {
        match cda::parse(bytes) {
            Ok(doc) => {
                let member = db
                    .member_for_card(
                        kenpo_id,
                        doc.card_symbol.as_deref(),
                        &doc.card_number,
                        doc.branch.as_deref(),
                        &doc.birth_date.to_string(),
                    )
                    .await?;
                match member {
                    Some(member) => parsed.push((name, doc, member, bytes)),
                    None => errors.push(DocumentError {
                        file: name.clone(),
                        path: "/ClinicalDocument/recordTarget/patientRole".to_owned(),
                        reason: "no member of this kenpo has this card number and birth date".to_owned(),
                    }),
                }
            }
            Err(e) => errors.push(DocumentError {
                file: name.clone(),
                path: e.path().to_owned(),
                reason: e.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Refused(errors));
    }
    let texts: Vec<(String, String, String, String, String)> = parsed
        .iter()
        .map(|(_, doc, member, bytes)| {
            let id = match &doc.document_id.extension {
                Some(ext) => format!("{}^{ext}", doc.document_id.root),
                None => doc.document_id.root.clone(),
            };
            (
                id,
                member.clone(),
                doc.exam_date.to_string(),
                doc.institution_name.clone(),
                String::from_utf8_lossy(bytes).into_owned(),
            )
        })
        .collect();
    let rows: Vec<NewCheckup<'_>> = texts
        .iter()
        .map(|(id, member, date, institution, document)| NewCheckup {
            kenpo_id,
            document_id: id,
            member_id: member,
            exam_date: date,
            institution,
            document,
        })
        .collect();
    let stored = db.store_checkups(&rows, now).await?;
    let count = |s: Stored| stored.iter().filter(|x| **x == s).count();
    Ok(ImportReport {
        documents: stored.len(),
        inserted: count(Stored::Inserted),
        updated: count(Stored::Updated),
        unchanged: count(Stored::Unchanged),
    })
}

/// One item of an exam, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub key: String,
    pub label: String,
    pub value: String,
    pub unit: String,
    pub reference: String,
    /// Catalogue keys, when the rule set judges this item.
    pub judgement: Option<&'static str>,
    pub rank: Option<&'static str>,
    /// `normal`, `guidance` or `referral`, for styling.
    pub level: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExamView {
    pub id: String,
    pub member_id: String,
    pub exam_date: String,
    pub institution: String,
    pub level: &'static str,
    pub step1: &'static str,
    pub risks: Vec<&'static str>,
    pub missing: Vec<&'static str>,
    pub items: Vec<ItemView>,
    /// 医師の判断, as written.
    pub doctor: Option<String>,
    pub rule_set: String,
}

const DOCTOR_JUDGEMENT: &str = "9N511000000000049";

fn level_name(j: rules::Judgement) -> &'static str {
    match j {
        rules::Judgement::Normal => "normal",
        rules::Judgement::Guidance => "guidance",
        rules::Judgement::Referral => "referral",
    }
}

/// The exam as the page shows it: the rule set's items in its order, then nothing else (free
/// text and questionnaire answers are not results).
pub fn view(
    record: &CheckupRecord,
    rule_set: &RuleSet,
    locale: Locale,
) -> Result<(ExamView, CheckupDocument), cda::CdaError> {
    let doc = cda::parse_str(&record.document)?;
    let judgements = rules::judge_all(rule_set, &doc);
    let mut items = Vec::new();
    for rule in &rule_set.items {
        let codes: Vec<&str> = rule.codes.iter().map(String::as_str).collect();
        let Some(obs) = doc.find(&codes) else { continue };
        let (value, unit) = match &obs.value {
            ObservationValue::Quantity { text, unit, .. } => (text.clone(), unit.clone().unwrap_or_default()),
            ObservationValue::Coded { code, display } => {
                (display.clone().unwrap_or_else(|| code.clone()), String::new())
            }
            ObservationValue::Text(t) => (t.clone(), String::new()),
            ObservationValue::Absent { .. } => continue,
        };
        let judged = judgements.iter().find(|j| j.code == obs.code);
        items.push(ItemView {
            key: rule.key.clone(),
            label: if locale == Locale::Ja { rule.label_ja.clone() } else { rule.label_en.clone() },
            value,
            unit: if unit.is_empty() { rule.unit.clone().unwrap_or_default() } else { unit },
            reference: rule.reference.for_sex(doc.sex).clone(),
            judgement: judged.map(|j| keys::judgement(j.level)),
            rank: judged.map(|j| keys::rank(j.rank)),
            level: judged.map(|j| level_name(j.level)),
        });
    }
    let strat = stratify::stratify(&Measurements::from_document(&doc));
    let doctor = doc.find(&[DOCTOR_JUDGEMENT]).and_then(|o| match &o.value {
        ObservationValue::Text(t) => Some(t.clone()),
        _ => None,
    });
    let view = ExamView {
        id: record.id.clone(),
        member_id: record.member_id.to_string(),
        exam_date: record.exam_date.clone(),
        institution: record.institution.clone(),
        level: keys::level(strat.level),
        step1: keys::step1(strat.step1),
        risks: strat.risks.iter().map(|r| keys::risk(*r)).collect(),
        missing: strat.missing.iter().map(|m| keys::missing(*m)).collect(),
        items,
        doctor,
        rule_set: rule_set.id.clone(),
    };
    Ok((view, doc))
}

/// A chart per numeric item across one person's exams (oldest to newest), with the rule set's
/// bands: the rich edition's year-over-year view.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub label: String,
    pub svg: String,
}

pub fn charts(docs: &[&CheckupDocument], rule_set: &RuleSet, locale: Locale) -> Vec<ChartView> {
    let Some(sex) = docs.first().map(|d| d.sex) else { return Vec::new() };
    let bands = if locale == Locale::Ja { BAND_LABELS_JA } else { BAND_LABELS_EN };
    rule_set
        .items
        .iter()
        .filter(|rule| rule.bad_when.is_some())
        .filter_map(|rule| {
            let codes: Vec<&str> = rule.codes.iter().map(String::as_str).collect();
            let points: Vec<ChartPoint> = docs
                .iter()
                .filter_map(|d| {
                    d.find(&codes)
                        .and_then(|o| o.quantity())
                        .map(|value| ChartPoint { exam_date: d.exam_date, value })
                })
                .collect();
            if points.is_empty() {
                return None;
            }
            let label = if locale == Locale::Ja { &rule.label_ja } else { &rule.label_en };
            let svg = chart::render(&chart::Chart {
                title: label,
                unit: rule.unit.as_deref().unwrap_or_default(),
                points: &points,
                rule: Some((rule, sex)),
                bands,
            });
            Some(ChartView { label: label.clone(), svg })
        })
        .collect()
}
