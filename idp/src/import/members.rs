//! The kenpo's member list: a CSV of members with their kenpo-issued (temporary) user IDs.
//!
//! ```text
//! username,temporary_password,display_name,birthdate,email,relationship
//! k0000001,Tmp-8f3k2Lq9,健保 太郎,19790822,taro@example.jp,本人
//! ```
//!
//! UTF-8 (with or without a byte-order mark) or Shift_JIS, as Japanese spreadsheets save it.
//! Parsing checks every line and reports every bad one by its line number and reason; it never
//! stops at the first.

use crate::domain::{BirthDate, Email, Relationship, Username};
use secrecy::SecretString;
use std::collections::HashMap;
use std::fmt;

pub const COLUMNS: [&str; 6] =
    ["username", "temporary_password", "display_name", "birthdate", "email", "relationship"];

/// Temporary passwords are issued by the kenpo and replaced at first login; still, a short one
/// is a hole until then.
pub const TEMPORARY_PASSWORD_MIN: usize = 8;
pub const TEMPORARY_PASSWORD_MAX: usize = 64;
pub const DISPLAY_NAME_MAX: usize = 100;

/// One member, as the file gives them.
#[derive(Debug, Clone)]
pub struct MemberLine {
    pub line: u64,
    pub username: Username,
    pub temporary_password: SecretString,
    pub display_name: String,
    pub birthdate: BirthDate,
    pub email: Option<Email>,
    pub relationship: Relationship,
}

/// Why a line (or the whole file, at line 0) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "file: {}", self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

/// Decodes the bytes: UTF-8 (a BOM is dropped), else Shift_JIS (Windows-31J, which is what
/// encoding_rs's SHIFT_JIS decodes, NEC and IBM extensions included).
pub fn decode(bytes: &[u8]) -> Result<String, LineError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(LineError { line: 0, reason: "the file is neither UTF-8 nor Shift_JIS".to_owned() });
    }
    Ok(text.into_owned())
}

/// Parses the whole file. `Ok` only when every line is good.
pub fn parse(bytes: &[u8]) -> Result<Vec<MemberLine>, Vec<LineError>> {
    let text = decode(bytes).map_err(|e| vec![e])?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let index = header_index(&mut reader).map_err(|reason| vec![LineError { line: 1, reason }])?;

    let mut members = Vec::new();
    let mut errors = Vec::new();
    let mut seen_usernames: HashMap<String, u64> = HashMap::new();
    let mut seen_emails: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                errors.push(LineError { line, reason: format!("not valid CSV: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != COLUMNS.len() {
            errors.push(LineError {
                line,
                reason: format!("has {} fields, expected {}", record.len(), COLUMNS.len()),
            });
            continue;
        }
        let field = |name: &str| record.get(index[name]).unwrap_or_default().trim();
        match parse_line(line, field) {
            Ok(member) => {
                let mut duplicate = |seen: &mut HashMap<String, u64>, key: String, what: &str| {
                    if let Some(first) = seen.get(&key) {
                        errors.push(LineError { line, reason: format!("{what} repeats line {first}") });
                        true
                    } else {
                        seen.insert(key, line);
                        false
                    }
                };
                let dup_user = duplicate(&mut seen_usernames, member.username.to_string(), "username");
                let dup_email =
                    member.email.as_ref().is_some_and(|e| duplicate(&mut seen_emails, e.key(), "email"));
                if !dup_user && !dup_email {
                    members.push(member);
                }
            }
            Err(reasons) => {
                errors.extend(reasons.into_iter().map(|reason| LineError { line, reason }));
            }
        }
    }
    if errors.is_empty() { Ok(members) } else { Err(errors) }
}

fn header_index<R: std::io::Read>(reader: &mut csv::Reader<R>) -> Result<HashMap<String, usize>, String> {
    let headers = reader.headers().map_err(|e| format!("cannot read the header: {e}"))?;
    let mut index = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        let name = name.trim().to_owned();
        if !COLUMNS.contains(&name.as_str()) {
            return Err(format!("unknown column {name:?}; the header must be {}", COLUMNS.join(",")));
        }
        if index.insert(name.clone(), i).is_some() {
            return Err(format!("column {name:?} appears twice"));
        }
    }
    if let Some(missing) = COLUMNS.iter().find(|c| !index.contains_key(**c)) {
        return Err(format!("missing column {missing:?}; the header must be {}", COLUMNS.join(",")));
    }
    Ok(index)
}

/// Checks every field of one line and returns every problem found.
fn parse_line<'a>(line: u64, field: impl Fn(&str) -> &'a str) -> Result<MemberLine, Vec<String>> {
    let mut reasons = Vec::new();
    let username =
        Username::parse_issued(field("username")).map_err(|e| reasons.push(format!("username: {e}"))).ok();
    let password = field("temporary_password");
    let length = password.chars().count();
    if !(TEMPORARY_PASSWORD_MIN..=TEMPORARY_PASSWORD_MAX).contains(&length)
        || password.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        reasons.push(format!(
            "temporary_password: must be {TEMPORARY_PASSWORD_MIN} to {TEMPORARY_PASSWORD_MAX} characters without spaces"
        ));
    }
    let display_name = field("display_name");
    if display_name.is_empty() || display_name.chars().count() > DISPLAY_NAME_MAX {
        reasons.push(format!("display_name: must be 1 to {DISPLAY_NAME_MAX} characters"));
    }
    let birthdate = BirthDate::parse_compact(field("birthdate"))
        .map_err(|e| reasons.push(format!("birthdate: {e}")))
        .ok();
    let email = match field("email") {
        "" => Some(None),
        raw => Email::parse(raw).map(Some).map_err(|e| reasons.push(format!("email: {e}"))).ok(),
    };
    let relationship = Relationship::from_label(field("relationship"));
    if relationship.is_none() {
        reasons.push("relationship: must be 本人 or 家族".to_owned());
    }
    match (username, birthdate, email, relationship) {
        (Some(username), Some(birthdate), Some(email), Some(relationship)) if reasons.is_empty() => {
            Ok(MemberLine {
                line,
                username,
                temporary_password: SecretString::from(password.to_owned()),
                display_name: display_name.to_owned(),
                birthdate,
                email,
                relationship,
            })
        }
        _ => Err(reasons),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "username,temporary_password,display_name,birthdate,email,relationship\n";

    fn reasons(result: Result<Vec<MemberLine>, Vec<LineError>>) -> Vec<String> {
        result.err().unwrap_or_default().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_good_file_parses_with_upper_case_ids_lowered() {
        let csv = format!("{HEADER}K0001,Tmp-pass-1,健保 太郎,19790822,Taro@example.jp,本人\n");
        let members = parse(csv.as_bytes()).unwrap_or_default();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].username.as_str(), "k0001");
        assert_eq!(members[0].relationship, Relationship::Insured);
        assert_eq!(members[0].line, 2);
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number_and_reason() {
        let csv = format!(
            "{HEADER}k1,Tmp-pass-1,健保 太郎,19790822,taro@example.jp,本人\n\
             k2,short,健保 花子,19800230,hanako?@example.jp,配偶者\n\
             k1,Tmp-pass-3,健保 次郎,20100101,,家族\n"
        );
        let got = reasons(parse(csv.as_bytes()));
        assert_eq!(
            got,
            vec![
                "line 3: temporary_password: must be 8 to 64 characters without spaces",
                "line 3: birthdate: the birth date must be 8 digits, YYYYMMDD, and a real date",
                "line 3: email: the email address is not valid",
                "line 3: relationship: must be 本人 or 家族",
                "line 4: username repeats line 2",
            ]
        );
    }

    #[test]
    fn wrong_headers_and_field_counts_are_reported() {
        let got = reasons(parse(b"user,password\nk1,x\n"));
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("line 1: unknown column \"user\""), "{got:?}");

        let csv = format!("{HEADER}k1,Tmp-pass-1,健保 太郎\n");
        assert_eq!(reasons(parse(csv.as_bytes())), vec!["line 2: has 3 fields, expected 6"]);
    }

    #[test]
    fn shift_jis_and_utf8_with_bom_read_the_same() {
        let csv = format!("{HEADER}k1,Tmp-pass-1,健保 太郎,19790822,taro@example.jp,本人\n");
        let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&csv);
        assert!(!unmappable);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(csv.as_bytes());
        for bytes in [sjis.as_ref(), bom.as_slice()] {
            let members = parse(bytes).unwrap_or_default();
            assert_eq!(members.len(), 1);
            assert_eq!(members[0].display_name, "健保 太郎");
            assert_eq!(members[0].relationship, Relationship::Insured);
        }
    }

    #[test]
    fn bytes_in_no_known_encoding_are_refused() {
        assert_eq!(
            reasons(parse(b"\xFF\xFE\x00u\x00s")),
            vec!["file: the file is neither UTF-8 nor Shift_JIS"]
        );
    }
}
