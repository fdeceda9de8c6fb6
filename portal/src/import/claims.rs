//! claims.csv: レセプト, one per line (person × 診療年月 × institution × 診療区分, spec §2.1).
//!
//! ```text
//! claim_no,symbol,number,branch,service_month,category,institution,days,total_yen,insurer_yen,public_yen,patient_yen,meal_yen,statutory_refund_yen,additional_refund_yen,reduced
//! R2025040001,1001,2345,00,2025-04,外来,中央クリニック,2,12340,8638,0,3702,0,0,0,0
//! R2025040002,1001,2345,01,202504,柔整,,3,4500,3150,0,1350,,,,
//! ```
//!
//! `total_yen` must equal `insurer_yen + public_yen + patient_yen`. Empty meal/refund amounts
//! and `reduced` read as 0.

use super::{Columns, ImportLimits, LineError, MemberKey, ReasonCode, Row, parse_table, reject_duplicates};
use crate::domain::{Category, Month};

pub const COLUMNS: Columns = Columns {
    required: &[
        "claim_no",
        "symbol",
        "number",
        "branch",
        "service_month",
        "category",
        "institution",
        "days",
        "total_yen",
        "insurer_yen",
        "public_yen",
        "patient_yen",
    ],
    optional: &["meal_yen", "statutory_refund_yen", "additional_refund_yen", "reduced"],
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLine {
    pub line: u64,
    pub claim_no: String,
    pub member: MemberKey,
    pub service_month: Month,
    pub category: Category,
    pub institution: Option<String>,
    pub days: i64,
    pub total_yen: i64,
    pub insurer_yen: i64,
    pub public_yen: i64,
    pub patient_yen: i64,
    pub meal_yen: i64,
    pub statutory_refund_yen: i64,
    pub additional_refund_yen: i64,
    pub reduced: bool,
}

pub fn parse(bytes: &[u8], limits: ImportLimits) -> Result<Vec<ClaimLine>, Vec<LineError>> {
    let claims = parse_table(bytes, limits, COLUMNS, parse_line)?;
    let errors = reject_duplicates(&claims, |c| c.line, |c| c.claim_no.clone(), "claim_no");
    if errors.is_empty() { Ok(claims) } else { Err(errors) }
}

/// 診療区分 in Japanese, as the kenpo writes it, or the domain's code.
pub fn category(s: &str) -> Option<Category> {
    match s {
        "入院" => Some(Category::Inpatient),
        "外来" | "入院外" => Some(Category::Outpatient),
        "歯科" => Some(Category::Dental),
        "調剤" | "薬局" => Some(Category::Pharmacy),
        "訪問看護" => Some(Category::VisitingNursing),
        "柔整" => Some(Category::Judo),
        other => Category::parse(other),
    }
}

fn parse_line(row: &mut Row<'_>) -> Option<ClaimLine> {
    let claim_no = row.required("claim_no", 40);
    let member = MemberKey::read(row);
    let service_month = row.month("service_month");
    let category = category(row.text("category"));
    if category.is_none() {
        row.fail(Some("category"), ReasonCode::UnknownCategory);
    }
    let institution = row.optional("institution", 200);
    if let (Some(c), Some(None)) = (category, &institution)
        && c != Category::Judo
    {
        row.fail(Some("institution"), ReasonCode::InstitutionRequired);
    }
    let days = row.amount("days");
    let total_yen = row.amount("total_yen");
    let insurer_yen = row.amount("insurer_yen");
    let public_yen = row.amount("public_yen");
    let patient_yen = row.amount("patient_yen");
    if let (Some(total), Some(a), Some(b), Some(c)) = (total_yen, insurer_yen, public_yen, patient_yen) {
        let sum = a.saturating_add(b).saturating_add(c);
        if sum != total {
            row.fail(Some("total_yen"), ReasonCode::AmountsDoNotAddUp { total, sum });
        }
    }
    let meal_yen = row.amount_or_zero("meal_yen");
    let statutory_refund_yen = row.amount_or_zero("statutory_refund_yen");
    let additional_refund_yen = row.amount_or_zero("additional_refund_yen");
    let reduced = row.flag("reduced", &["減額"], &[]);
    Some(ClaimLine {
        line: row.line,
        claim_no: claim_no?,
        member: member?,
        service_month: service_month?,
        category: category?,
        institution: institution?,
        days: days?,
        total_yen: total_yen?,
        insurer_yen: insurer_yen?,
        public_yen: public_yen?,
        patient_yen: patient_yen?,
        meal_yen: meal_yen?,
        statutory_refund_yen: statutory_refund_yen?,
        additional_refund_yen: additional_refund_yen?,
        reduced: reduced?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "claim_no,symbol,number,branch,service_month,category,institution,days,total_yen,insurer_yen,public_yen,patient_yen,meal_yen,statutory_refund_yen,additional_refund_yen,reduced\n";

    fn parse_text(body: &str) -> Result<Vec<ClaimLine>, Vec<LineError>> {
        parse(format!("{HEADER}{body}").as_bytes(), ImportLimits::default())
    }

    #[test]
    fn japanese_categories_and_empty_optional_amounts_read() {
        let claims = parse_text(
            "R1,1001,2345,00,2025-04,外来,中央クリニック,2,12340,8638,0,3702,0,0,0,0\n\
             R2,1001,2345,01,202504,柔整,,3,4500,3150,0,1350,,,,\n\
             R3,1001,2345,01,2025-05,visiting_nursing,訪問看護ステーション,3,\"1,000\",700,0,300,,,,1\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(claims[0].category, Category::Outpatient);
        assert_eq!(
            (claims[1].category, claims[1].institution.as_deref(), claims[1].meal_yen),
            (Category::Judo, None, 0)
        );
        assert_eq!((claims[2].total_yen, claims[2].reduced), (1000, true));
    }

    #[test]
    fn amounts_that_do_not_add_up_and_missing_institutions_are_refused() {
        let errors = parse_text(
            "R1,1,1,00,2025-04,外来,,2,100,70,0,31,,,,\nR2,1,1,00,2025-04,整骨,X,1,1,1,0,0,,,,\nR1,1,1,00,2025-04,歯科,X,1,-1,0,0,0,,,,\n",
        )
        .err()
        .unwrap_or_default();
        let got: Vec<(u64, Option<&str>, &str)> =
            errors.iter().map(|e| (e.line, e.column, e.reason.code())).collect();
        assert_eq!(
            got,
            [
                (2, Some("institution"), "institution_required"),
                (2, Some("total_yen"), "amounts_do_not_add_up"),
                (3, Some("category"), "unknown_category"),
                (4, Some("total_yen"), "not_an_amount"),
            ]
        );
    }

    #[test]
    fn a_repeated_claim_number_is_refused() {
        let errors =
            parse_text("R1,1,1,00,2025-04,外来,X,1,10,7,0,3,,,,\nR1,1,1,00,2025-04,外来,X,1,10,7,0,3,,,,\n")
                .err()
                .unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, &errors[0].reason), (3, &ReasonCode::Duplicate { first: 2 }));
    }
}
