//! 医療費のお知らせ（医療費通知）: the yearly notice a member may attach to the tax return in
//! place of receipts. It carries the six items of NTA Tax Answer 1119 (spec §3.1): the insured
//! person's and the insurer's names in the header, the other four as table columns.

use krilla::surface::Surface;

use super::{Align, CONTENT_WIDTH, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, PdfFont, Pen, fill_in};
use crate::domain::Category;
use crate::export::format::{date_ja, month_ja, yen};
use crate::export::labels::{self, notice as label};
use crate::export::{ExportError, MedicalExpenseNotice, NoticeRow};

const ROW_HEIGHT: f32 = 16.0;
const HEADER_HEIGHT: f32 = 22.0;
const BODY_SIZE: f32 = 8.0;
const HEADING_SIZE: f32 = 7.0;
/// Where the table's heading row starts on the first page and on the following ones.
const FIRST_TABLE_TOP: f32 = 176.0;
const NEXT_TABLE_TOP: f32 = 80.0;
/// Nothing but the page number goes below this line.
const BODY_BOTTOM: f32 = PAGE_HEIGHT - 56.0;
const NOTE_LINE: f32 = 12.0;
/// The sum row, a gap, the disclaimer and the 柔整 note.
const TRAILER_HEIGHT: f32 = ROW_HEIGHT + 14.0 + (label::DISCLAIMER.len() + 1) as f32 * NOTE_LINE;

/// Column title and width, left to right; widths add up to the content width.
const COLUMNS: [(&str, f32, Align); 8] = [
    (label::ITEM_PATIENT, 58.0, Align::Left),
    (label::ITEM_MONTH, 56.0, Align::Center),
    (label::ITEM_INSTITUTION, 140.28, Align::Left),
    (label::CATEGORY, 28.0, Align::Center),
    (label::DAYS, 24.0, Align::Right),
    (label::TOTAL, 56.0, Align::Right),
    (label::ITEM_PAID, 98.0, Align::Right),
    (label::REIMBURSED, 55.0, Align::Right),
];

/// Renders the 医療費通知 PDF, as many pages as the claims need, each with the table headings
/// and "page / pages".
pub fn medical_notice_pdf(notice: &MedicalExpenseNotice, font: &PdfFont) -> Result<Vec<u8>, ExportError> {
    let pages = paginate(notice.rows.len());
    let mut document = super::document(label::TITLE, notice.issued_on);
    for (number, page_rows) in pages.iter().enumerate() {
        let mut page = super::a4_page(&mut document)?;
        let mut surface = page.surface();
        let first = number == 0;
        let last = number + 1 == pages.len();
        draw_page(
            &mut surface,
            font,
            notice,
            PageSpec {
                first,
                rows: &notice.rows[page_rows.clone()],
                trailer: last,
                number: number + 1,
                pages: pages.len(),
            },
        );
        surface.finish();
        page.finish();
    }
    super::finish(document)
}

struct PageSpec<'a> {
    first: bool,
    rows: &'a [NoticeRow],
    trailer: bool,
    number: usize,
    pages: usize,
}

fn capacity(table_top: f32, reserve: f32) -> usize {
    let room = BODY_BOTTOM - table_top - HEADER_HEIGHT - reserve;
    // Truncation intended: whole rows only; the geometry keeps this positive.
    (room / ROW_HEIGHT).max(1.0) as usize
}

/// The rows each page holds. The last page also needs room for the sum and the disclaimer;
/// when the rows fill it, the trailer goes on a page of its own (with the headings again).
fn paginate(rows: usize) -> Vec<std::ops::Range<usize>> {
    let mut pages = Vec::new();
    let mut start = 0;
    let mut top = FIRST_TABLE_TOP;
    loop {
        let remaining = rows - start;
        if remaining <= capacity(top, TRAILER_HEIGHT) {
            pages.push(start..rows);
            return pages;
        }
        let take = capacity(top, 0.0).min(remaining);
        pages.push(start..start + take);
        start += take;
        top = NEXT_TABLE_TOP;
    }
}

fn draw_page(surface: &mut Surface<'_>, font: &PdfFont, notice: &MedicalExpenseNotice, spec: PageSpec<'_>) {
    let mut pen = Pen::new(surface, font);
    let table_top = if spec.first {
        draw_first_header(&mut pen, notice);
        FIRST_TABLE_TOP
    } else {
        let title = format!("{}{}", label::TITLE, label::CONTINUED);
        pen.text(MARGIN, 52.0, 12.0, &title, Align::Left);
        let who = format!(
            "{}：{} {}　{}：{}",
            label::ITEM_INSURED,
            notice.insured_name,
            label::HONORIFIC,
            label::ITEM_INSURER,
            notice.insurer_name
        );
        pen.cell(MARGIN, CONTENT_WIDTH, 70.0, 8.0, &who, Align::Right);
        NEXT_TABLE_TOP
    };

    draw_headings(&mut pen, table_top);
    let mut y = table_top + HEADER_HEIGHT;
    for row in spec.rows {
        draw_row(&mut pen, y, row);
        y += ROW_HEIGHT;
    }
    if spec.trailer {
        if notice.rows.is_empty() {
            pen.cell(MARGIN, CONTENT_WIDTH, y + 11.0, BODY_SIZE, label::NO_ROWS, Align::Center);
            y += ROW_HEIGHT;
        }
        draw_trailer(&mut pen, y, &notice.rows);
    }

    let page_no =
        fill_in(label::PAGE, &[("page", &spec.number.to_string()), ("pages", &spec.pages.to_string())]);
    pen.text(PAGE_WIDTH / 2.0, PAGE_HEIGHT - 30.0, 8.0, &page_no, Align::Center);
}

fn draw_first_header(pen: &mut Pen<'_, '_>, notice: &MedicalExpenseNotice) {
    pen.text(PAGE_WIDTH / 2.0, 62.0, 16.0, label::TITLE, Align::Center);
    let right = PAGE_WIDTH - MARGIN;
    let issued = format!("{}：{}", label::ISSUED_ON, date_ja(notice.issued_on));
    pen.text(right, 88.0, 9.0, &issued, Align::Right);

    let insured = format!("{}：{} {}", label::ITEM_INSURED, notice.insured_name, label::HONORIFIC);
    pen.cell(MARGIN, CONTENT_WIDTH * 0.62, 104.0, 12.0, &insured, Align::Left);
    let insurer = format!("{}：{}", label::ITEM_INSURER, notice.insurer_name);
    pen.cell(MARGIN, CONTENT_WIDTH, 104.0, 9.0, &insurer, Align::Right);
    let year = format!("{}：{}年", label::YEAR, notice.year);
    pen.text(MARGIN, 124.0, 9.0, &year, Align::Left);

    let (from, to) = notice.covered_months;
    let covered = fill_in(label::COVERED_SENTENCE, &[("from", &month_ja(from)), ("to", &month_ja(to))]);
    pen.cell(MARGIN, CONTENT_WIDTH, 146.0, 9.0, &covered, Align::Left);
    pen.text(right, FIRST_TABLE_TOP - 6.0, 7.5, label::UNIT, Align::Right);
}

fn draw_headings(pen: &mut Pen<'_, '_>, top: f32) {
    let right = MARGIN + CONTENT_WIDTH;
    pen.shade(MARGIN, top, CONTENT_WIDTH, HEADER_HEIGHT, 225);
    pen.line((MARGIN, top), (right, top), 0.8, 0);
    pen.line((MARGIN, top + HEADER_HEIGHT), (right, top + HEADER_HEIGHT), 0.8, 0);
    let mut x = MARGIN;
    for (title, width, _) in COLUMNS {
        pen.cell(x, width, top + 14.0, HEADING_SIZE, title, Align::Center);
        x += width;
    }
}

fn draw_row(pen: &mut Pen<'_, '_>, top: f32, row: &NoticeRow) {
    let cells = [
        row.patient_name.clone(),
        month_ja(row.service_month),
        row.institution.clone().unwrap_or_default(),
        labels::category(row.category).to_owned(),
        row.days.to_string(),
        yen(row.total_yen),
        yen(row.patient_yen),
        yen(row.reimbursed_yen),
    ];
    let mut x = MARGIN;
    for ((_, width, align), text) in COLUMNS.iter().zip(&cells) {
        pen.cell(x, *width, top + 11.0, BODY_SIZE, text, *align);
        x += width;
    }
    let bottom = top + ROW_HEIGHT;
    pen.line((MARGIN, bottom), (MARGIN + CONTENT_WIDTH, bottom), 0.3, 150);
}

fn draw_trailer(pen: &mut Pen<'_, '_>, top: f32, rows: &[NoticeRow]) {
    let right = MARGIN + CONTENT_WIDTH;
    let sum = |f: fn(&NoticeRow) -> i64| yen(rows.iter().map(f).sum());
    pen.shade(MARGIN, top, CONTENT_WIDTH, ROW_HEIGHT, 240);
    pen.line((MARGIN, top), (right, top), 0.8, 0);
    pen.line((MARGIN, top + ROW_HEIGHT), (right, top + ROW_HEIGHT), 0.8, 0);
    let widths: Vec<f32> = COLUMNS.iter().map(|(_, w, _)| *w).collect();
    let x_of = |col: usize| MARGIN + widths[..col].iter().sum::<f32>();
    let baseline = top + 11.0;
    pen.cell(x_of(0), widths[0], baseline, BODY_SIZE, label::SUM, Align::Left);
    pen.cell(x_of(5), widths[5], baseline, BODY_SIZE, &sum(|r| r.total_yen), Align::Right);
    pen.cell(x_of(6), widths[6], baseline, BODY_SIZE, &sum(|r| r.patient_yen), Align::Right);
    pen.cell(x_of(7), widths[7], baseline, BODY_SIZE, &sum(|r| r.reimbursed_yen), Align::Right);

    let mut y = top + ROW_HEIGHT + 18.0;
    let judo = rows.iter().any(|r| r.category == Category::Judo);
    let judo_note = judo.then_some(label::JUDO_NOTE);
    for line in label::DISCLAIMER.into_iter().chain(judo_note) {
        pen.cell(MARGIN, CONTENT_WIDTH, y, 8.0, line, Align::Left);
        y += NOTE_LINE;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::export::fixtures;
    use crate::export::pdf::inspect;

    #[test]
    fn notice_carries_the_six_items_nta_requires() -> Result<(), ExportError> {
        let Some(font) = fixtures::font() else { return Ok(()) };
        let notice = fixtures::notice();

        let started = Instant::now();
        let bytes = medical_notice_pdf(&notice, font)?;
        eprintln!("12-row 医療費通知: {} bytes in {:?}", bytes.len(), started.elapsed());

        let pages = inspect::text(&bytes);
        assert_eq!(pages.len(), 1);
        let text = &pages[0];
        for item in [
            "被保険者等の氏名",
            "療養を受けた年月",
            "療養を受けた者",
            "療養を受けた病院・診療所・薬局等の名称",
            "被保険者等が支払った医療費の額",
            "保険者等の名称",
        ] {
            assert!(text.contains(item), "missing {item} in {text}");
        }
        for value in [
            "健保太郎様",
            "さくら電機健康保険組合",
            "健保花子",
            "医療法人社団青葉会青葉総合病院",
            "2025年2月",
            "252,600",
            "165,000",
            "2025年1月から2025年10月までに診療を受けた",
            "窓口負担額）は推計です",
            "1/1ページ",
            "柔整（柔道整復）は施術所の名称が記載されない",
        ] {
            assert!(text.contains(value), "missing {value} in {text}");
        }
        Ok(())
    }

    #[test]
    fn font_is_embedded_with_a_unicode_map() -> Result<(), ExportError> {
        let Some(font) = fixtures::font() else { return Ok(()) };

        let bytes = medical_notice_pdf(&fixtures::notice(), font)?;

        assert!(inspect::embedded_font_files(&bytes) >= 1, "no FontFile2/FontFile3");
        assert!(inspect::has_to_unicode(&bytes), "no ToUnicode map");
        assert!(bytes.len() < 200_000, "the font is subset, not whole: {} bytes", bytes.len());
        Ok(())
    }

    #[test]
    fn long_notices_repeat_headings_and_number_pages() -> Result<(), ExportError> {
        let Some(font) = fixtures::font() else { return Ok(()) };
        let mut notice = fixtures::notice();
        let rows = notice.rows.clone();
        notice.rows = rows.iter().cycle().take(100).cloned().collect();

        let pages = inspect::text(&medical_notice_pdf(&notice, font)?);

        assert_eq!(pages.len(), paginate(100).len());
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let total = pages.len();
        for (i, page) in pages.iter().enumerate() {
            assert!(page.contains("療養を受けた病院・診療所・薬局等の名称"), "page {i}");
            assert!(page.contains("被保険者等の氏名"), "page {i}");
            assert!(page.contains(&format!("{}/{}ページ", i + 1, total)), "page {i}");
        }
        assert!(pages[total - 1].contains("合計"));
        Ok(())
    }

    #[test]
    fn pagination_keeps_every_row_once_and_leaves_room_for_the_trailer() {
        for rows in [0, 1, 12, 30, 36, 37, 80, 1000] {
            let pages = paginate(rows);
            let covered: usize = pages.iter().map(|p| p.len()).sum();
            assert_eq!(covered, rows, "{rows} rows");
            assert!(pages.windows(2).all(|w| w[0].end == w[1].start));
            let last_top = if pages.len() == 1 { FIRST_TABLE_TOP } else { NEXT_TABLE_TOP };
            let last_rows = pages.last().map_or(0, |p| p.len());
            let end = last_top + HEADER_HEIGHT + ROW_HEIGHT * last_rows as f32 + TRAILER_HEIGHT;
            assert!(end <= BODY_BOTTOM + ROW_HEIGHT, "{rows} rows: trailer ends at {end}");
        }
    }

    #[test]
    fn same_notice_renders_to_the_same_bytes() -> Result<(), ExportError> {
        let Some(font) = fixtures::font() else { return Ok(()) };
        let notice = fixtures::notice();

        let first = medical_notice_pdf(&notice, font)?;
        let second = medical_notice_pdf(&notice, font)?;

        assert!(first == second, "a re-download is byte-identical");
        Ok(())
    }

    #[test]
    fn empty_year_still_renders_with_a_note() -> Result<(), ExportError> {
        let Some(font) = fixtures::font() else { return Ok(()) };
        let mut notice = fixtures::notice();
        notice.rows.clear();

        let pages = inspect::text(&medical_notice_pdf(&notice, font)?);

        assert!(pages[0].contains("記録はありません"));
        assert!(!pages[0].contains("柔道整復"), "no 柔整 claims, no 柔整 note");
        Ok(())
    }
}
