//! The kenpo's audit of health-data reads: a period of days in Japan time, and the reads in it
//! as CSV for the kenpo's auditors (or JSON for their tools).

use crate::domain::JST;
use crate::store::{AuditStore, ReadRecord, StoreError};
use time::{Date, Duration, OffsetDateTime};

/// One listing stops here; a longer period is asked for in parts.
pub const MAX_ROWS: i64 = 1_000_000;

/// Midnight JST of `from` up to midnight JST after `to` (inclusive days), in milliseconds.
pub fn period(from: Date, to: Date) -> (i64, i64) {
    let millis = |d: Date| {
        let at = d.midnight().assume_offset(JST);
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    };
    (millis(from), millis(to.saturating_add(Duration::days(1))))
}

pub async fn reads(
    db: &impl AuditStore,
    kenpo_id: &str,
    from: Date,
    to: Date,
) -> Result<Vec<ReadRecord>, StoreError> {
    let (start, end) = period(from, to);
    db.health_data_reads(kenpo_id, start, end, MAX_ROWS).await
}

/// `2026-11-24T10:15:00+09:00`.
fn jst(millis: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map(|t| t.to_offset(JST))
        .ok();
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+09:00");
    at.and_then(|t| t.format(&format).ok()).unwrap_or_else(|| millis.to_string())
}

/// How the auditors' sheet names who read: a member at the portal, or one of the kenpo's
/// systems through the API (whose client_id stands where a member's card would).
fn reader_kind(kind: &str) -> &str {
    match kind {
        "member" => "加入者",
        "api_client" => "健保API",
        other => other,
    }
}

/// The reads as CSV with a header in Japanese, as auditors read it in a spreadsheet (UTF-8 with
/// a BOM). A deleted member shows as their id, an API client as its client_id.
pub fn to_csv(records: &[ReadRecord]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record([
        "日時",
        "閲覧者の種別",
        "閲覧者の記号番号",
        "閲覧者",
        "本人の記号番号",
        "本人",
        "画面・文書",
        "条件",
    ])?;
    for r in records {
        let who = |card: &Option<String>, id: &str| card.clone().unwrap_or_else(|| id.to_owned());
        out.write_record([
            jst(r.at),
            reader_kind(&r.reader_kind).to_owned(),
            who(&r.reader_card, &r.reader_id),
            r.reader_name.clone().unwrap_or_default(),
            who(&r.subject_card, &r.subject_id),
            r.subject_name.clone().unwrap_or_default(),
            r.what.clone(),
            r.detail.clone(),
        ])?;
    }
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_period_is_whole_days_in_japan_and_times_print_in_japan_time() {
        let (from, to) = period(date!(2026 - 11 - 24), date!(2026 - 11 - 24));
        // 2026-11-24T00:00+09:00 is 2026-11-23T15:00Z.
        assert_eq!(from, 1_795_446_000_000);
        assert_eq!(to - from, 86_400_000);
        assert_eq!(jst(from), "2026-11-24T00:00:00+09:00");
        let record = ReadRecord {
            at: from + 1_000,
            reader_kind: "member".into(),
            reader_id: "r".into(),
            reader_card: Some("10-1001-00".into()),
            reader_name: Some("健保 太郎".into()),
            subject_id: "gone".into(),
            subject_card: None,
            subject_name: None,
            what: "medical_expenses".into(),
            detail: "year=2026".into(),
        };
        let by_api = ReadRecord {
            reader_kind: "api_client".into(),
            reader_id: "kihan-system".into(),
            reader_card: None,
            reader_name: None,
            what: "survey_sheet".into(),
            detail: "sheet-1".into(),
            ..record.clone()
        };
        let csv = to_csv(&[record, by_api]).map(String::from_utf8);
        let csv = csv.ok().and_then(Result::ok).unwrap_or_default();
        assert!(csv.starts_with("\u{feff}日時,"), "{csv}");
        assert!(
            csv.contains(
                "2026-11-24T00:00:01+09:00,加入者,10-1001-00,健保 太郎,gone,,medical_expenses,year=2026"
            ),
            "{csv}"
        );
        assert!(csv.contains("+09:00,健保API,kihan-system,,gone,,survey_sheet,sheet-1"), "{csv}");
    }
}
