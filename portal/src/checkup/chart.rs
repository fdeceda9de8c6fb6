//! Year-over-year chart of one item as server-rendered SVG (no JavaScript), for the リッチ版.
//!
//! Threshold bands (normal / 保健指導 / 受診勧奨) come from an [`ItemRule`]; the chart is
//! accessible (`role="img"`, `aria-label` and `<title>` read the values out) and scales to a
//! 375 px screen through its `viewBox`. All text goes through [`SvgWriter`], which escapes it.

use super::cda::Sex;
use super::rules::{BadWhen, ItemRule};
use std::fmt::Write as _;
use time::Date;

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 348.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 184.0;

/// One exam's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    pub exam_date: Date,
    pub value: f64,
}

/// Legend texts of the three bands, in the page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandLabels<'a> {
    pub normal: &'a str,
    pub guidance: &'a str,
    pub referral: &'a str,
}

pub const BAND_LABELS_JA: BandLabels<'static> =
    BandLabels {
        normal: "基準範囲", guidance: "保健指導判定値", referral: "受診勧奨判定値"
    };
pub const BAND_LABELS_EN: BandLabels<'static> =
    BandLabels { normal: "Normal", guidance: "Health guidance", referral: "See a doctor" };

#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// The item's label, e.g. `収縮期血圧`.
    pub title: &'a str,
    pub unit: &'a str,
    pub points: &'a [ChartPoint],
    /// Draws the bands when given; coded items have none.
    pub rule: Option<(&'a ItemRule, Sex)>,
    pub bands: BandLabels<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Band {
    Normal,
    Guidance,
    Referral,
}

impl Band {
    fn class(self) -> &'static str {
        match self {
            Band::Normal => "band band-normal",
            Band::Guidance => "band band-guidance",
            Band::Referral => "band band-referral",
        }
    }

    fn fill(self) -> &'static str {
        match self {
            Band::Normal => "#e3f2e1",
            Band::Guidance => "#fff3c4",
            Band::Referral => "#fbd5d0",
        }
    }
}

/// The chart as a complete `<svg>` element.
pub fn render(chart: &Chart<'_>) -> String {
    let mut points: Vec<ChartPoint> = chart.points.iter().copied().filter(|p| p.value.is_finite()).collect();
    points.sort_by_key(|p| p.exam_date);
    let bands = chart.rule.map(|(rule, sex)| bands_of(rule, sex)).unwrap_or_default();

    let description = describe(chart, &points);
    let mut svg = SvgWriter::default();
    svg.open(
        "svg",
        &[
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("viewBox", &format!("0 0 {WIDTH} {HEIGHT}")),
            ("width", "100%"),
            ("role", "img"),
            ("aria-label", &description),
            ("class", "checkup-chart"),
        ],
    );
    svg.element("title", &[], &description);
    svg.element(
        "text",
        &[("x", &num(LEFT)), ("y", "16"), ("font-size", "13"), ("font-weight", "bold")],
        &format!("{} ({})", chart.title, chart.unit),
    );

    let Some((lo, hi, step)) = y_range(&points, &bands) else {
        svg.element(
            "text",
            &[("x", &num(WIDTH / 2.0)), ("y", &num(HEIGHT / 2.0)), ("text-anchor", "middle")],
            "—",
        );
        svg.close("svg");
        return svg.finish();
    };
    let y = |v: f64| BOTTOM - (v - lo) / (hi - lo) * (BOTTOM - TOP);

    // Bands first, so lines and points sit on top.
    for (band, from, to) in &bands {
        let (from, to) = (from.unwrap_or(lo).clamp(lo, hi), to.unwrap_or(hi).clamp(lo, hi));
        if to > from {
            let attrs = [
                ("class", band.class()),
                ("x", &num(LEFT)),
                ("y", &num(y(to))),
                ("width", &num(RIGHT - LEFT)),
                ("height", &num(y(from) - y(to))),
                ("fill", band.fill()),
            ];
            svg.empty("rect", &attrs);
        }
    }
    let legend = [
        (Band::Normal, chart.bands.normal),
        (Band::Guidance, chart.bands.guidance),
        (Band::Referral, chart.bands.referral),
    ];
    let mut x = RIGHT;
    for (band, label) in legend.iter().rev().filter(|(b, _)| bands.iter().any(|(o, _, _)| o == b)) {
        svg.element(
            "text",
            &[("x", &num(x)), ("y", "27"), ("font-size", "9"), ("text-anchor", "end")],
            label,
        );
        // A rough width for CJK and Latin text at 9 px, to place the legend swatches side by side.
        let text_width = label.chars().map(|c| if c.is_ascii() { 5.0 } else { 9.0 }).sum::<f64>();
        svg.empty(
            "rect",
            &[
                ("x", &num(x - text_width - 10.0)),
                ("y", "20"),
                ("width", "8"),
                ("height", "8"),
                ("fill", band.fill()),
            ],
        );
        x -= text_width + 16.0;
    }

    // Axes and y ticks.
    svg.empty(
        "line",
        &[
            ("x1", &num(LEFT)),
            ("y1", &num(BOTTOM)),
            ("x2", &num(RIGHT)),
            ("y2", &num(BOTTOM)),
            ("stroke", "#555"),
        ],
    );
    svg.empty(
        "line",
        &[
            ("x1", &num(LEFT)),
            ("y1", &num(TOP)),
            ("x2", &num(LEFT)),
            ("y2", &num(BOTTOM)),
            ("stroke", "#555"),
        ],
    );
    let mut tick = lo;
    while tick <= hi + step / 2.0 {
        let ty = num(y(tick) + 3.0);
        svg.element(
            "text",
            &[("x", &num(LEFT - 4.0)), ("y", &ty), ("font-size", "10"), ("text-anchor", "end")],
            &num(tick),
        );
        tick += step;
    }

    // The line, the points and their values, the dates.
    let x_of = |i: usize| {
        if points.len() == 1 {
            (LEFT + RIGHT) / 2.0
        } else {
            LEFT + 24.0 + (RIGHT - LEFT - 48.0) * i as f64 / (points.len() - 1) as f64
        }
    };
    if points.len() > 1 {
        let coordinates: Vec<String> =
            points.iter().enumerate().map(|(i, p)| format!("{},{}", num(x_of(i)), num(y(p.value)))).collect();
        svg.empty(
            "polyline",
            &[
                ("points", &coordinates.join(" ")),
                ("fill", "none"),
                ("stroke", "#1f5fa8"),
                ("stroke-width", "2"),
            ],
        );
    }
    for (i, p) in points.iter().enumerate() {
        let (px, py) = (num(x_of(i)), y(p.value));
        svg.empty("circle", &[("cx", &px), ("cy", &num(py)), ("r", "4"), ("fill", "#1f5fa8")]);
        svg.element(
            "text",
            &[("x", &px), ("y", &num(py - 8.0)), ("font-size", "11"), ("text-anchor", "middle")],
            &num(p.value),
        );
        svg.element(
            "text",
            &[("x", &px), ("y", &num(BOTTOM + 16.0)), ("font-size", "10"), ("text-anchor", "middle")],
            &date_label(p.exam_date),
        );
    }
    svg.close("svg");
    svg.finish()
}

/// "収縮期血圧 (mmHg): 2024-04-16 128, 2025-04-15 135".
fn describe(chart: &Chart<'_>, points: &[ChartPoint]) -> String {
    let values: Vec<String> =
        points.iter().map(|p| format!("{} {}", date_label(p.exam_date), num(p.value))).collect();
    format!(
        "{} ({}): {}",
        chart.title,
        chart.unit,
        if values.is_empty() { "—".to_owned() } else { values.join(", ") }
    )
}

fn date_label(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// The bands as (band, from, to) on the value axis; `None` is the edge of the chart.
fn bands_of(rule: &ItemRule, sex: Sex) -> Vec<(Band, Option<f64>, Option<f64>)> {
    let (Some(bad_when), Some(guidance)) = (rule.bad_when, &rule.guidance) else {
        return Vec::new();
    };
    let g = *guidance.for_sex(sex);
    let r = rule.referral.as_ref().map(|r| *r.for_sex(sex));
    if bad_when.high_is_bad() {
        let mut bands = vec![(Band::Normal, None, Some(g)), (Band::Guidance, Some(g), r)];
        if let Some(r) = r {
            bands.push((Band::Referral, Some(r), None));
        }
        bands
    } else {
        debug_assert!(matches!(bad_when, BadWhen::AtMost | BadWhen::Below));
        let mut bands = vec![(Band::Normal, Some(g), None), (Band::Guidance, r, Some(g))];
        if let Some(r) = r {
            bands.push((Band::Referral, None, Some(r)));
        }
        bands
    }
}

/// A value range with round ticks that holds every point and every threshold.
fn y_range(points: &[ChartPoint], bands: &[(Band, Option<f64>, Option<f64>)]) -> Option<(f64, f64, f64)> {
    let thresholds = bands.iter().flat_map(|(_, a, b)| [*a, *b]).flatten();
    let values: Vec<f64> = points.iter().map(|p| p.value).chain(thresholds).collect();
    if points.is_empty() {
        return None;
    }
    let (min, max) =
        values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let pad = if max > min { (max - min) * 0.15 } else { (max.abs() * 0.1).max(1.0) };
    let raw_step = (max - min + 2.0 * pad) / 4.0;
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step =
        [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw_step).unwrap_or(raw_step);
    let lo = ((min - pad) / step).floor() * step;
    let hi = ((max + pad) / step).ceil() * step;
    Some((lo, hi, step))
}

/// A number as people write it: `135`, `5.4`, `25.9` (at most one decimal for coordinates).
fn num(v: f64) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    let text = format!("{rounded}");
    if text == "-0" { "0".to_owned() } else { text }
}

/// Builds XML with every attribute value and text node escaped. Names are `&'static`-like
/// constants of this module, never user input.
#[derive(Debug, Default)]
struct SvgWriter {
    out: String,
}

impl SvgWriter {
    fn start(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            let _ = write!(self.out, " {key}=\"");
            escape_into(&mut self.out, value);
            self.out.push('"');
        }
    }

    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.start(name, attributes);
        self.out.push('>');
    }

    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.start(name, attributes);
        self.out.push_str("/>");
    }

    fn element(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.open(name, attributes);
        escape_into(&mut self.out, text);
        self.close(name);
    }

    fn close(&mut self, name: &str) {
        let _ = write!(self.out, "</{name}>");
    }

    fn finish(self) -> String {
        self.out
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkup::rules::RuleSet;
    use time::macros::date;

    fn rules() -> RuleSet {
        RuleSet::mhlw_4th().unwrap_or_else(|e| panic!("{e}"))
    }

    fn points() -> [ChartPoint; 2] {
        [
            ChartPoint { exam_date: date!(2025 - 04 - 15), value: 135.0 },
            ChartPoint { exam_date: date!(2024 - 04 - 16), value: 128.0 },
        ]
    }

    fn render_sbp(title: &str) -> String {
        let rules = rules();
        let rule = rules.item("sbp").unwrap_or_else(|| panic!("sbp rule"));
        let points = points();
        render(&Chart {
            title,
            unit: "mmHg",
            points: &points,
            rule: Some((rule, Sex::Male)),
            bands: BAND_LABELS_JA,
        })
    }

    #[test]
    fn a_chart_with_a_rule_draws_the_three_bands_and_their_legend() {
        let svg = render_sbp("収縮期血圧");

        assert!(svg.contains(r#"class="band band-normal""#), "{svg}");
        assert!(svg.contains(r#"class="band band-guidance""#));
        assert!(svg.contains(r#"class="band band-referral""#));
        assert!(svg.contains(">保健指導判定値</text>") && svg.contains(">受診勧奨判定値</text>"));
    }

    #[test]
    fn the_chart_is_accessible_and_reads_out_the_values_in_date_order() {
        let svg = render_sbp("収縮期血圧");

        let described = "収縮期血圧 (mmHg): 2024-04-16 128, 2025-04-15 135";
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(&format!(r#"aria-label="{described}""#)));
        assert!(svg.contains(&format!("<title>{described}</title>")));
        assert!(svg.contains(r#"width="100%""#) && svg.contains(r#"viewBox="0 0 360 220""#));
        assert!(svg.contains(">135</text>") && svg.contains(">128</text>"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn titles_are_escaped_in_text_and_attributes() {
        let svg = render_sbp(r#"<script>alert("x")</script> & 'y'"#);

        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"));
    }

    #[test]
    fn a_low_is_bad_item_without_referral_has_normal_above_and_guidance_below() {
        let rules = rules();
        let hdl = rules.item("hdl").unwrap_or_else(|| panic!("hdl rule"));

        let bands = bands_of(hdl, Sex::Female);

        assert_eq!(bands, [(Band::Normal, Some(40.0), None), (Band::Guidance, None, Some(40.0))]);
        let svg = render(&Chart {
            title: "HDL",
            unit: "mg/dL",
            points: &[ChartPoint { exam_date: date!(2025 - 04 - 15), value: 45.0 }],
            rule: Some((hdl, Sex::Female)),
            bands: BAND_LABELS_EN,
        });
        assert!(!svg.contains("band-referral") && svg.contains("band-guidance"));
    }

    #[test]
    fn sex_specific_thresholds_move_the_bands() {
        let rules = rules();
        let waist = rules.item("waist").unwrap_or_else(|| panic!("waist rule"));

        assert_eq!(bands_of(waist, Sex::Male)[0], (Band::Normal, None, Some(85.0)));
        assert_eq!(bands_of(waist, Sex::Female)[0], (Band::Normal, None, Some(90.0)));
    }

    #[test]
    fn no_points_render_a_placeholder_and_no_bands_without_a_rule() {
        let svg = render(&Chart { title: "t", unit: "u", points: &[], rule: None, bands: BAND_LABELS_EN });

        assert!(svg.contains("<title>t (u): —</title>"));
        assert!(!svg.contains("band"));
        let nan = [ChartPoint { exam_date: date!(2025 - 04 - 15), value: f64::NAN }];
        let svg = render(&Chart { title: "t", unit: "u", points: &nan, rule: None, bands: BAND_LABELS_EN });
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn control_characters_are_replaced_not_emitted() {
        let mut out = String::new();

        escape_into(&mut out, "a\u{1}b\nc");

        assert_eq!(out, "a\u{FFFD}b\nc");
    }
}
