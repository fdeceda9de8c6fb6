//! How numbers, months and dates read on a Japanese notice.

use time::Date;

use crate::domain::Month;

/// `1234567` → `1,234,567` (negative amounts keep their sign).
pub(crate) fn yen(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if amount < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `2025-01` → `2025年1月`.
pub(crate) fn month_ja(month: Month) -> String {
    format!("{}年{}月", month.year(), month.month())
}

/// `2026-01-15` → `2026年1月15日`.
pub(crate) fn date_ja(date: Date) -> String {
    format!("{}年{}月{}日", date.year(), u8::from(date.month()), date.day())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn yen_groups_thousands_and_keeps_the_sign() {
        assert_eq!(yen(0), "0");
        assert_eq!(yen(999), "999");
        assert_eq!(yen(1000), "1,000");
        assert_eq!(yen(1_234_567), "1,234,567");
        assert_eq!(yen(-20_000), "-20,000");
    }

    #[test]
    fn months_and_dates_read_in_japanese() -> Result<(), crate::domain::MonthError> {
        assert_eq!(month_ja(Month::parse("2025-01")?), "2025年1月");
        assert_eq!(date_ja(date!(2026 - 01 - 15)), "2026年1月15日");
        Ok(())
    }
}
