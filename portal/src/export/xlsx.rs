//! The NTA 医療費集計フォーム (spec §3.3) filled with one row per claim, for the
//! 確定申告書等作成コーナー to import.
//!
//! The layout is the template's: title and notes in rows 1–7, headings in row 8, data from row 9
//! in columns B–I. The corner reads the data rows only, so they hold plain values: no formulas,
//! no sum row.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::format::month_ja;
use super::labels::form;
use super::{ExportError, FormKind, MedicalExpenseNotice, form_kind};

/// The template has room for this many data rows (rows 9–1008).
pub const MAX_FORM_ROWS: usize = 1_000;

/// Zero-based row of the headings (the template's row 8) and of the first data row (row 9).
const HEADING_ROW: u32 = 7;
const FIRST_DATA_ROW: u32 = 8;

// Zero-based columns B–J.
const COL_PATIENT: u16 = 1;
const COL_PAYEE: u16 = 2;
const COL_TREATMENT: u16 = 3;
const COL_MEDICINE: u16 = 4;
const COL_AMOUNT: u16 = 7;
const COL_REIMBURSED: u16 = 8;

const AMOUNT_FORMAT: &str = "#,##0";

/// Renders `notice` as the NTA 医療費集計フォーム workbook.
///
/// Refuses more than [`MAX_FORM_ROWS`] claims: the form cannot hold them, and silently dropping
/// claims would understate the deduction.
pub fn etax_xlsx(notice: &MedicalExpenseNotice) -> Result<Vec<u8>, ExportError> {
    if notice.rows.len() > MAX_FORM_ROWS {
        return Err(ExportError::TooManyRows { rows: notice.rows.len(), max: MAX_FORM_ROWS });
    }
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(form::SHEET_NAME)?;
    write_header(sheet, notice)?;
    write_rows(sheet, notice)?;
    Ok(workbook.save_to_buffer()?)
}

fn write_header(sheet: &mut Worksheet, notice: &MedicalExpenseNotice) -> Result<(), XlsxError> {
    let title = Format::new().set_bold().set_font_size(16);
    sheet.write_string_with_format(0, COL_PATIENT, form::TITLE, &title)?;

    let (first, last) = notice.covered_months;
    let notes = [
        (form::INSURER, notice.insurer_name.clone()),
        (form::INSURED, notice.insured_name.clone()),
        (form::COVERED, format!("{}～{}", month_ja(first), month_ja(last))),
    ];
    for (row, (label, value)) in (2u32..).zip(notes) {
        sheet.write_string(row, COL_PATIENT, label)?;
        sheet.write_string(row, COL_PAYEE, value)?;
    }
    sheet.write_string(5, COL_PATIENT, form::NOTE)?;

    let heading = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color("#DDEBF7");
    for (col, text) in (COL_PATIENT..).zip(form::HEADINGS) {
        sheet.write_string_with_format(HEADING_ROW, col, text, &heading)?;
    }
    sheet.set_row_height(HEADING_ROW, 36)?;

    for (col, width) in (COL_PATIENT..).zip([16.0, 36.0, 10.0, 10.0, 12.0, 12.0, 16.0, 16.0, 12.0]) {
        sheet.set_column_width(col, width)?;
    }
    sheet.set_column_width(0, 3)?;
    Ok(())
}

fn write_rows(sheet: &mut Worksheet, notice: &MedicalExpenseNotice) -> Result<(), XlsxError> {
    let amount = Format::new().set_num_format(AMOUNT_FORMAT);
    for (row, claim) in (FIRST_DATA_ROW..).zip(&notice.rows) {
        sheet.write_string(row, COL_PATIENT, &claim.patient_name)?;
        if let Some(institution) = &claim.institution {
            sheet.write_string(row, COL_PAYEE, institution)?;
        }
        let tick_col = match form_kind(claim.category) {
            FormKind::Treatment => COL_TREATMENT,
            FormKind::Medicine => COL_MEDICINE,
        };
        sheet.write_string(row, tick_col, form::TICK)?;
        // Yen amounts are far below 2^53, so f64 holds them exactly.
        sheet.write_number_with_format(row, COL_AMOUNT, claim.patient_yen as f64, &amount)?;
        sheet.write_number_with_format(row, COL_REIMBURSED, claim.reimbursed_yen as f64, &amount)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use calamine::{Data, Range, Reader, Xlsx};

    use super::*;
    use crate::export::fixtures;

    fn open(bytes: Vec<u8>) -> Range<Data> {
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
            .unwrap_or_else(|e| panic!("the export is not a readable xlsx: {e}"));
        book.worksheet_range(form::SHEET_NAME)
            .unwrap_or_else(|e| panic!("no sheet {}: {e}", form::SHEET_NAME))
    }

    /// Cell by the spreadsheet's own 1-based row and letter column.
    fn cell(range: &Range<Data>, row: u32, col: char) -> Data {
        let col = u32::from(col) - u32::from('A');
        range.get_value((row - 1, col)).cloned().unwrap_or(Data::Empty)
    }

    #[test]
    fn headings_sit_in_row_8_as_on_the_nta_form() -> Result<(), ExportError> {
        let range = open(etax_xlsx(&fixtures::notice())?);

        assert_eq!(cell(&range, 1, 'B'), Data::String(form::TITLE.into()));
        let row8: Vec<Data> = ('B'..='J').map(|c| cell(&range, 8, c)).collect();
        let expected = [
            "医療を受けた人",
            "病院・薬局などの支払先の名称",
            "診療・治療",
            "医薬品購入",
            "介護保険サービス",
            "その他の医療費",
            "支払った医療費の金額",
            "左のうち、補填される金額",
            "支払年月日",
        ]
        .map(|s| Data::String(s.into()));
        assert_eq!(row8, expected);
        Ok(())
    }

    #[test]
    fn clinic_claim_ticks_treatment_and_amounts_are_numbers() -> Result<(), ExportError> {
        let notice = fixtures::notice();
        let first = &notice.rows[0];
        let range = open(etax_xlsx(&notice)?);

        assert_eq!(cell(&range, 9, 'B'), Data::String(first.patient_name.clone()));
        assert_eq!(cell(&range, 9, 'C'), Data::String(first.institution.clone().unwrap_or_default()));
        assert_eq!(cell(&range, 9, 'D'), Data::String("該当する".into()));
        assert_eq!(cell(&range, 9, 'E'), Data::Empty);
        assert_eq!(cell(&range, 9, 'H'), Data::Float(first.patient_yen as f64));
        assert_eq!(cell(&range, 9, 'I'), Data::Float(first.reimbursed_yen as f64));
        Ok(())
    }

    #[test]
    fn pharmacy_claim_ticks_medicine_purchase() -> Result<(), ExportError> {
        let notice = fixtures::notice();
        let (index, _) = notice
            .rows
            .iter()
            .enumerate()
            .find(|(_, r)| r.category == crate::domain::Category::Pharmacy)
            .unwrap_or_else(|| panic!("fixture has a pharmacy claim"));
        let row = FIRST_DATA_ROW + 1 + u32::try_from(index).unwrap_or_else(|e| panic!("{e}"));
        let range = open(etax_xlsx(&notice)?);

        assert_eq!(cell(&range, row, 'D'), Data::Empty);
        assert_eq!(cell(&range, row, 'E'), Data::String("該当する".into()));
        Ok(())
    }

    #[test]
    fn judo_claim_leaves_the_payee_blank_and_rows_carry_no_sum() -> Result<(), ExportError> {
        let notice = fixtures::notice();
        let range = open(etax_xlsx(&notice)?);
        let judo = notice
            .rows
            .iter()
            .position(|r| r.institution.is_none())
            .unwrap_or_else(|| panic!("fixture has a 柔整 claim"));
        let row = FIRST_DATA_ROW + 1 + u32::try_from(judo).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cell(&range, row, 'C'), Data::Empty);
        assert_eq!(cell(&range, row, 'D'), Data::String("該当する".into()));

        let after_last = FIRST_DATA_ROW + 1 + u32::try_from(notice.rows.len()).unwrap_or(0);
        for col in 'B'..='J' {
            assert_eq!(cell(&range, after_last, col), Data::Empty, "column {col}");
        }
        Ok(())
    }

    #[test]
    fn more_than_1000_claims_are_refused() {
        let mut notice = fixtures::notice();
        let row = notice.rows[0].clone();
        notice.rows = vec![row; MAX_FORM_ROWS + 1];

        let err = etax_xlsx(&notice).err();

        assert!(matches!(err, Some(ExportError::TooManyRows { rows: 1001, max: 1000 })), "{err:?}");
        notice.rows.truncate(MAX_FORM_ROWS);
        assert!(etax_xlsx(&notice).is_ok(), "exactly 1,000 rows fit");
    }
}
