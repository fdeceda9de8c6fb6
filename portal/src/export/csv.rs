//! The 医療費集計フォーム's columns as CSV, for members who paste rather than upload, plus the
//! claim details the form has no room for (診療年月, 診療区分, 日数, 医療費総額).
//!
//! UTF-8 with a BOM and CRLF line ends, so Excel opens the Japanese text as it should.

use ::csv::{QuoteStyle, Terminator, WriterBuilder};

use super::labels::{self, form};
use super::{FormKind, MedicalExpenseNotice, NoticeRow, form_kind};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Renders `notice` as CSV: form columns B–J first, in the form's order, then the details.
pub fn etax_csv(notice: &MedicalExpenseNotice) -> Vec<u8> {
    match write(notice) {
        Ok(bytes) => bytes,
        // A csv::Writer over a Vec<u8> only fails if the Vec cannot grow, which aborts first.
        Err(e) => unreachable!("writing CSV into memory failed: {e}"),
    }
}

fn write(notice: &MedicalExpenseNotice) -> Result<Vec<u8>, ::csv::Error> {
    let mut out = WriterBuilder::new()
        .terminator(Terminator::CRLF)
        .quote_style(QuoteStyle::Necessary)
        .from_writer(BOM.to_vec());
    let header = form::HEADINGS.into_iter().chain([
        labels::csv::SERVICE_MONTH,
        labels::csv::CATEGORY,
        labels::csv::DAYS,
        labels::csv::TOTAL,
    ]);
    out.write_record(header)?;
    for row in &notice.rows {
        out.write_record(record(row))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

fn record(row: &NoticeRow) -> [String; 13] {
    let tick = |kind: FormKind| {
        if form_kind(row.category) == kind { form::TICK.to_owned() } else { String::new() }
    };
    [
        guard(&row.patient_name),
        guard(row.institution.as_deref().unwrap_or_default()),
        tick(FormKind::Treatment),
        tick(FormKind::Medicine),
        String::new(),
        String::new(),
        row.patient_yen.to_string(),
        row.reimbursed_yen.to_string(),
        String::new(),
        row.service_month.to_string(),
        labels::category(row.category).to_owned(),
        row.days.to_string(),
        row.total_yen.to_string(),
    ]
}

/// Spreadsheet formula injection guard (OWASP "CSV Injection"): a text cell that a spreadsheet
/// would read as a formula or a command gets a leading `'`, which makes it plain text.
fn guard(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixtures;

    fn lines(bytes: &[u8]) -> Vec<String> {
        let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("CSV is not UTF-8: {e}"));
        text.split_terminator("\r\n").map(str::to_owned).collect()
    }

    #[test]
    fn starts_with_a_bom_and_ends_lines_with_crlf() {
        let notice = fixtures::notice();

        let bytes = etax_csv(&notice);

        assert!(bytes.starts_with(BOM));
        assert!(bytes.ends_with(b"\r\n"));
        let body = &bytes[BOM.len()..];
        let bare_lf = body.windows(2).filter(|w| w[1] == b'\n' && w[0] != b'\r').count();
        assert_eq!(bare_lf, 0, "every line ends with CRLF");
        assert_eq!(lines(body).len(), notice.rows.len() + 1);
    }

    #[test]
    fn header_is_the_forms_columns_then_the_details() {
        let bytes = etax_csv(&fixtures::notice());

        let header = lines(&bytes[BOM.len()..]).remove(0);

        assert_eq!(
            header,
            "医療を受けた人,病院・薬局などの支払先の名称,診療・治療,医薬品購入,介護保険サービス,\
             その他の医療費,支払った医療費の金額,左のうち、補填される金額,支払年月日,\
             診療年月,診療区分,日数,医療費総額"
        );
    }

    #[test]
    fn rows_carry_tick_amounts_and_details() {
        let rows = lines(&etax_csv(&fixtures::notice())[BOM.len()..]);

        assert_eq!(rows[1], "健保 太郎,さくら内科クリニック,該当する,,,,3702,0,,2025-01,外来,2,12340");
        assert_eq!(rows[2], "健保 太郎,ひまわり薬局 駅前店,,該当する,,,1368,0,,2025-01,調剤,1,4560");
        assert_eq!(rows[5], "健保 一郎,,該当する,,,,2940,0,,2025-03,柔整,4,9800");
    }

    #[test]
    fn commas_and_quotes_are_quoted_and_read_back_intact() {
        let bytes = etax_csv(&fixtures::notice());
        let rows = lines(&bytes[BOM.len()..]);

        assert!(rows[7].starts_with("健保 太郎,\"Smith, \"\"Dr.\"\" Clinic\",該当する"));
        let mut reader = ::csv::Reader::from_reader(&bytes[BOM.len()..]);
        let names: Vec<String> = reader
            .records()
            .map(|r| r.map(|r| r[1].to_owned()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("CSV reads back: {e}"));
        assert_eq!(names[6], "Smith, \"Dr.\" Clinic");
    }

    #[test]
    fn cells_that_look_like_formulas_are_neutralised() {
        let bytes = etax_csv(&fixtures::notice());
        let mut reader = ::csv::Reader::from_reader(&bytes[BOM.len()..]);
        let names: Vec<String> = reader
            .records()
            .map(|r| r.map(|r| r[1].to_owned()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("CSV reads back: {e}"));

        assert_eq!(names[7], "'=HYPERLINK(\"http://x\")");
        assert_eq!(names[8], "'-2+3 薬局");
        assert_eq!(names[9], "'@こども医院");
        for prefix in ["+1", "\tx", "\rx"] {
            assert_eq!(guard(prefix), format!("'{prefix}"));
        }
        assert_eq!(guard("さくら内科"), "さくら内科");
    }
}
