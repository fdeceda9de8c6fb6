//! Every word printed in the exported documents. They are official Japanese notices, so the
//! labels are Japanese and not translated; the names of the six items NTA requires (spec §3.1)
//! and the NTA form's headings must stay exactly as written here.

use crate::domain::{Category, Payee};

// 診療区分
pub const CATEGORY_INPATIENT: &str = "入院";
pub const CATEGORY_OUTPATIENT: &str = "外来";
pub const CATEGORY_DENTAL: &str = "歯科";
pub const CATEGORY_PHARMACY: &str = "調剤";
pub const CATEGORY_VISITING_NURSING: &str = "訪問看護";
pub const CATEGORY_JUDO: &str = "柔整";

// 支払先
pub const PAYEE_VIA_EMPLOYER: &str = "事業主経由";
pub const PAYEE_MEMBER_ACCOUNT: &str = "ご本人口座";

/// The 診療区分 as notices and the CSV print it. These are the documents' own short words (柔整,
/// not the pages' 柔道整復), so they do not come from the i18n catalogues.
pub fn category(category: Category) -> &'static str {
    match category {
        Category::Inpatient => CATEGORY_INPATIENT,
        Category::Outpatient => CATEGORY_OUTPATIENT,
        Category::Dental => CATEGORY_DENTAL,
        Category::Pharmacy => CATEGORY_PHARMACY,
        Category::VisitingNursing => CATEGORY_VISITING_NURSING,
        Category::Judo => CATEGORY_JUDO,
    }
}

/// The 支払先 as the 給付金支給決定通知書 prints it.
pub fn payee(payee: Payee) -> &'static str {
    match payee {
        Payee::Employer => PAYEE_VIA_EMPLOYER,
        Payee::Member => PAYEE_MEMBER_ACCOUNT,
    }
}

/// NTA 医療費集計フォーム (spec §3.3).
pub mod form {
    /// The template's sheet name, which is also its title in B1.
    pub const SHEET_NAME: &str = "医療費集計フォーム";
    pub const TITLE: &str = "医療費集計フォーム";
    /// Value the template expects in a ticked 医療費の区分 cell.
    pub const TICK: &str = "該当する";
    pub const PATIENT: &str = "医療を受けた人";
    pub const PAYEE: &str = "病院・薬局などの支払先の名称";
    pub const TREATMENT: &str = "診療・治療";
    pub const MEDICINE: &str = "医薬品購入";
    pub const CARE: &str = "介護保険サービス";
    pub const OTHER: &str = "その他の医療費";
    pub const AMOUNT: &str = "支払った医療費の金額";
    pub const REIMBURSED: &str = "左のうち、補填される金額";
    pub const PAID_ON: &str = "支払年月日";
    /// Row 8, columns B–J.
    pub const HEADINGS: [&str; 9] =
        [PATIENT, PAYEE, TREATMENT, MEDICINE, CARE, OTHER, AMOUNT, REIMBURSED, PAID_ON];
    /// Header rows 3–6: what the data is (the 作成コーナー reads from row 9 only).
    pub const INSURER: &str = "保険者等の名称";
    pub const INSURED: &str = "被保険者等の氏名";
    pub const COVERED: &str = "対象の診療年月";
    pub const NOTE: &str =
        "保険診療分の窓口負担額（推計）です。領収書と照合し、異なる場合は修正してください。";
}

/// Extra columns of the CSV, after the form's B–J.
pub mod csv {
    pub const SERVICE_MONTH: &str = "診療年月";
    pub const CATEGORY: &str = "診療区分";
    pub const DAYS: &str = "日数";
    pub const TOTAL: &str = "医療費総額";
}

/// 医療費通知 PDF: the six items of NTA Tax Answer 1119 (spec §3.1) word for word.
pub mod notice {
    pub const TITLE: &str = "医療費のお知らせ（医療費通知）";
    pub const ITEM_INSURED: &str = "被保険者等の氏名";
    pub const ITEM_MONTH: &str = "療養を受けた年月";
    pub const ITEM_PATIENT: &str = "療養を受けた者";
    pub const ITEM_INSTITUTION: &str = "療養を受けた病院・診療所・薬局等の名称";
    pub const ITEM_PAID: &str = "被保険者等が支払った医療費の額";
    pub const ITEM_INSURER: &str = "保険者等の名称";
    pub const CATEGORY: &str = "区分";
    pub const DAYS: &str = "日数";
    pub const TOTAL: &str = "医療費の総額";
    pub const REIMBURSED: &str = "補填される金額";
    pub const ISSUED_ON: &str = "発行日";
    pub const YEAR: &str = "対象年";
    pub const HONORIFIC: &str = "様";
    pub const SUM: &str = "合計";
    pub const UNIT: &str = "（金額の単位：円）";
    pub const CONTINUED: &str = "（続き）";
    pub const NO_ROWS: &str = "この期間に保険診療の記録はありません。";
    /// `{from}` and `{to}` are replaced by 2025年1月-style months.
    pub const COVERED_SENTENCE: &str =
        "この通知は、{from}から{to}までに診療を受けた保険診療の医療費をお知らせするものです。";
    pub const DISCLAIMER: [&str; 4] = [
        "※ 被保険者等が支払った医療費の額（窓口負担額）は推計です。レセプトの点数から算出しており、",
        "　 端数処理や公費助成・自治体の医療費助成により実際の支払額と異なる場合があります。",
        "※ 医療費控除の申告には、領収書と照合し、異なる場合は正しい金額に修正してお使いください。",
        "※ 補填される金額（高額療養費・付加給付）は、医療費控除の計算で差し引く必要があります。",
    ];
    /// Printed only when the year has 柔整 claims (spec §3.4: blank institution).
    pub const JUDO_NOTE: &str =
        "※ 柔整（柔道整復）は施術所の名称が記載されないため、施術所の領収書により申告してください。";
    /// `{page}` and `{pages}`.
    pub const PAGE: &str = "{page} / {pages} ページ";
}

/// 給付金支給決定通知書 PDF (spec §7).
pub mod benefit {
    pub const TITLE: &str = "給付金支給決定通知書";
    pub const NOTICE_NO: &str = "通知番号";
    pub const ISSUED_ON: &str = "発行日";
    pub const HONORIFIC: &str = "様";
    pub const INTRO: &str = "下記のとおり給付金の支給を決定しましたので通知します。";
    pub const RECIPIENT: &str = "被保険者";
    pub const PATIENT: &str = "対象者";
    pub const KIND: &str = "給付の種類";
    pub const SERVICE_MONTH: &str = "診療年月";
    pub const PERIOD: &str = "支給期間";
    pub const PERIOD_SEPARATOR: &str = " ～ ";
    pub const DAYS: &str = "日数・回数";
    pub const TOTAL: &str = "医療費総額";
    pub const PUBLIC: &str = "公費負担額";
    pub const PATIENT_PAID: &str = "窓口支払額";
    pub const INSURER_PAID: &str = "健保組合負担額";
    pub const DAILY: &str = "日額";
    pub const AMOUNT: &str = "支給金額";
    pub const NET: &str = "実質負担額";
    pub const INCOME_CATEGORY: &str = "所得区分";
    pub const MANY_TIMES: &str = "多数回該当";
    pub const MANY_TIMES_YES: &str = "該当";
    pub const DECIDED_ON: &str = "支給決定日";
    pub const PAID_ON: &str = "支払日";
    pub const PAYEE: &str = "支払先";
    pub const EMPLOYER_DATE_NOTE: &str =
        "※ 事業主経由のお支払いの支払日は、健康保険組合から事業主へ支払う日です。";
    pub const DAYS_SUFFIX: &str = "日";
}

/// 資格情報のお知らせ PDF (spec §6, §9.3).
pub mod qualification {
    pub const TITLE: &str = "資格情報のお知らせ";
    pub const HONORIFIC: &str = "様";
    pub const INTRO: &str = "あなたの健康保険の資格情報をお知らせします。";
    pub const NAME: &str = "氏名";
    pub const BIRTH_DATE: &str = "生年月日";
    pub const CARD: &str = "記号・番号・枝番";
    pub const SYMBOL: &str = "記号";
    pub const NUMBER: &str = "番号";
    pub const BRANCH: &str = "枝番";
    pub const RELATION: &str = "本人・家族の別";
    pub const INSURED: &str = "被保険者（本人）";
    pub const DEPENDANT: &str = "被扶養者（家族）";
    pub const ACQUIRED_ON: &str = "資格取得年月日";
    pub const INSURER_NUMBER: &str = "保険者番号";
    pub const INSURER_NAME: &str = "保険者名称";
    pub const COPAY: &str = "一部負担金の割合";
    /// `{tenths}`: 2 or 3.
    pub const COPAY_VALUE: &str = "{tenths}割";
    pub const COPAY_FROM: &str = "発効日";
    pub const COPAY_UNTIL: &str = "有効期限";
    pub const ISSUED_ON: &str = "交付年月日";
    pub const NOTES: [&str; 3] = [
        "※ この「資格情報のお知らせ」だけでは医療機関・薬局を受診できません。マイナ保険証でご受診ください。",
        "※ マイナ保険証を読み取れない場合は、マイナンバーカードとあわせてこのお知らせを提示してください。",
        "※ 各種手続きで記号・番号・枝番が必要なときにお使いください。下の枠は切り取って携帯できます。",
    ];
    pub const CUT_HERE: &str = "キリトリ線";
    /// Printed small inside the card.
    pub const CARD_NOTE: &str = "このお知らせのみでは受診できません";
}

/// Shared units.
pub const YEN: &str = "円";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_print_the_short_category_and_payee_words() {
        let printed: Vec<&str> = Category::ALL.into_iter().map(category).collect();
        assert_eq!(printed, ["入院", "外来", "歯科", "調剤", "訪問看護", "柔整"]);
        assert_eq!(payee(Payee::Employer), "事業主経由");
        assert_eq!(payee(Payee::Member), "ご本人口座");
    }
}
