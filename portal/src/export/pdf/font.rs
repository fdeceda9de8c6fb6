//! The Japanese font the PDFs embed. Read once (a CJK collection is ~20 MB) and shared: cloning a
//! [`PdfFont`] clones `Arc`s.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::text::{Font, KrillaGlyph};
use skrifa::charmap::MapVariant;
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::FileRef;
use skrifa::string::StringId;
use skrifa::{FontRef, GlyphId, MetadataProvider};

use crate::export::ExportError;

/// Where [`PdfFont::discover`] looks, in order: Debian's fonts-noto-cjk, fonts-ipaexfont-gothic,
/// and the fonts-japanese-gothic alternative.
pub const FONT_CANDIDATES: [&str; 3] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
];

/// In a collection, the face with this family name; Noto's CJK collections hold one face per
/// region, and only the JP one has Japanese glyph shapes.
const PREFERRED_FAMILY: &str = "Noto Sans CJK JP";

/// A loaded font: its bytes, the face index inside a collection, and krilla's handle.
#[derive(Clone)]
pub struct PdfFont {
    path: Arc<PathBuf>,
    data: Arc<Vec<u8>>,
    index: u32,
    font: Font,
}

impl fmt::Debug for PdfFont {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PdfFont")
            .field("path", &self.path)
            .field("index", &self.index)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl PdfFont {
    /// Loads the font at `path` (TrueType, OpenType/CFF or a collection). In a collection, the
    /// "Noto Sans CJK JP" face is used when there is one, else the first face.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ExportError> {
        let path = path.as_ref().to_path_buf();
        let data =
            std::fs::read(&path).map_err(|source| ExportError::FontRead { path: path.clone(), source })?;
        Self::from_bytes(path, data)
    }

    /// The first of [`FONT_CANDIDATES`] that exists and loads.
    pub fn discover() -> Result<Self, ExportError> {
        let tried: Vec<PathBuf> = FONT_CANDIDATES.iter().map(PathBuf::from).collect();
        for path in &tried {
            if path.is_file()
                && let Ok(font) = Self::load(path)
            {
                return Ok(font);
            }
        }
        Err(ExportError::NoFont { tried })
    }

    fn from_bytes(path: PathBuf, data: Vec<u8>) -> Result<Self, ExportError> {
        let unusable = |reason: String| ExportError::FontUnusable { path: path.clone(), reason };
        let index = pick_face(&data).map_err(unusable)?;
        let data = Arc::new(data);
        let font = Font::new(data.clone().into(), index)
            .ok_or_else(|| unusable(format!("face {index} cannot be read")))?;
        // A Latin-only font would print every kanji as a blank box.
        let has_kanji =
            FontRef::from_index(&data, index).is_ok_and(|face| face.charmap().map('医').is_some());
        if !has_kanji {
            return Err(unusable("no Japanese glyphs".to_owned()));
        }
        let font = Self { path: Arc::new(path), data, index, font };
        Ok(font)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Index of the face used inside a collection (0 for a single font).
    pub fn face_index(&self) -> u32 {
        self.index
    }

    pub(crate) fn krilla(&self) -> Font {
        self.font.clone()
    }

    fn face(&self) -> FontRef<'_> {
        // Checked in `from_bytes`; a face that read once reads again.
        match FontRef::from_index(&self.data, self.index) {
            Ok(face) => face,
            Err(e) => unreachable!("font face {} read before: {e}", self.index),
        }
    }

    /// Lays `text` out as one glyph per character, with the font's advance widths.
    ///
    /// No shaping: our notices are Japanese and Latin, which need none, and shaping a CJK
    /// collection per cell (krilla's `draw_text` builds a rustybuzz face each call) made a
    /// 1,000-row notice take over a second. Each glyph keeps its character range, which krilla
    /// turns into the ToUnicode map. A variation selector (異体字 in names, e.g. 葛 + U+E0100)
    /// picks the variant glyph when the font has it and joins the base character's glyph.
    pub(crate) fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        let face = self.face();
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::unscaled(), LocationRef::default());
        let upem = self.font.units_per_em();
        let advance = |gid: GlyphId| metrics.advance_width(gid).unwrap_or(upem) / upem;
        let mut glyphs: Vec<KrillaGlyph> = Vec::with_capacity(text.len());
        let mut base = None;
        for (start, c) in text.char_indices() {
            let range = start..start + c.len_utf8();
            if is_variation_selector(c)
                && let (Some(last), Some(base)) = (glyphs.last_mut(), base)
            {
                if let Some(MapVariant::Variant(gid)) = charmap.map_variant(base, c) {
                    last.glyph_id = krilla::text::GlyphId::new(gid.to_u32());
                    last.x_advance = advance(gid);
                }
                last.text_range.end = range.end;
                continue;
            }
            base = Some(c);
            let gid = charmap.map(c).unwrap_or(GlyphId::NOTDEF);
            glyphs.push(KrillaGlyph {
                glyph_id: krilla::text::GlyphId::new(gid.to_u32()),
                text_range: range,
                x_advance: advance(gid),
                x_offset: 0.0,
                y_offset: 0.0,
                y_advance: 0.0,
                location: None,
            });
        }
        glyphs
    }

    /// Width of `text` at `size` points, as [`Self::glyphs`] lays it out.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        self.glyphs(text).iter().map(|g| g.x_advance).sum::<f32>() * size
    }
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

fn pick_face(data: &[u8]) -> Result<u32, String> {
    match FileRef::new(data).map_err(|e| e.to_string())? {
        FileRef::Font(_) => Ok(0),
        FileRef::Collection(collection) => {
            let preferred = (0..collection.len()).find(|&i| {
                collection.get(i).is_ok_and(|face| {
                    face.localized_strings(StringId::FAMILY_NAME)
                        .any(|name| name.to_string() == PREFERRED_FAMILY)
                })
            });
            match preferred {
                Some(index) => Ok(index),
                None if !collection.is_empty() => Ok(0),
                None => Err("empty font collection".to_owned()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixtures;

    #[test]
    fn noto_collection_picks_the_japanese_face() {
        let Some(font) = fixtures::font() else { return };
        if font.path().ends_with("NotoSansCJK-Regular.ttc") {
            let face = font.face();
            let family =
                face.localized_strings(StringId::FAMILY_NAME).english_or_first().map(|n| n.to_string());
            assert_eq!(family.as_deref(), Some(PREFERRED_FAMILY));
        }
    }

    #[test]
    fn missing_font_file_is_a_read_error() {
        let err = PdfFont::load("/nonexistent/font.ttf").err();
        assert!(matches!(err, Some(ExportError::FontRead { .. })), "{err:?}");
    }

    #[test]
    fn a_file_that_is_not_a_font_is_refused() -> Result<(), std::io::Error> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("not-a-font.ttf");
        std::fs::write(&path, b"hello")?;

        let err = PdfFont::load(&path).err();

        assert!(matches!(err, Some(ExportError::FontUnusable { .. })), "{err:?}");
        Ok(())
    }

    #[test]
    fn each_character_keeps_its_text_range_and_selectors_join_their_base() {
        let Some(font) = fixtures::font() else { return };

        let glyphs = font.glyphs("A葛\u{E0100}医");

        let ranges: Vec<_> = glyphs.iter().map(|g| g.text_range.clone()).collect();
        assert_eq!(ranges, [0..1, 1..8, 8..11]);
        assert!(glyphs.iter().all(|g| g.glyph_id.to_u32() != 0), "all mapped");
    }

    #[test]
    fn full_width_text_is_one_em_per_character() {
        let Some(font) = fixtures::font() else { return };
        let width = font.width("医療費", 10.0);
        assert!((width - 30.0).abs() < 0.5, "{width}");
    }
}
