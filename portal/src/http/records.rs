//! What every health-data page shares: the people the member may see, narrowed by the page's
//! `person` filter, and the audit record of the read.

use super::member::Signed;
use crate::app::AppState;
use crate::domain::MemberId;
use crate::error::AppError;
use crate::flows::access;
use crate::store::{HealthDataRead, Member, Reader, RecordStore};
use crate::tenant::Service;
use serde::Serialize;

/// A person in a page's filter and rows.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub id: String,
    pub name: String,
}

/// The people of `service` the signed-in member may see (all of them, for the filter) and those
/// the request selected (`person`); an id outside the first list is not found.
pub struct Scope<'a> {
    pub visible: Vec<&'a Member>,
    pub selected: Vec<&'a Member>,
}

pub fn scope<'a>(
    signed: &'a Signed,
    state: &AppState,
    service: Service,
    person: Option<&str>,
) -> Result<Scope<'a>, AppError> {
    let today = state.clock.today_in_japan().to_string();
    let visible = access::visible_people(
        &signed.who.member,
        &signed.who.household,
        &signed.kenpo.settings,
        service,
        &today,
    )
    .map_err(AppError::from)?;
    let selected = access::narrow(&visible, person).ok_or(AppError::NotFound)?;
    Ok(Scope { visible, selected })
}

impl Scope<'_> {
    pub fn ids(&self) -> Vec<MemberId> {
        self.selected.iter().map(|m| m.id.clone()).collect()
    }

    pub fn people(&self) -> Vec<Person> {
        self.visible.iter().map(|m| Person { id: m.id.to_string(), name: m.name.clone() }).collect()
    }

    pub fn name_of(&self, id: &MemberId) -> String {
        self.visible.iter().find(|m| &m.id == id).map(|m| m.name.clone()).unwrap_or_default()
    }
}

/// Records the read (要配慮個人情報) before the data is shown: no record, no data. `subjects` are
/// the people whose rows are about to be shown, once each however many rows they have.
pub async fn record<'a>(
    state: &AppState,
    signed: &Signed,
    subjects: impl IntoIterator<Item = &'a MemberId>,
    what: &str,
    detail: &str,
) -> Result<(), AppError> {
    let mut subjects: Vec<MemberId> = subjects.into_iter().cloned().collect();
    subjects.sort();
    subjects.dedup();
    if subjects.is_empty() {
        return Ok(());
    }
    let read = HealthDataRead {
        kenpo_id: &signed.kenpo.id,
        reader: Reader::Member(&signed.who.member.id),
        subjects: &subjects,
        what,
        detail,
        at_millis: state.clock.now().unix_timestamp() * 1000,
    };
    Ok(state.db.record_reads(read).await?)
}

/// `12,345` for yen amounts.
pub fn yen(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    #[test]
    fn yen_has_thousands_separators() {
        assert_eq!(super::yen(0), "0");
        assert_eq!(super::yen(1234567), "1,234,567");
        assert_eq!(super::yen(-1000), "-1,000");
    }
}
