//! members.csv: the kenpo's 被保険者 and 被扶養者, one per line.
//!
//! ```text
//! symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject
//! 1001,2345,00,本人,健保 太郎,ケンポ タロウ,19790822,1,2015-04-01,,7f0c1c2e-2a4b-4c1e-9d55-0b6f1e2d3c4a
//! 1001,2345,01,家族,健保 花子,ケンポ ハナコ,1981-03-15,2,2015-04-01,,
//! ```
//!
//! A household is (symbol, number); it is created when missing. Each household in the file has
//! exactly one 本人 line. `idp_subject` (the IdP user's `sub`) is optional and unique per kenpo.

use super::{Columns, ImportLimits, LineError, MemberKey, ReasonCode, Row, parse_table, reject_duplicates};
use crate::domain::{Relation, Sex};
use std::collections::HashMap;

pub const COLUMNS: Columns = Columns {
    required: &["symbol", "number", "branch", "relation", "name", "birth_date", "sex"],
    optional: &["name_kana", "acquired_on", "lost_on", "idp_subject"],
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLine {
    pub line: u64,
    pub key: MemberKey,
    pub relation: Relation,
    pub name: String,
    pub name_kana: String,
    pub birth_date: String,
    pub sex: Sex,
    pub acquired_on: Option<String>,
    pub lost_on: Option<String>,
    pub subject: Option<String>,
}

pub fn parse(bytes: &[u8], limits: ImportLimits) -> Result<Vec<MemberLine>, Vec<LineError>> {
    let members = parse_table(bytes, limits, COLUMNS, parse_line)?;
    let mut errors = reject_duplicates(&members, |m| m.line, |m| m.key.clone(), "branch");
    errors.extend(reject_duplicates(
        &members.iter().filter(|m| m.subject.is_some()).collect::<Vec<_>>(),
        |m| m.line,
        |m| m.subject.clone(),
        "idp_subject",
    ));
    errors.extend(one_insured_per_household(&members));
    if errors.is_empty() {
        Ok(members)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

fn parse_line(row: &mut Row<'_>) -> Option<MemberLine> {
    let key = MemberKey::read(row);
    let relation = match row.text("relation") {
        "本人" | "insured" | "被保険者" => Some(Relation::Insured),
        "家族" | "dependant" | "被扶養者" => Some(Relation::Dependant),
        _ => {
            row.fail(Some("relation"), ReasonCode::UnknownRelation);
            None
        }
    };
    let name = row.required("name", 100);
    let name_kana = row.optional("name_kana", 100);
    let birth_date = row.date("birth_date");
    let sex = match row.text("sex") {
        "1" | "男" | "male" => Some(Sex::Male),
        "2" | "女" | "female" => Some(Sex::Female),
        _ => {
            row.fail(Some("sex"), ReasonCode::UnknownSex);
            None
        }
    };
    let acquired_on = row.optional_date("acquired_on");
    let lost_on = row.optional_date("lost_on");
    let subject = match row.text("idp_subject") {
        "" => Some(None),
        s if is_subject(s) => Some(Some(s.to_owned())),
        _ => {
            row.fail(Some("idp_subject"), ReasonCode::NotASubject);
            None
        }
    };
    Some(MemberLine {
        line: row.line,
        key: key?,
        relation: relation?,
        name: name?,
        name_kana: name_kana?.unwrap_or_default(),
        birth_date: birth_date?,
        sex: sex?,
        acquired_on: acquired_on?,
        lost_on: lost_on?,
        subject: subject?,
    })
}

/// A `sub` as kenpo-idp mints them: a UUID (hyphenated hex, 36 characters), any case.
fn is_subject(s: &str) -> bool {
    s.len() == 36
        && s.char_indices()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

fn one_insured_per_household(members: &[MemberLine]) -> Vec<LineError> {
    let mut insured: HashMap<(&str, &str), u64> = HashMap::new();
    let mut errors = Vec::new();
    for m in members.iter().filter(|m| m.relation == Relation::Insured) {
        if let Some(first) = insured.insert((&m.key.symbol, &m.key.number), m.line) {
            errors.push(LineError {
                line: m.line,
                column: Some("relation"),
                reason: ReasonCode::HouseholdWithSeveralInsured { first },
            });
        }
    }
    let mut reported = std::collections::HashSet::new();
    for m in members {
        let household = (m.key.symbol.as_str(), m.key.number.as_str());
        if !insured.contains_key(&household) && reported.insert(household) {
            errors.push(LineError {
                line: m.line,
                column: Some("relation"),
                reason: ReasonCode::HouseholdWithoutInsured,
            });
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n";

    fn parse_text(body: &str) -> Result<Vec<MemberLine>, Vec<LineError>> {
        parse(format!("{HEADER}{body}").as_bytes(), ImportLimits::default())
    }

    #[test]
    fn a_household_reads_with_japanese_or_english_words() {
        let members = parse_text(
            "1001,2345,0,本人,健保 太郎,ケンポ タロウ,19790822,男,2015-04-01,,7F0C1C2E-2A4B-4C1E-9D55-0B6F1E2D3C4A\n\
             1001,2345,01,dependant,健保 花子,,1981-03-15,2,,,\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].key.branch, "00");
        assert_eq!((members[0].relation, members[0].sex), (Relation::Insured, Sex::Male));
        assert_eq!(members[1].birth_date, "1981-03-15");
        assert_eq!(members[1].subject, None);
    }

    #[test]
    fn a_household_needs_exactly_one_insured_person() {
        let errors = parse_text(
            "1,1,00,本人,A,,19790822,1,,,\n1,1,01,本人,B,,19790822,1,,,\n2,2,01,家族,C,,19790822,2,,,\n",
        )
        .err()
        .unwrap_or_default();
        let reasons: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.reason.code())).collect();
        assert_eq!(reasons, [(3, "household_with_several_insured"), (4, "household_without_insured")]);
    }

    #[test]
    fn bad_fields_are_each_reported() {
        let errors = parse_text("1,1,00,父,A,,19790230,3,,,not-a-uuid\n").err().unwrap_or_default();
        let columns: Vec<Option<&str>> = errors.iter().map(|e| e.column).collect();
        assert_eq!(columns, [Some("relation"), Some("birth_date"), Some("sex"), Some("idp_subject")]);
    }
}
