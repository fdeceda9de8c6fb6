//! 健診結果: importing the kenpo's 特定健診 files (one CDA XML, or the submission ZIP), and the
//! view of an exam: each item with its value, 基準値 and 判定 by the rule set, the 保健指導
//! level by 階層化, and for the rich edition a chart per item across years.

use crate::checkup::cda::{self, CheckupDocument, ObservationValue};
use crate::checkup::chart::{self, BAND_LABELS_EN, BAND_LABELS_JA, ChartPoint};
use crate::checkup::rules::{self, RuleSet};
use crate::checkup::stratify::{self, Measurements};
use crate::checkup::{keys, zip};
use crate::domain::KenpoId;
use crate::flows::update_mails;
use crate::i18n::Locale;
use crate::import::{ImportOptions, Lang};
use crate::store::{
    CheckupRecord, CheckupStore, Db, KenpoStore, NewCheckup, PublishedTable, StoreError, Stored,
};
use crate::tenant::MailCategory;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Why one document of a file (or, with an empty path, the whole file) was refused: the file
/// (inside a ZIP, the data file's name), the XML path, a reason code for machines and the texts
/// for the kenpo's staff, with the file and path in front, like the CSV imports' `ErrorMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentError {
    pub file: String,
    pub path: String,
    /// `not_xml`, `wrong_root`, `missing`, `invalid`, `unknown_member`, `file_too_large`,
    /// `zip_corrupt`, `zip_too_many_entries`, `zip_file_too_large`, `zip_total_too_large`,
    /// `zip_unreadable` or `zip_no_data_files`.
    pub reason: &'static str,
    pub message_ja: String,
    pub message_en: String,
}

impl DocumentError {
    fn new(file: &str, path: &str, reason: &'static str, ja: &str, en: &str) -> Self {
        let place = if path.is_empty() { file.to_owned() } else { format!("{file} {path}") };
        Self {
            file: file.to_owned(),
            path: path.to_owned(),
            reason,
            message_ja: format!("{place}: {ja}"),
            message_en: format!("{place}: {en}"),
        }
    }

    /// The file is over the import's size limit.
    pub fn file_too_large(file: &str, max: usize) -> Self {
        let ja = format!("ファイルが大きすぎます（上限 {max} バイト）");
        let en = format!("the file is too large (limit {max} bytes)");
        Self::new(file, "", "file_too_large", &ja, &en)
    }

    fn unknown_member(file: &str) -> Self {
        Self::new(
            file,
            "/ClinicalDocument/recordTarget/patientRole",
            "unknown_member",
            "記号・番号（枝番）と生年月日が一致する加入者が登録されていません",
            "no member of this kenpo has this card number and birth date",
        )
    }

    fn cda(file: &str, e: &cda::CdaError) -> Self {
        use cda::CdaError as E;
        let (reason, ja, en) = match e {
            E::NotXml { reason } => (
                "not_xml",
                format!("XML 文書として読めません（{reason}）"),
                format!("not a well-formed XML document: {reason}"),
            ),
            E::WrongRoot { found, .. } => (
                "wrong_root",
                format!("ルート要素が {} の ClinicalDocument ではありません（{found}）", cda::NS_HL7),
                format!("expected ClinicalDocument in namespace {}, found {found}", cda::NS_HL7),
            ),
            E::Missing { .. } => (
                "missing",
                "必須の要素または属性がありません".to_owned(),
                "required element or attribute is missing".to_owned(),
            ),
            // The detailed reasons stay in English after the Japanese lead-in.
            E::Invalid { reason, .. } => {
                ("invalid", format!("値が正しくありません: {reason}"), reason.clone())
            }
        };
        Self::new(file, e.path(), reason, &ja, &en)
    }

    /// A problem with the archive: about one of its entries when the error names one.
    fn zip(file: &str, e: &zip::ZipError) -> Self {
        use zip::ZipError as E;
        let en = e.to_string();
        let (file, reason, ja) = match e {
            E::NotZip(_) => (file, "zip_corrupt", "ZIP ファイルとして読めません".to_owned()),
            E::TooManyEntries { found, limit } => (
                file,
                "zip_too_many_entries",
                format!("ZIP のエントリーが {found} 個あります（上限 {limit} 個）"),
            ),
            E::FileTooLarge { name, limit } => (
                name.as_str(),
                "zip_file_too_large",
                format!("展開後のサイズが1ファイルの上限 {limit} バイトを超えています"),
            ),
            E::TotalTooLarge { name, limit } => (
                name.as_str(),
                "zip_total_too_large",
                format!("展開後のデータファイルの合計が上限 {limit} バイトを超えています"),
            ),
            E::Unreadable { name, reason } => {
                (name.as_str(), "zip_unreadable", format!("ZIP から読み出せません（{reason}）"))
            }
            E::NoDataFiles => {
                (file, "zip_no_data_files", "ZIP に DATA/*.xml のファイルがありません".to_owned())
            }
        };
        Self::new(file, "", reason, &ja, &en)
    }

    /// The text in the reader's language.
    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.message_ja,
            Lang::En => &self.message_en,
        }
    }
}

/// The body of a refusal: `{ "errors": [...] }`, as for the CSV files.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal<'a> {
    pub errors: &'a [DocumentError],
}

/// What an accepted file did; the CSV imports' report with documents for rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Always `checkups`.
    pub kind: &'static str,
    pub file_name: String,
    /// CDA documents in the file.
    pub documents: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// A file with the same digest was imported before.
    pub seen_before: bool,
    /// Nothing was written: the counts are what the import would have done.
    pub dry_run: bool,
    /// Update mails queued to announce the new results (none for a dry run).
    pub update_mails: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} document(s) refused", .0.len())]
    Refused(Vec<DocumentError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The kind checkups are recorded as in `imports`.
pub const KIND: &str = "checkups";

/// Imports one file: a `.zip` submission or a single XML document, for the CLI, the API and the
/// demo. Nothing is written unless every document parses and names a member of this kenpo; the
/// exams and the `imports` record share one transaction, which a dry run rolls back.
pub async fn import(
    db: &Db,
    kenpo: &KenpoId,
    bytes: &[u8],
    options: &ImportOptions,
    now: OffsetDateTime,
) -> Result<ImportReport, ImportError> {
    let file_name = options.file_name.as_str();
    let max = options.limits.max_file_bytes;
    if bytes.len() > max {
        return Err(ImportError::Refused(vec![DocumentError::file_too_large(file_name, max)]));
    }
    let sha256 = hex::encode(Sha256::digest(bytes));
    let files: Vec<(String, Vec<u8>)> = if bytes.starts_with(b"PK") {
        zip::read_data_files(bytes, &zip::Limits::default())
            .map_err(|e| ImportError::Refused(vec![DocumentError::zip(file_name, &e)]))?
            .into_iter()
            .map(|f| (f.name, f.bytes))
            .collect()
    } else {
        vec![(file_name.to_owned(), bytes.to_vec())]
    };
    // Parsed and matched before the transaction opens: a bad file never takes the write lock.
    let mut errors = Vec::new();
    let mut rows = Vec::with_capacity(files.len());
    for (name, bytes) in &files {
        let doc = match cda::parse(bytes) {
            Ok(doc) => doc,
            Err(e) => {
                errors.push(DocumentError::cda(name, &e));
                continue;
            }
        };
        let member = db
            .member_for_card(
                kenpo.as_str(),
                doc.card_symbol.as_deref(),
                &doc.card_number,
                doc.branch.as_deref(),
                &doc.birth_date.to_string(),
            )
            .await?;
        match member {
            Some(member) => rows.push(Row::new(&doc, member, bytes)),
            None => errors.push(DocumentError::unknown_member(name)),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Refused(errors));
    }
    let new: Vec<NewCheckup<'_>> = rows.iter().map(|r| r.as_new(kenpo)).collect();
    let documents = u64::try_from(new.len()).unwrap_or(u64::MAX);
    let announce = if options.dry_run { None } else { db.kenpo(kenpo.as_str()).await? };
    let mut tx = db.begin_import(kenpo, now).await?;
    let stored = tx.store_checkups(&new).await?;
    let recorded = tx.record_import(kenpo, KIND, file_name, &sha256, documents).await?;
    let seen_before = recorded.seen_before;
    // Queued with the exams: both are published, or neither.
    let category = MailCategory::Checkups;
    let published = match &announce {
        Some(k) => Some(
            update_mails::publish(&mut tx, k, category, PublishedTable::Checkups, &recorded.id, now).await?,
        ),
        None => None,
    };
    if options.dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    let count = |s: Stored| u64::try_from(stored.iter().filter(|x| **x == s).count()).unwrap_or(u64::MAX);
    Ok(ImportReport {
        kind: KIND,
        file_name: file_name.to_owned(),
        documents,
        inserted: count(Stored::Inserted),
        updated: count(Stored::Updated),
        unchanged: count(Stored::Unchanged),
        sha256,
        seen_before,
        dry_run: options.dry_run,
        update_mails: published.map_or(0, |p| u64::try_from(p.mails).unwrap_or(u64::MAX)),
    })
}

/// One accepted document, owning the texts a [`NewCheckup`] borrows.
#[derive(Debug)]
struct Row {
    document_id: String,
    member_id: String,
    exam_date: String,
    institution: String,
    document: String,
}

impl Row {
    fn new(doc: &CheckupDocument, member_id: String, bytes: &[u8]) -> Self {
        let document_id = match &doc.document_id.extension {
            Some(ext) => format!("{}^{ext}", doc.document_id.root),
            None => doc.document_id.root.clone(),
        };
        Self {
            document_id,
            member_id,
            exam_date: doc.exam_date.to_string(),
            institution: doc.institution_name.clone(),
            document: String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    fn as_new<'a>(&'a self, kenpo: &'a KenpoId) -> NewCheckup<'a> {
        NewCheckup {
            kenpo_id: kenpo.as_str(),
            document_id: &self.document_id,
            member_id: &self.member_id,
            exam_date: &self.exam_date,
            institution: &self.institution,
            document: &self.document,
        }
    }
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
