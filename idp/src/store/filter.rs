//! SQL with optional filters, for the admin API's searches (events, admin events, users).

use sqlx::Any;
use sqlx::any::AnyRow;
use sqlx::query::QueryAs;

/// A value bound to a filter.
pub(super) enum Bind {
    Text(String),
    Int(i64),
}

/// SQL with optional filters. Clauses are written with `?`; each becomes the numbered `$n`
/// both backends read, counted across the whole statement.
pub(super) struct Filtered {
    pub(super) text: String,
    binds: Vec<Bind>,
}

impl Filtered {
    pub(super) fn new(base: &str, binds: Vec<Bind>) -> Self {
        let mut this = Self { text: String::new(), binds: Vec::new() };
        this.push(base, binds);
        this
    }

    pub(super) fn push(&mut self, clause: &str, binds: Vec<Bind>) {
        for (i, part) in clause.split('?').enumerate() {
            if i > 0 {
                self.text.push_str(&format!("${}", self.binds.len() + i));
            }
            self.text.push_str(part);
        }
        self.binds.extend(binds);
    }

    /// `LIMIT max OFFSET first`, with `max` kept within 1..=1000.
    pub(super) fn page(&mut self, first: u32, max: u32) {
        self.push(
            " LIMIT ? OFFSET ?",
            vec![Bind::Int(i64::from(max.clamp(1, 1000))), Bind::Int(i64::from(first))],
        );
    }

    /// The statement with its values bound, reading rows as `R`.
    pub(super) fn query_as<R>(&self) -> QueryAs<'_, Any, R, sqlx::any::AnyArguments<'_>>
    where
        R: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        let mut q = sqlx::query_as::<_, R>(&self.text);
        for bind in &self.binds {
            q = match bind {
                Bind::Text(v) => q.bind(v.clone()),
                Bind::Int(v) => q.bind(*v),
            };
        }
        q
    }
}

/// A `LIKE` pattern matching `needle` anywhere, with `%`, `_` and `\` in it taken literally
/// (the statement says `ESCAPE '\'`).
pub(super) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::from("%");
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
