//! 給付金支給決定通知書 (spec §2.2, §7): one decision, its amounts and when and where it is paid.
//! Fields a kind of benefit does not have (手当金 have no 医療費総額, 付加給付 no 日額) are left
//! out rather than printed empty.

use super::{Align, CONTENT_WIDTH, MARGIN, PAGE_WIDTH, PdfFont, Pen};
use crate::domain::Payee;
use crate::export::format::{date_ja, month_ja, yen};
use crate::export::labels::{self, YEN, benefit as label};
use crate::export::{BenefitNotice, BenefitPeriod, ExportError};

const ROW_HEIGHT: f32 = 22.0;
const LABEL_WIDTH: f32 = 150.0;
const TABLE_TOP: f32 = 178.0;

/// Renders one 給付金支給決定通知書 on a single A4 page.
pub fn benefit_notice_pdf(notice: &BenefitNotice, font: &PdfFont) -> Result<Vec<u8>, ExportError> {
    let mut document = super::document(label::TITLE, notice.issued_on);
    let mut page = super::a4_page(&mut document)?;
    let mut surface = page.surface();
    draw(&mut Pen::new(&mut surface, font), notice);
    surface.finish();
    page.finish();
    super::finish(document)
}

fn draw(pen: &mut Pen<'_, '_>, notice: &BenefitNotice) {
    draw_header(pen, notice);
    let fields = fields(notice);
    let mut y = TABLE_TOP;
    let right = MARGIN + CONTENT_WIDTH;
    pen.line((MARGIN, y), (right, y), 0.8, 0);
    for (name, value) in &fields {
        let emphasised = *name == label::AMOUNT;
        pen.shade(MARGIN, y, LABEL_WIDTH, ROW_HEIGHT, if emphasised { 215 } else { 238 });
        pen.cell(MARGIN + 6.0, LABEL_WIDTH, y + 15.0, 10.0, name, Align::Left);
        let size = if emphasised { 13.0 } else { 10.0 };
        pen.cell(
            MARGIN + LABEL_WIDTH + 8.0,
            CONTENT_WIDTH - LABEL_WIDTH - 8.0,
            y + 15.5,
            size,
            value,
            Align::Left,
        );
        y += ROW_HEIGHT;
        pen.line((MARGIN, y), (right, y), 0.3, 150);
    }
    pen.line((MARGIN, y), (right, y), 0.8, 0);

    if notice.payee == Payee::Employer && notice.paid_on.is_some() {
        pen.cell(MARGIN, CONTENT_WIDTH, y + 20.0, 8.5, label::EMPLOYER_DATE_NOTE, Align::Left);
    }
}

fn draw_header(pen: &mut Pen<'_, '_>, notice: &BenefitNotice) {
    let right = PAGE_WIDTH - MARGIN;
    pen.text(PAGE_WIDTH / 2.0, 66.0, 16.0, label::TITLE, Align::Center);
    let notice_no = format!("{}：{}", label::NOTICE_NO, notice.notice_no);
    pen.text(right, 94.0, 9.0, &notice_no, Align::Right);
    let issued = format!("{}：{}", label::ISSUED_ON, date_ja(notice.issued_on));
    pen.text(right, 108.0, 9.0, &issued, Align::Right);
    pen.cell(MARGIN, CONTENT_WIDTH, 126.0, 10.0, &notice.insurer_name, Align::Right);

    let recipient = format!("{} {}", notice.recipient_name, label::HONORIFIC);
    pen.cell(MARGIN, CONTENT_WIDTH * 0.55, 110.0, 13.0, &recipient, Align::Left);
    pen.text(MARGIN, 160.0, 10.0, label::INTRO, Align::Left);
}

fn amount(yen_amount: i64) -> String {
    format!("{}{YEN}", yen(yen_amount))
}

/// The label–value pairs the notice shows, in order, without the absent ones.
fn fields(notice: &BenefitNotice) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        (label::RECIPIENT, notice.recipient_name.clone()),
        (label::PATIENT, notice.patient_name.clone()),
        (label::KIND, notice.kind_label.clone()),
    ];
    match notice.period {
        Some(BenefitPeriod::ServiceMonth(month)) => {
            fields.push((label::SERVICE_MONTH, month_ja(month)));
        }
        Some(BenefitPeriod::Days { from, to }) => fields
            .push((label::PERIOD, format!("{}{}{}", date_ja(from), label::PERIOD_SEPARATOR, date_ja(to)))),
        None => {}
    }
    if let Some(days) = notice.days {
        fields.push((label::DAYS, format!("{days}{}", label::DAYS_SUFFIX)));
    }
    let amounts = [
        (label::TOTAL, notice.total_yen),
        (label::PUBLIC, notice.public_yen),
        (label::PATIENT_PAID, notice.patient_yen),
        (label::INSURER_PAID, notice.insurer_yen),
    ];
    fields.extend(amounts.into_iter().filter_map(|(name, value)| value.map(|v| (name, amount(v)))));
    if let Some(daily) = notice.daily_amount_yen {
        let value = match notice.days {
            Some(days) => format!("{} × {days}{}", amount(daily), label::DAYS_SUFFIX),
            None => amount(daily),
        };
        fields.push((label::DAILY, value));
    }
    fields.push((label::AMOUNT, amount(notice.amount_yen)));
    if let Some(paid) = notice.patient_yen {
        fields.push((label::NET, amount(paid - notice.amount_yen)));
    }
    if let Some(category) = &notice.income_category {
        fields.push((label::INCOME_CATEGORY, category.clone()));
    }
    if notice.many_times {
        fields.push((label::MANY_TIMES, label::MANY_TIMES_YES.to_owned()));
    }
    fields.push((label::DECIDED_ON, date_ja(notice.decided_on)));
    if let Some(paid_on) = notice.paid_on {
        fields.push((label::PAID_ON, date_ja(paid_on)));
    }
    fields.push((label::PAYEE, labels::payee(notice.payee).to_owned()));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixtures;
    use crate::export::pdf::inspect;

    #[test]
    fn high_cost_notice_shows_amounts_dates_and_payee() -> Result<(), ExportError> {
        let Some(font) = fixtures::font() else { return Ok(()) };

        let bytes = benefit_notice_pdf(&fixtures::high_cost_benefit(), font)?;

        let pages = inspect::text(&bytes);
        assert_eq!(pages.len(), 1);
        let text = &pages[0];
        for expected in [
            "給付金支給決定通知書",
            "通知番号：K-2025-000123",
            "健保太郎様",
            "対象者健保花子",
            "給付の種類高額療養費",
            "診療年月2025年2月",
            "医療費総額842,000円",
            "公費負担額0円",
            "窓口支払額252,600円",
            "健保組合負担額589,400円",
            "支給金額165,000円",
            "実質負担額87,600円",
            "所得区分ウ",
            "支給決定日2025年5月28日",
            "支払日2025年6月20日",
            "支払先事業主経由",
            "健康保険組合から事業主へ支払う日",
            "さくら電機健康保険組合",
        ] {
            assert!(text.contains(expected), "missing {expected} in {text}");
        }
        assert!(!text.contains("多数回該当"));
        assert!(inspect::embedded_font_files(&bytes) >= 1);
        Ok(())
    }

    #[test]
    fn sickness_allowance_omits_medical_amounts_and_shows_daily_rate() -> Result<(), ExportError> {
        let Some(font) = fixtures::font() else { return Ok(()) };

        let pages = inspect::text(&benefit_notice_pdf(&fixtures::sickness_benefit(), font)?);

        let text = &pages[0];
        assert!(text.contains("支給期間2025年7月1日～2025年7月20日"), "{text}");
        assert!(text.contains("日額6,667円×17日"), "{text}");
        assert!(text.contains("支給金額113,339円"), "{text}");
        assert!(text.contains("支払先ご本人口座"), "{text}");
        for absent in ["医療費総額", "公費負担額", "窓口支払額", "実質負担額", "支払日", "所得区分"]
        {
            assert!(!text.contains(absent), "{absent} should be omitted: {text}");
        }
        Ok(())
    }

    #[test]
    fn many_times_is_shown_only_when_it_applies() {
        let mut notice = fixtures::high_cost_benefit();
        notice.many_times = true;
        let names: Vec<&str> = fields(&notice).iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&label::MANY_TIMES));
        notice.many_times = false;
        let names: Vec<&str> = fields(&notice).iter().map(|(n, _)| *n).collect();
        assert!(!names.contains(&label::MANY_TIMES));
    }
}
