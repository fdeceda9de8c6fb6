//! PostgreSQL's bulk path for an [`Upsert`]: `COPY … FROM STDIN` (text format) into a temporary
//! staging table shaped like the target's columns, then one `INSERT … SELECT … ON CONFLICT` from
//! it, in the import's own transaction. The staging table is dropped at commit and never exists
//! after a rollback, so a refused file still writes nothing.
//!
//! Per row this sends one line of text instead of binding every value as a parameter, and
//! PostgreSQL plans one statement instead of one per thousand rows.

use super::Upserted;
use super::upsert::{Upsert, Val};
use crate::store::StoreError;
use sqlx::{PgConnection, Row as _};

/// Bytes of COPY data buffered before each send.
const SEND_BYTES: usize = 1 << 20;

/// Writes `rows` through a staging table; one staging table per table and transaction.
pub(super) async fn upsert(
    conn: &mut PgConnection,
    spec: &Upsert,
    rows: &[Vec<Val<'_>>],
) -> Result<Upserted, StoreError> {
    if rows.is_empty() {
        return Ok(Upserted::default());
    }
    let (table, columns) = (spec.table, spec.columns.join(", "));
    let staging = format!("import_{table}");
    sqlx::query(&format!(
        "CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
    ))
    .execute(&mut *conn)
    .await?;

    let mut copy = conn.copy_in_raw(&format!("COPY {staging} ({columns}) FROM STDIN")).await?;
    let mut buf = Vec::with_capacity(SEND_BYTES + 4096);
    for row in rows {
        encode_row(&mut buf, row);
        if buf.len() >= SEND_BYTES {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        copy.send(buf.as_slice()).await?;
    }
    copy.finish().await?;

    // Every id in the staging table was minted for this import: a returned id found there is
    // an insert, any other returned id an update (see `upsert`'s module).
    let counts = sqlx::query(&format!(
        "WITH written AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging}{conflict}) \
         SELECT count(s.id), count(*) - count(s.id) FROM written w LEFT JOIN {staging} s ON s.id = w.id",
        conflict = spec.on_conflict(),
    ))
    .fetch_one(&mut *conn)
    .await?;
    let count = |i: usize| -> Result<u64, StoreError> {
        u64::try_from(counts.try_get::<i64, _>(i)?).map_err(|_| StoreError::Corrupt("a negative row count"))
    };
    Ok(Upserted { inserted: count(0)?, updated: count(1)? })
}

/// One row in COPY's text format: values separated by tabs, the line ended by a newline, NULL
/// as `\N`.
fn encode_row(buf: &mut Vec<u8>, row: &[Val<'_>]) {
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            buf.push(b'\t');
        }
        match value {
            Val::Text(s) | Val::OptText(Some(s)) => escape(buf, s),
            Val::Owned(s) => escape(buf, s),
            Val::Int(n) | Val::OptInt(Some(n)) => buf.extend_from_slice(n.to_string().as_bytes()),
            Val::OptText(None) | Val::OptInt(None) => buf.extend_from_slice(b"\\N"),
        }
    }
    buf.push(b'\n');
}

/// A text value for COPY's text format: backslash, tab (the delimiter), newline and carriage
/// return are escaped; every other byte, UTF-8 included, passes as it is. A value reading `\N`
/// or `\.` comes out as `\\N` or `\\.`, so it is neither NULL nor the end of the data.
fn escape(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(escaped);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(row: &[Val<'_>]) -> String {
        let mut buf = Vec::new();
        encode_row(&mut buf, row);
        String::from_utf8(buf).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn separators_escapes_and_nulls_cannot_be_confused() {
        let row = [
            Val::Text("a\tb"),
            Val::OptText(Some("line1\nline2\r\n")),
            Val::Text("C:\\path\\N"),
            Val::Text("\\N"),
            Val::Text("\\."),
            Val::OptText(None),
            Val::OptInt(None),
            Val::Int(-42),
            Val::OptInt(Some(0)),
            Val::Owned("さくら薬局 \"本店\", 'x'; DROP TABLE claims; --".to_owned()),
            Val::Text(""),
        ];
        assert_eq!(
            encoded(&row),
            "a\\tb\tline1\\nline2\\r\\n\tC:\\\\path\\\\N\t\\\\N\t\\\\.\t\\N\t\\N\t-42\t0\t\
             さくら薬局 \"本店\", 'x'; DROP TABLE claims; --\t\n"
        );
    }

    #[test]
    fn a_value_without_special_bytes_passes_unchanged() {
        let mut buf = Vec::new();
        escape(&mut buf, "訪問看護ステーションあおば 🏥 \u{7}\u{1b}");
        assert_eq!(buf, "訪問看護ステーションあおば 🏥 \u{7}\u{1b}".as_bytes());
    }
}
