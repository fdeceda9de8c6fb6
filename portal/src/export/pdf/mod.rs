//! PDF notices on A4, drawn with krilla. The font is embedded as a subset with a ToUnicode map,
//! so the text can be searched, copied and extracted.
//!
//! krilla's coordinates start at the top-left corner of the page, y grows downwards, in points.

mod benefit;
mod font;
mod medical;
mod qualification;

use krilla::Document;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::{Page, PageSettings};
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use time::Date;

pub use self::benefit::benefit_notice_pdf;
pub use self::font::{FONT_CANDIDATES, PdfFont};
pub use self::medical::medical_notice_pdf;
pub use self::qualification::qualification_notice_pdf;

use super::ExportError;

pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
pub(crate) const MARGIN: f32 = 40.0;
pub(crate) const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// Text never shrinks below this to fit a cell; a longer value overflows instead of vanishing.
const MIN_FONT_SIZE: f32 = 4.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// A new document with its metadata set: title, Japanese as the language, the issue date as the
/// creation date (so the same notice renders to the same bytes).
pub(crate) fn document(title: &str, issued_on: Date) -> Document {
    let mut document = Document::new();
    let created = DateTime::new(u16::try_from(issued_on.year()).unwrap_or(2000))
        .month(u8::from(issued_on.month()))
        .day(issued_on.day());
    document.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .language("ja".to_owned())
            .creator("kenpo-portal".to_owned())
            .creation_date(created),
    );
    document
}

pub(crate) fn a4_page(document: &mut Document) -> Result<Page<'_>, ExportError> {
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| ExportError::Pdf("invalid page size".to_owned()))?;
    Ok(document.start_page_with(settings))
}

pub(crate) fn finish(document: Document) -> Result<Vec<u8>, ExportError> {
    document.finish().map_err(|e| ExportError::Pdf(format!("{e:?}")))
}

/// Drawing with one font on one page surface.
pub(crate) struct Pen<'s, 'p> {
    surface: &'s mut Surface<'p>,
    font: &'s PdfFont,
}

impl<'s, 'p> Pen<'s, 'p> {
    pub(crate) fn new(surface: &'s mut Surface<'p>, font: &'s PdfFont) -> Self {
        Self { surface, font }
    }

    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        self.font.width(text, size)
    }

    /// `text` with its baseline at `y`, aligned on `x` (left edge, centre or right edge).
    pub(crate) fn text(&mut self, x: f32, y: f32, size: f32, text: &str, align: Align) {
        if text.is_empty() {
            return;
        }
        let start = match align {
            Align::Left => x,
            Align::Center => x - self.width(text, size) / 2.0,
            Align::Right => x - self.width(text, size),
        };
        let glyphs = self.font.glyphs(text);
        self.surface.draw_glyphs(Point::from_xy(start, y), &glyphs, self.font.krilla(), text, size, false);
    }

    /// `text` inside the cell `[x, x + width]`, shrunk until it fits, with 2 pt padding.
    pub(crate) fn cell(&mut self, x: f32, width: f32, y: f32, size: f32, text: &str, align: Align) {
        let room = (width - 4.0).max(1.0);
        let natural = self.width(text, size);
        let size = if natural > room { (size * room / natural).max(MIN_FONT_SIZE) } else { size };
        let anchor = match align {
            Align::Left => x + 2.0,
            Align::Center => x + width / 2.0,
            Align::Right => x + width - 2.0,
        };
        self.text(anchor, y, size, text, align);
    }

    /// A straight line `width` points thick, in `gray` (0 black – 255 white).
    pub(crate) fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, gray: u8) {
        let mut path = PathBuilder::new();
        path.move_to(from.0, from.1);
        path.line_to(to.0, to.1);
        let Some(path) = path.finish() else { return };
        self.surface.set_fill(None);
        self.surface.set_stroke(Some(Stroke {
            paint: luma::Color::new(gray).into(),
            width,
            ..Stroke::default()
        }));
        self.surface.draw_path(&path);
        self.surface.set_stroke(None);
    }

    /// A filled rectangle in `gray`, behind whatever is drawn next.
    pub(crate) fn shade(&mut self, x: f32, y: f32, width: f32, height: f32, gray: u8) {
        let Some(rect) = Rect::from_xywh(x, y, width, height) else {
            return;
        };
        let mut path = PathBuilder::new();
        path.push_rect(rect);
        let Some(path) = path.finish() else { return };
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(Fill {
            paint: luma::Color::new(gray).into(),
            opacity: NormalizedF32::ONE,
            ..Fill::default()
        }));
        self.surface.draw_path(&path);
        // No fill and no stroke: krilla draws text in black.
        self.surface.set_fill(None);
    }
}

/// Replaces `{name}` placeholders in a label.
pub(crate) fn fill_in(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

#[cfg(test)]
pub(crate) mod inspect {
    //! Reading our PDFs back: the text a reader would extract, and whether the font is embedded.

    use lopdf::{Document, Object};

    pub(crate) fn load(bytes: &[u8]) -> Document {
        Document::load_mem(bytes).unwrap_or_else(|e| panic!("the export is not a readable PDF: {e}"))
    }

    /// The text of every page, whitespace removed, so a label split across text runs still
    /// matches.
    pub(crate) fn text(bytes: &[u8]) -> Vec<String> {
        let doc = load(bytes);
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        pages
            .iter()
            .map(|&page| {
                doc.extract_text(&[page])
                    .unwrap_or_else(|e| panic!("extracting page {page}: {e}"))
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect()
            })
            .collect()
    }

    /// Font descriptors that carry the font program (FontFile2: TrueType, FontFile3: CFF).
    pub(crate) fn embedded_font_files(bytes: &[u8]) -> usize {
        load(bytes)
            .objects
            .values()
            .filter_map(|object| match object {
                Object::Dictionary(dict) => Some(dict),
                _ => None,
            })
            .filter(|dict| dict.has(b"FontFile2") || dict.has(b"FontFile3"))
            .count()
    }

    pub(crate) fn has_to_unicode(bytes: &[u8]) -> bool {
        load(bytes)
            .objects
            .values()
            .any(|object| matches!(object, Object::Dictionary(dict) if dict.has(b"ToUnicode")))
    }
}
