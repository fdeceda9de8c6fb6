//! prescriptions.csv: one drug line of a 調剤 (or 医科) レセプト per line (spec §2.3).
//!
//! ```text
//! claim_no,line_no,symbol,number,branch,dispensed_month,pharmacy,prescriber,drug_name,generic_name,strength,quantity,days,is_generic,amount_yen
//! R2025040003,1,1001,2345,00,2025-04,さくら薬局,中央クリニック,ロキソプロフェンNa錠60mg「サワイ」,ロキソプロフェンナトリウム,60mg,21錠,7,後発,210
//! ```
//!
//! Keyed by (claim_no, line_no). `is_generic` is 1/0 or 後発/先発.

use super::{Columns, ImportLimits, LineError, MemberKey, Row, parse_table, reject_duplicates};
use crate::domain::Month;

pub const COLUMNS: Columns = Columns {
    required: &[
        "claim_no",
        "line_no",
        "symbol",
        "number",
        "branch",
        "dispensed_month",
        "pharmacy",
        "drug_name",
        "quantity",
        "days",
        "is_generic",
        "amount_yen",
    ],
    optional: &["prescriber", "generic_name", "strength"],
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrescriptionLine {
    pub line: u64,
    pub claim_no: String,
    pub line_no: i64,
    pub member: MemberKey,
    pub dispensed_month: Month,
    pub pharmacy: String,
    pub prescriber: Option<String>,
    pub drug_name: String,
    pub generic_name: Option<String>,
    pub strength: String,
    pub quantity: String,
    pub days: i64,
    pub is_generic: bool,
    pub amount_yen: i64,
}

pub fn parse(bytes: &[u8], limits: ImportLimits) -> Result<Vec<PrescriptionLine>, Vec<LineError>> {
    let lines = parse_table(bytes, limits, COLUMNS, parse_line)?;
    let errors = reject_duplicates(&lines, |p| p.line, |p| (p.claim_no.clone(), p.line_no), "line_no");
    if errors.is_empty() { Ok(lines) } else { Err(errors) }
}

fn parse_line(row: &mut Row<'_>) -> Option<PrescriptionLine> {
    let claim_no = row.required("claim_no", 40);
    let line_no = row.amount("line_no");
    let member = MemberKey::read(row);
    let dispensed_month = row.month("dispensed_month");
    let pharmacy = row.required("pharmacy", 200);
    let prescriber = row.optional("prescriber", 200);
    let drug_name = row.required("drug_name", 200);
    let generic_name = row.optional("generic_name", 200);
    let strength = row.optional("strength", 100);
    let quantity = row.required("quantity", 40);
    let days = row.amount("days");
    let is_generic = row.flag("is_generic", &["後発", "generic"], &["先発", "brand"]);
    let amount_yen = row.amount("amount_yen");
    Some(PrescriptionLine {
        line: row.line,
        claim_no: claim_no?,
        line_no: line_no?,
        member: member?,
        dispensed_month: dispensed_month?,
        pharmacy: pharmacy?,
        prescriber: prescriber?,
        drug_name: drug_name?,
        generic_name: generic_name?,
        strength: strength?.unwrap_or_default(),
        quantity: quantity?,
        days: days?,
        is_generic: is_generic?,
        amount_yen: amount_yen?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "claim_no,line_no,symbol,number,branch,dispensed_month,pharmacy,prescriber,drug_name,generic_name,strength,quantity,days,is_generic,amount_yen\n";

    #[test]
    fn generic_and_brand_lines_read_and_a_repeated_line_number_is_refused() {
        let body = "R3,1,1001,2345,00,2025-04,さくら薬局,中央クリニック,ロキソプロフェンNa錠60mg,ロキソプロフェンナトリウム,60mg,21錠,7,後発,210\n\
                    R3,2,1001,2345,00,2025-04,さくら薬局,,ムコスタ錠100mg,,100mg,21錠,7,先発,315\n";
        let lines = parse(format!("{HEADER}{body}").as_bytes(), ImportLimits::default())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((lines[0].is_generic, lines[1].is_generic), (true, false));
        assert_eq!(lines[1].prescriber, None);
        let again = format!("{HEADER}{body}R3,2,1001,2345,00,2025-04,X,,Y,,,1,1,0,1\n");
        let errors = parse(again.as_bytes(), ImportLimits::default()).err().unwrap_or_default();
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [4]);
    }
}
