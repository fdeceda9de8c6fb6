//! 資格情報のお知らせ (spec §6, §9.3): A4 with the fields of §6 as a table, the notes on how it
//! is used (never alone at a clinic), and the same fields again inside a card-size box with a
//! dashed border (85.6 × 54 mm, the size of a bank card) to cut out and carry.

use krilla::color::luma;
use krilla::geom::{PathBuilder, Rect};
use krilla::paint::{Stroke, StrokeDash};

use super::{Align, CONTENT_WIDTH, MARGIN, PAGE_WIDTH, PdfFont, Pen, fill_in};
use crate::export::format::date_ja;
use crate::export::labels::qualification as label;
use crate::export::{ExportError, QualificationNotice};

/// ISO/IEC 7810 ID-1 in points: 85.6 × 54 mm.
pub(crate) const CARD_WIDTH: f32 = 85.6 * 72.0 / 25.4;
pub(crate) const CARD_HEIGHT: f32 = 54.0 * 72.0 / 25.4;
const ROW_HEIGHT: f32 = 22.0;
const LABEL_WIDTH: f32 = 150.0;
const TABLE_TOP: f32 = 160.0;
const CARD_TOP: f32 = 600.0;
const _: () = assert!(CARD_TOP + CARD_HEIGHT < super::PAGE_HEIGHT - MARGIN, "the card fits on the page");

/// Renders one member's 資格情報のお知らせ on a single A4 page.
pub fn qualification_notice_pdf(
    notice: &QualificationNotice,
    font: &PdfFont,
) -> Result<Vec<u8>, ExportError> {
    let mut document = super::document(label::TITLE, notice.issued_on);
    let mut page = super::a4_page(&mut document)?;
    let mut surface = page.surface();
    let mut pen = Pen::new(&mut surface, font);
    draw_sheet(&mut pen, notice);
    draw_card(&mut pen, notice);
    surface.finish();
    page.finish();
    super::finish(document)
}

fn card_number(notice: &QualificationNotice) -> String {
    format!(
        "{} {}　{} {}　{} {}",
        label::SYMBOL,
        notice.symbol,
        label::NUMBER,
        notice.number,
        label::BRANCH,
        notice.branch
    )
}

fn copay(notice: &QualificationNotice) -> Option<String> {
    let copay = notice.copay?;
    let mut text = fill_in(label::COPAY_VALUE, &[("tenths", &copay.tenths().to_string())]);
    let dates: Vec<String> = [(label::COPAY_FROM, copay.from), (label::COPAY_UNTIL, copay.until)]
        .into_iter()
        .filter_map(|(name, date)| date.map(|d| format!("{name} {}", date_ja(d))))
        .collect();
    if !dates.is_empty() {
        text.push_str(&format!("（{}）", dates.join("／")));
    }
    Some(text)
}

/// The label–value pairs of §6, in order, without the absent ones.
fn fields(notice: &QualificationNotice) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        (label::NAME, notice.name.clone()),
        (label::BIRTH_DATE, date_ja(notice.birth_date)),
        (label::CARD, card_number(notice)),
        (label::RELATION, (if notice.insured { label::INSURED } else { label::DEPENDANT }).to_owned()),
    ];
    if let Some(acquired) = notice.acquired_on {
        fields.push((label::ACQUIRED_ON, date_ja(acquired)));
    }
    if !notice.insurer_number.is_empty() {
        fields.push((label::INSURER_NUMBER, notice.insurer_number.clone()));
    }
    fields.push((label::INSURER_NAME, notice.insurer_name.clone()));
    if let Some(copay) = copay(notice) {
        fields.push((label::COPAY, copay));
    }
    fields.push((label::ISSUED_ON, date_ja(notice.issued_on)));
    fields
}

fn draw_sheet(pen: &mut Pen<'_, '_>, notice: &QualificationNotice) {
    let right = PAGE_WIDTH - MARGIN;
    pen.text(PAGE_WIDTH / 2.0, 66.0, 16.0, label::TITLE, Align::Center);
    let issued = format!("{}：{}", label::ISSUED_ON, date_ja(notice.issued_on));
    pen.text(right, 94.0, 9.0, &issued, Align::Right);
    pen.cell(MARGIN, CONTENT_WIDTH, 108.0, 10.0, &notice.insurer_name, Align::Right);
    let addressee = format!("{} {}", notice.name, label::HONORIFIC);
    pen.cell(MARGIN, CONTENT_WIDTH * 0.55, 100.0, 13.0, &addressee, Align::Left);
    pen.text(MARGIN, 142.0, 10.0, label::INTRO, Align::Left);

    let mut y = TABLE_TOP;
    pen.line((MARGIN, y), (right, y), 0.8, 0);
    for (name, value) in fields(notice) {
        pen.shade(MARGIN, y, LABEL_WIDTH, ROW_HEIGHT, 238);
        pen.cell(MARGIN + 6.0, LABEL_WIDTH, y + 15.0, 10.0, name, Align::Left);
        pen.cell(
            MARGIN + LABEL_WIDTH + 8.0,
            CONTENT_WIDTH - LABEL_WIDTH - 8.0,
            y + 15.5,
            11.0,
            &value,
            Align::Left,
        );
        y += ROW_HEIGHT;
        pen.line((MARGIN, y), (right, y), 0.3, 150);
    }
    pen.line((MARGIN, y), (right, y), 0.8, 0);
    y += 24.0;
    for note in label::NOTES {
        pen.cell(MARGIN, CONTENT_WIDTH, y, 8.5, note, Align::Left);
        y += 14.0;
    }
}

/// The card: title, then the fields in small type, inside a dashed cut line.
fn draw_card(pen: &mut Pen<'_, '_>, notice: &QualificationNotice) {
    let (x, y) = (MARGIN, CARD_TOP);
    pen.text(x, y - 6.0, 7.0, label::CUT_HERE, Align::Left);
    dashed_rect(pen, x, y, CARD_WIDTH, CARD_HEIGHT);
    pen.text(x + CARD_WIDTH / 2.0, y + 16.0, 9.5, label::TITLE, Align::Center);
    let fields = fields(notice);
    let row = ((CARD_HEIGHT - 36.0) / fields.len() as f32).min(13.0);
    let label_width = 62.0;
    let mut line = y + 30.0;
    for (name, value) in &fields {
        pen.cell(x + 6.0, label_width, line, 6.5, name, Align::Left);
        pen.cell(x + 6.0 + label_width, CARD_WIDTH - label_width - 12.0, line, 7.0, value, Align::Left);
        line += row;
    }
    pen.cell(x, CARD_WIDTH - 4.0, y + CARD_HEIGHT - 5.0, 5.5, label::CARD_NOTE, Align::Right);
}

fn dashed_rect(pen: &mut Pen<'_, '_>, x: f32, y: f32, width: f32, height: f32) {
    let Some(rect) = Rect::from_xywh(x, y, width, height) else { return };
    let mut path = PathBuilder::new();
    path.push_rect(rect);
    let Some(path) = path.finish() else { return };
    pen.surface.set_fill(None);
    pen.surface.set_stroke(Some(Stroke {
        paint: luma::Color::new(0).into(),
        width: 0.7,
        dash: Some(StrokeDash { array: vec![4.0, 3.0], offset: 0.0 }),
        ..Stroke::default()
    }));
    pen.surface.draw_path(&path);
    pen.surface.set_stroke(None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Copay;
    use crate::export::fixtures;
    use crate::export::pdf::inspect;
    use time::macros::date;

    fn notice() -> QualificationNotice {
        QualificationNotice {
            insurer_name: "さくら電機健康保険組合".to_owned(),
            insurer_number: "06123456".to_owned(),
            name: "健保 太郎".to_owned(),
            birth_date: date!(1955 - 04 - 02),
            symbol: "1001".to_owned(),
            number: "2345".to_owned(),
            branch: "00".to_owned(),
            insured: true,
            acquired_on: Some(date!(2015 - 04 - 01)),
            issued_on: date!(2026 - 01 - 05),
            copay: Copay::new(20, Some(date!(2025 - 08 - 01)), Some(date!(2026 - 07 - 31))),
        }
    }

    #[test]
    fn the_notice_carries_the_fields_of_section_6_on_the_sheet_and_the_card() -> Result<(), ExportError> {
        let Some(font) = fixtures::font() else { return Ok(()) };

        let bytes = qualification_notice_pdf(&notice(), font)?;

        let pages = inspect::text(&bytes);
        assert_eq!(pages.len(), 1);
        let text = &pages[0];
        for expected in [
            "資格情報のお知らせ",
            "健保太郎様",
            "氏名健保太郎",
            "生年月日1955年4月2日",
            "記号・番号・枝番記号1001番号2345枝番00",
            "被保険者（本人）",
            "資格取得年月日2015年4月1日",
            "保険者番号06123456",
            "保険者名称さくら電機健康保険組合",
            "一部負担金の割合2割（発効日2025年8月1日／有効期限2026年7月31日）",
            "交付年月日2026年1月5日",
            "だけでは医療機関・薬局を受診できません",
            "キリトリ線",
            "このお知らせのみでは受診できません",
        ] {
            assert!(text.contains(expected), "missing {expected} in {text}");
        }
        assert_eq!(text.matches("保険者番号06123456").count(), 2, "on the sheet and on the card");
        assert!(inspect::embedded_font_files(&bytes) >= 1);
        Ok(())
    }

    #[test]
    fn absent_fields_are_left_off() {
        let mut n = notice();
        n.copay = None;
        n.acquired_on = None;
        n.insurer_number = String::new();
        n.insured = false;
        let names: Vec<&str> = fields(&n).iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                label::NAME,
                label::BIRTH_DATE,
                label::CARD,
                label::RELATION,
                label::INSURER_NAME,
                label::ISSUED_ON
            ]
        );
        assert!(fields(&n).iter().any(|(_, v)| v == label::DEPENDANT));
    }

    #[test]
    fn the_card_box_is_bank_card_sized() {
        assert!((CARD_WIDTH - 242.65).abs() < 0.01 && (CARD_HEIGHT - 153.07).abs() < 0.01);
    }
}
