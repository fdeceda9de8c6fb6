//! Importing the kenpo's data: CSV files from the kenpo's systems, one parser per format, one
//! transaction per file (see `run`). What is shared lives here: size guards, decoding (UTF-8 with
//! or without BOM, or Shift_JIS), the header check by column name, typed field readers and the
//! line errors, which carry a reason code with Japanese and English texts.
//!
//! Every parser checks every line and reports every bad one; it never stops at the first.

pub mod benefits;
pub mod claims;
pub mod members;
pub mod prescriptions;
pub mod retention_job;
pub mod run;

mod reason;

pub use reason::ReasonCode;
pub use run::{ImportError, ImportOptions, import_file, new_api_token, token_digest};

use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Which file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Members,
    Claims,
    Benefits,
    Prescriptions,
}

impl ImportKind {
    pub const ALL: [Self; 4] = [Self::Members, Self::Claims, Self::Benefits, Self::Prescriptions];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Members => "members",
            Self::Claims => "claims",
            Self::Benefits => "benefits",
            Self::Prescriptions => "prescriptions",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Size guards: a file or a line larger than these is refused before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    pub max_file_bytes: usize,
    pub max_line_bytes: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self { max_file_bytes: 200 * 1024 * 1024, max_line_bytes: 4 * 1024 }
    }
}

/// What an accepted file did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub file_name: String,
    /// Data lines in the file.
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// A file with the same digest was imported before (its rows are then all unchanged).
    pub seen_before: bool,
    /// Nothing was written: `--dry-run` (the counts are what the import would have done).
    pub dry_run: bool,
    /// Update mails queued to announce the new data (none for a dry run).
    pub update_mails: u64,
}

/// Why a line (or, at line 0, the whole file) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based physical line of the file (the header is line 1); 0 for the whole file.
    pub line: u64,
    pub column: Option<&'static str>,
    pub reason: ReasonCode,
}

impl LineError {
    pub fn file(reason: ReasonCode) -> Self {
        Self { line: 0, column: None, reason }
    }

    /// The error in the member's language, with its place: `3行目 total_yen: …`.
    pub fn message(&self, lang: Lang) -> String {
        let text = match lang {
            Lang::Ja => self.reason.ja(),
            Lang::En => self.reason.en(),
        };
        let column = self.column.map(|c| format!(" {c}")).unwrap_or_default();
        match (lang, self.line) {
            (Lang::Ja, 0) => format!("ファイル{column}: {text}"),
            (Lang::Ja, n) => format!("{n}行目{column}: {text}"),
            (Lang::En, 0) => format!("file{column}: {text}"),
            (Lang::En, n) => format!("line {n}{column}: {text}"),
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// A line error as the API and `--json` give it: the reason's code and both texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorMessage {
    pub line: u64,
    pub column: Option<&'static str>,
    pub reason: &'static str,
    pub message_ja: String,
    pub message_en: String,
}

impl From<&LineError> for ErrorMessage {
    fn from(e: &LineError) -> Self {
        Self {
            line: e.line,
            column: e.column,
            reason: e.reason.code(),
            message_ja: e.message(Lang::Ja),
            message_en: e.message(Lang::En),
        }
    }
}

/// The body of a refusal: `{ "errors": [...] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub errors: Vec<ErrorMessage>,
}

impl Refusal {
    pub fn new(errors: &[LineError]) -> Self {
        Self { errors: errors.iter().map(ErrorMessage::from).collect() }
    }
}

/// The language errors are told in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Ja,
    En,
}

/// Decodes the bytes: UTF-8 (a BOM is dropped), else Shift_JIS (Windows-31J, which is what
/// encoding_rs's SHIFT_JIS decodes, NEC and IBM extensions included).
pub fn decode(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, LineError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(std::borrow::Cow::Borrowed(text));
    }
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(LineError::file(ReasonCode::NotUtf8OrShiftJis));
    }
    Ok(text)
}

/// A format's columns, by name: all of `required` must be in the header, any of `optional` may
/// be, nothing else may.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

impl Columns {
    fn get(&self, name: &str) -> Option<&'static str> {
        self.required.iter().chain(self.optional).copied().find(|c| *c == name)
    }
}

/// One data line, with readers that check a field and record what is wrong with it.
#[derive(Debug)]
pub struct Row<'a> {
    pub line: u64,
    record: &'a csv::StringRecord,
    index: &'a HashMap<&'static str, usize>,
    errors: Vec<LineError>,
}

impl<'a> Row<'a> {
    /// The trimmed field; "" when the (optional) column is absent.
    pub fn text(&self, column: &'static str) -> &'a str {
        self.index.get(column).and_then(|i| self.record.get(*i)).unwrap_or_default().trim()
    }

    pub fn fail(&mut self, column: Option<&'static str>, reason: ReasonCode) {
        self.errors.push(LineError { line: self.line, column, reason });
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// A non-empty field of at most `max` characters.
    pub fn required(&mut self, column: &'static str, max: usize) -> Option<String> {
        match self.text(column) {
            "" => {
                self.fail(Some(column), ReasonCode::Required);
                None
            }
            v => self.bounded(column, v, max),
        }
    }

    pub fn optional(&mut self, column: &'static str, max: usize) -> Option<Option<String>> {
        match self.text(column) {
            "" => Some(None),
            v => self.bounded(column, v, max).map(Some),
        }
    }

    fn bounded(&mut self, column: &'static str, v: &str, max: usize) -> Option<String> {
        if v.chars().count() > max {
            self.fail(Some(column), ReasonCode::TooLong { max });
            None
        } else if v.chars().any(char::is_control) {
            self.fail(Some(column), ReasonCode::ControlCharacter);
            None
        } else {
            Some(v.to_owned())
        }
    }

    /// A non-negative integer (yen, days); commas as thousands separators are accepted.
    pub fn amount(&mut self, column: &'static str) -> Option<i64> {
        match self.optional_amount(column) {
            Some(Some(v)) => Some(v),
            Some(None) => {
                self.fail(Some(column), ReasonCode::Required);
                None
            }
            None => None,
        }
    }

    pub fn optional_amount(&mut self, column: &'static str) -> Option<Option<i64>> {
        let raw = self.text(column);
        if raw.is_empty() {
            return Some(None);
        }
        let digits = raw.replace(',', "");
        match digits.parse::<i64>() {
            Ok(v) if v >= 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Some(Some(v)),
            _ => {
                self.fail(Some(column), ReasonCode::NotAnAmount);
                None
            }
        }
    }

    /// An amount that may be left empty to mean zero.
    pub fn amount_or_zero(&mut self, column: &'static str) -> Option<i64> {
        self.optional_amount(column).map(Option::unwrap_or_default)
    }

    pub fn month(&mut self, column: &'static str) -> Option<crate::domain::Month> {
        match self.optional_month(column) {
            Some(Some(m)) => Some(m),
            Some(None) => {
                self.fail(Some(column), ReasonCode::Required);
                None
            }
            None => None,
        }
    }

    pub fn optional_month(&mut self, column: &'static str) -> Option<Option<crate::domain::Month>> {
        match self.text(column) {
            "" => Some(None),
            raw => match crate::domain::Month::parse(raw) {
                Ok(m) => Some(Some(m)),
                Err(_) => {
                    self.fail(Some(column), ReasonCode::NotAMonth);
                    None
                }
            },
        }
    }

    /// A date as `YYYY-MM-DD`, read from `YYYYMMDD`, `YYYY-MM-DD` or `YYYY/MM/DD`.
    pub fn date(&mut self, column: &'static str) -> Option<String> {
        match self.optional_date(column) {
            Some(Some(d)) => Some(d),
            Some(None) => {
                self.fail(Some(column), ReasonCode::Required);
                None
            }
            None => None,
        }
    }

    pub fn optional_date(&mut self, column: &'static str) -> Option<Option<String>> {
        match self.text(column) {
            "" => Some(None),
            raw => match parse_date(raw) {
                Some(d) => Some(Some(d)),
                None => {
                    self.fail(Some(column), ReasonCode::NotADate);
                    None
                }
            },
        }
    }

    /// A 0/1 flag, also read from the words given (e.g. 後発/先発).
    pub fn flag(&mut self, column: &'static str, yes: &[&str], no: &[&str]) -> Option<bool> {
        match self.text(column) {
            "1" => Some(true),
            "0" | "" => Some(false),
            v if yes.contains(&v) => Some(true),
            v if no.contains(&v) => Some(false),
            _ => {
                self.fail(Some(column), ReasonCode::NotAFlag);
                None
            }
        }
    }
}

/// `YYYYMMDD`, `YYYY-MM-DD` or `YYYY/MM/DD` to `YYYY-MM-DD`, checking the calendar.
pub fn parse_date(raw: &str) -> Option<String> {
    let compact: String = match raw.len() {
        8 => raw.to_owned(),
        10 if matches!(raw.as_bytes()[4], b'-' | b'/') && raw.as_bytes()[7] == raw.as_bytes()[4] => {
            format!("{}{}{}", raw.get(..4)?, raw.get(5..7)?, raw.get(8..)?)
        }
        _ => return None,
    };
    if !compact.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = compact.get(..4)?.parse().ok()?;
    let month: u8 = compact.get(4..6)?.parse().ok()?;
    let day: u8 = compact.get(6..)?.parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    (1900..=9999).contains(&year).then(|| format!("{year:04}-{:02}-{day:02}", u8::from(date.month())))
}

/// The card a line is about: 記号・番号・枝番.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberKey {
    pub symbol: String,
    pub number: String,
    pub branch: String,
}

impl MemberKey {
    /// Reads `symbol`, `number`, `branch`. 枝番 is two digits on the card: `1` reads as `01`.
    pub fn read(row: &mut Row<'_>) -> Option<Self> {
        let symbol = row.required("symbol", 20);
        let number = row.required("number", 20);
        let branch = row
            .required("branch", 4)
            .map(|b| if b.len() == 1 && b.bytes().all(|c| c.is_ascii_digit()) { format!("0{b}") } else { b });
        Some(Self { symbol: symbol?, number: number?, branch: branch? })
    }
}

/// Checks sizes, decodes, checks the header and hands each non-empty data line to `parse_line`,
/// which reads it through [`Row`]. `Ok` only when every line is good.
pub fn parse_table<T>(
    bytes: &[u8],
    limits: ImportLimits,
    columns: Columns,
    mut parse_line: impl FnMut(&mut Row<'_>) -> Option<T>,
) -> Result<Vec<T>, Vec<LineError>> {
    if bytes.len() > limits.max_file_bytes {
        return Err(vec![LineError::file(ReasonCode::FileTooLarge { max: limits.max_file_bytes })]);
    }
    let text = decode(bytes).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let mut bad_lines = HashSet::new();
    for (i, line) in text.split('\n').enumerate() {
        let line_no = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1);
        let reason = if line.len() > limits.max_line_bytes {
            ReasonCode::LineTooLong { max: limits.max_line_bytes }
        } else if line.contains('\0') {
            ReasonCode::EmbeddedNul
        } else {
            continue;
        };
        bad_lines.insert(line_no);
        errors.push(LineError { line: line_no, column: None, reason });
    }
    if bad_lines.contains(&1) {
        return Err(errors);
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let index = header_index(&mut reader, columns).map_err(|e| vec![e])?;
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                if !bad_lines.contains(&line) {
                    errors.push(LineError { line, column: None, reason: ReasonCode::NotCsv });
                }
                continue;
            }
        }
        let line = record.position().map_or(0, csv::Position::line);
        if bad_lines.contains(&line) || record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != index.len() {
            errors.push(LineError {
                line,
                column: None,
                reason: ReasonCode::FieldCount { found: record.len(), expected: index.len() },
            });
            continue;
        }
        let mut row = Row { line, record: &record, index: &index, errors: Vec::new() };
        let parsed = parse_line(&mut row);
        match parsed {
            Some(value) if row.errors.is_empty() => out.push(value),
            _ if row.errors.is_empty() => {
                errors.push(LineError { line, column: None, reason: ReasonCode::Invalid })
            }
            _ => errors.append(&mut row.errors),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

fn header_index<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    columns: Columns,
) -> Result<HashMap<&'static str, usize>, LineError> {
    let at_header = |column, reason| LineError { line: 1, column, reason };
    let headers = reader.headers().map_err(|_| at_header(None, ReasonCode::NotCsv))?;
    let mut index = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        let name = name.trim();
        let Some(column) = columns.get(name) else {
            return Err(at_header(None, ReasonCode::UnknownColumn { name: name.to_owned() }));
        };
        if index.insert(column, i).is_some() {
            return Err(at_header(Some(column), ReasonCode::DuplicateColumn));
        }
    }
    let missing: Vec<&'static str> =
        columns.required.iter().copied().filter(|c| !index.contains_key(c)).collect();
    if !missing.is_empty() {
        return Err(at_header(None, ReasonCode::MissingColumns { missing, required: columns.required }));
    }
    Ok(index)
}

/// Lines that repeat an earlier line's key: the first line wins, each repeat is an error.
pub fn reject_duplicates<T, K: std::hash::Hash + Eq>(
    items: &[T],
    line_of: impl Fn(&T) -> u64,
    key_of: impl Fn(&T) -> K,
    column: &'static str,
) -> Vec<LineError> {
    let mut seen: HashMap<K, u64> = HashMap::with_capacity(items.len());
    let mut errors = Vec::new();
    for item in items {
        if let Some(first) = seen.insert(key_of(item), line_of(item)) {
            errors.push(LineError {
                line: line_of(item),
                column: Some(column),
                reason: ReasonCode::Duplicate { first },
            });
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: Columns = Columns { required: &["a", "b"], optional: &["c"] };

    fn parse(bytes: &[u8]) -> Result<Vec<(String, i64)>, Vec<LineError>> {
        parse_table(bytes, ImportLimits::default(), COLUMNS, |row| {
            let a = row.required("a", 10);
            let b = row.amount("b");
            Some((a?, b?))
        })
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_with_crlf_bom_and_trailing_empty_lines() {
        let rows = parse(b"\xEF\xBB\xBFb,a\r\n12,x\r\n3,y\r\n\r\n\r\n");
        assert_eq!(rows, Ok(vec![("x".to_owned(), 12), ("y".to_owned(), 3)]));
    }

    #[test]
    fn unknown_and_missing_columns_are_refused_at_line_one() {
        let errors = parse(b"a,b,zz\n").err().unwrap_or_default();
        assert_eq!(errors[0].reason, ReasonCode::UnknownColumn { name: "zz".to_owned() });
        let errors = parse(b"a,c\n").err().unwrap_or_default();
        assert!(matches!(&errors[0].reason, ReasonCode::MissingColumns { missing, .. } if missing == &["b"]));
        assert!(errors[0].message(Lang::Ja).contains("b"), "{}", errors[0].message(Lang::Ja));
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let errors = parse(b"a,b\nx,1\n,2\ny,-3\nz\n").err().unwrap_or_default();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert_eq!(errors[0].column, Some("a"));
        assert_eq!(errors[1].reason, ReasonCode::NotAnAmount);
    }

    #[test]
    fn nul_bytes_and_long_lines_are_refused() {
        let long = format!("a,b\nx,1\n{},2\ny\0,3\n", "w".repeat(5000));
        let errors = parse(long.as_bytes()).err().unwrap_or_default();
        assert_eq!(errors.len(), 2);
        assert_eq!((errors[0].line, &errors[0].reason), (3, &ReasonCode::LineTooLong { max: 4096 }));
        assert_eq!((errors[1].line, &errors[1].reason), (4, &ReasonCode::EmbeddedNul));
        let limits = ImportLimits { max_file_bytes: 4, max_line_bytes: 10 };
        let errors = parse_table(b"a,b\nx,1\n", limits, COLUMNS, |_| Some(())).err().unwrap_or_default();
        assert_eq!(errors[0].reason, ReasonCode::FileTooLarge { max: 4 });
    }

    #[test]
    fn shift_jis_is_decoded() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("a,b\n健保,1\n");
        assert_eq!(parse(&bytes), Ok(vec![("健保".to_owned(), 1)]));
    }

    #[test]
    fn dates_are_checked_against_the_calendar() {
        assert_eq!(parse_date("19790822").as_deref(), Some("1979-08-22"));
        assert_eq!(parse_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(parse_date("2023/02/29"), None);
        assert_eq!(parse_date("2023-0228"), None);
        assert_eq!(parse_date("1979082"), None);
    }
}
