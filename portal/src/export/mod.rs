//! Documents a member downloads: the e-Tax 医療費集計フォーム (xlsx), the same rows as CSV, the
//! 医療費通知 PDF, the 給付金支給決定通知書 PDF (spec §2.2, §2.4, §3, §7) and the 資格情報のお知らせ
//! PDF (spec §6).
//!
//! Everything here is pure: the integrator maps DB rows onto the input types below, which speak
//! the portal's own vocabulary ([`Month`], [`Category`], [`Payee`] from `crate::domain`), and
//! hands the bytes to an HTTP response. No I/O happens except [`PdfFont::load`] /
//! [`PdfFont::discover`], which read the font once at start-up.
//!
//! Every label printed in a document lives in [`labels`].

mod csv;
mod format;
pub mod labels;
mod pdf;
mod xlsx;

#[cfg(test)]
mod fixtures;

use std::path::PathBuf;

use time::Date;

use crate::domain::{Category, Copay, Month, Payee};

pub use self::csv::etax_csv;
pub use self::pdf::{
    FONT_CANDIDATES, PdfFont, benefit_notice_pdf, medical_notice_pdf, qualification_notice_pdf,
};
pub use self::xlsx::{MAX_FORM_ROWS, etax_xlsx};

/// Which 医療費の区分 column of the NTA form a claim of `category` ticks: 調剤 is 医薬品購入,
/// everything else a kenpo pays is 診療・治療 (the rule is [`Category::is_medicine`]).
pub(crate) fn form_kind(category: Category) -> FormKind {
    if category.is_medicine() { FormKind::Medicine } else { FormKind::Treatment }
}

/// The 医療費の区分 columns D–G of the 医療費集計フォーム that a kenpo claim can fall in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormKind {
    /// D: 診療・治療
    Treatment,
    /// E: 医薬品購入
    Medicine,
}

/// One claim on the yearly 医療費通知 (spec §3.1, §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// 療養を受けた者
    pub patient_name: String,
    /// 療養を受けた年月
    pub service_month: Month,
    /// 療養を受けた病院・診療所・薬局等の名称; `None` for 柔整, printed blank.
    pub institution: Option<String>,
    /// 診療区分, printed as [`labels::category`] words it.
    pub category: Category,
    /// 日数
    pub days: u32,
    /// 医療費の総額
    pub total_yen: i64,
    /// 窓口負担額 (推計): 被保険者等が支払った医療費の額, item 5.
    pub patient_yen: i64,
    /// 補填される金額: 高額療養費・付加給付 paid against this claim.
    pub reimbursed_yen: i64,
}

/// The 医療費通知 for one household and one year, source of the xlsx, CSV and PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalExpenseNotice {
    /// 保険者等の名称
    pub insurer_name: String,
    /// 被保険者等の氏名
    pub insured_name: String,
    pub year: i32,
    /// First and last 診療月 the data covers (spec §2.4: it depends on the download month).
    pub covered_months: (Month, Month),
    pub issued_on: Date,
    pub rows: Vec<NoticeRow>,
}

/// What a benefit was paid for: one 診療月 (高額療養費, 付加給付) or a span of days (手当金).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenefitPeriod {
    /// 診療年月
    ServiceMonth(Month),
    /// 支給期間 (自–至)
    Days { from: Date, to: Date },
}

/// One 給付金支給決定通知 (spec §7). Absent fields are left off the PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitNotice {
    /// 通知番号
    pub notice_no: String,
    /// 保険者名
    pub insurer_name: String,
    /// 発行日
    pub issued_on: Date,
    /// 被保険者 the notice is addressed to
    pub recipient_name: String,
    /// 対象者 (受診者)
    pub patient_name: String,
    /// 給付の種類, e.g. 高額療養費 / 一部負担還元金 / 傷病手当金
    pub kind_label: String,
    pub period: Option<BenefitPeriod>,
    /// 日数・回数
    pub days: Option<u32>,
    /// 医療費総額
    pub total_yen: Option<i64>,
    /// 公費負担額
    pub public_yen: Option<i64>,
    /// 窓口支払額
    pub patient_yen: Option<i64>,
    /// 健保組合負担額
    pub insurer_yen: Option<i64>,
    /// 支給金額
    pub amount_yen: i64,
    /// 支給決定日
    pub decided_on: Date,
    /// 支払(振込)日; for [`Payee::Employer`] the kenpo→employer date.
    pub paid_on: Option<Date>,
    /// 支払先, printed as [`labels::payee`] words it.
    pub payee: Payee,
    /// 所得区分 (高額療養費: ア–オ)
    pub income_category: Option<String>,
    /// 多数回該当 (高額療養費)
    pub many_times: bool,
    /// 日額 (手当金); printed as 日額 × 日数
    pub daily_amount_yen: Option<i64>,
}

/// One 資格情報のお知らせ (spec §6): the member's card as the kenpo issued it. Shows the
/// 記号・番号・枝番 for procedures; it is not a card to see a doctor with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationNotice {
    /// 保険者名称
    pub insurer_name: String,
    /// 保険者番号; left off when the kenpo has not set it.
    pub insurer_number: String,
    /// 氏名
    pub name: String,
    /// 生年月日
    pub birth_date: Date,
    /// 記号・番号・枝番
    pub symbol: String,
    pub number: String,
    pub branch: String,
    /// 被保険者 (true) or 被扶養者.
    pub insured: bool,
    /// 資格取得年月日
    pub acquired_on: Option<Date>,
    /// 交付年月日
    pub issued_on: Date,
    /// 一部負担割合 (70–74歳) with 発効日 and 有効期限.
    pub copay: Option<Copay>,
}

/// Everything that can go wrong rendering a document.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the 医療費集計フォーム takes at most {max} rows, this notice has {rows}")]
    TooManyRows { rows: usize, max: usize },
    #[error("writing the xlsx workbook failed")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("reading the font file {path}")]
    FontRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} has no usable font face ({reason})")]
    FontUnusable { path: PathBuf, reason: String },
    #[error("no Japanese font found; tried {tried:?}")]
    NoFont { tried: Vec<PathBuf> },
    #[error("writing the PDF failed: {0}")]
    Pdf(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pharmacy_alone_counts_as_medicine_purchase() {
        use Category::*;
        for category in [Inpatient, Outpatient, Dental, VisitingNursing, Judo] {
            assert_eq!(form_kind(category), FormKind::Treatment, "{category:?}");
        }
        assert_eq!(form_kind(Pharmacy), FormKind::Medicine);
    }

    #[test]
    fn the_font_can_live_in_shared_app_state() {
        fn shared<T: Send + Sync + Clone + 'static>() {}
        shared::<PdfFont>();
    }
}
