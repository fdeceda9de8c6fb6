//! `YYYY-MM`: the month a claim was for (診療年月) or a benefit was paid (支給年月).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    year: i32,
    month: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a month in the form YYYY-MM: {0:?}")]
pub struct MonthError(pub String);

impl Month {
    pub fn new(year: i32, month: u8) -> Option<Self> {
        ((1900..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    pub fn of(date: time::Date) -> Self {
        Self { year: date.year(), month: u8::from(date.month()) }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    /// The month `n` months earlier (`n` may exceed twelve).
    pub fn minus(self, n: u32) -> Self {
        let index = i64::from(self.year) * 12 + i64::from(self.month) - 1 - i64::from(n);
        let year = i32::try_from(index.div_euclid(12)).unwrap_or(1900).max(1900);
        Self { year, month: u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1) }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self { year: self.year + 1, month: 1 }
        } else {
            Self { month: self.month + 1, ..self }
        }
    }

    /// Also reads `YYYYMM` and `YYYY/MM`, as the kenpo's systems write them.
    pub fn parse(s: &str) -> Result<Self, MonthError> {
        let t = s.trim();
        let (y, m) = match t.len() {
            6 if t.bytes().all(|b| b.is_ascii_digit()) => (&t[..4], &t[4..]),
            7 if matches!(t.as_bytes()[4], b'-' | b'/') => (&t[..4], &t[5..]),
            _ => return Err(MonthError(s.to_owned())),
        };
        let year = y.parse().map_err(|_| MonthError(s.to_owned()))?;
        let month = m.parse().map_err(|_| MonthError(s.to_owned()))?;
        Self::new(year, month).ok_or_else(|| MonthError(s.to_owned()))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = MonthError;
    fn from_str(s: &str) -> Result<Self, MonthError> {
        Self::parse(s)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_kenpo_systems_write() {
        let want = Month::new(2025, 4);
        for s in ["2025-04", "202504", "2025/04", " 2025-04 "] {
            assert_eq!(Month::parse(s).ok(), want, "{s}");
        }
        for s in ["2025-13", "2025-00", "25-04", "2025-4", "abcd-ef", ""] {
            assert!(Month::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn prints_as_yyyy_mm_and_refuses_years_before_1900() {
        let printed = Month::new(2025, 3).map(|m| m.to_string());
        assert_eq!(printed.as_deref(), Some("2025-03"));
        assert_eq!(Month::new(1899, 12), None);
        assert_eq!(Month::new(10_000, 1), None);
        assert!(Month::parse("0999-01").is_err());
    }

    #[test]
    fn counts_back_across_years() {
        let m = Month::new(2026, 2).unwrap_or_else(|| panic!("month"));
        assert_eq!(m.minus(2).to_string(), "2025-12");
        assert_eq!(m.minus(24).to_string(), "2024-02");
        assert_eq!(m.minus(0), m);
        assert_eq!(Month::new(2025, 12).map(|m| m.next().to_string()).as_deref(), Some("2026-01"));
    }
}
