//! 資格情報のお知らせ issued by a member import, when the kenpo asks for it (setting
//! `qualification_notice_on_import`, off by default). Spec §6: the notice goes to everyone on
//! 加入 and on a change of 記号番号 or 氏名 (or 負担割合, which the member file does not carry).
//! In the import's transaction:
//!
//! - a member the file creates (加入; a new 記号・番号 is a new member here) gets one, reason
//!   `enrolment`;
//! - a member whose name differs from what their latest notice stated gets one, reason
//!   `name_change`.
//!
//! Members who already had a card before the setting (no notice, or a notice recorded before
//! snapshots were kept) are left alone: nothing tells what their last paper notice said. A
//! member the file marks as lost gets none. The same file again issues nothing. The delivery
//! job then announces each notice like any other.

use crate::domain::{NoticeReason, Relation};
use crate::flows::qualification::insurer_name;
use crate::import::MemberKey;
use crate::import::members::MemberLine;
use crate::store::{ImportNotice, ImportTx, Kenpo, KnownMember, NoticeSnapshot, StoreError};
use std::collections::HashMap;
use time::OffsetDateTime;

/// What a notice issued now states of the member on `line`.
fn snapshot_of(kenpo: &Kenpo, line: &MemberLine) -> NoticeSnapshot {
    NoticeSnapshot {
        insurer_name: insurer_name(kenpo),
        insurer_number: kenpo.settings.insurer_number.clone(),
        name: line.name.clone(),
        birth_date: line.birth_date.clone(),
        symbol: line.key.symbol.clone(),
        number: line.key.number.clone(),
        branch: line.key.branch.clone(),
        insured: line.relation == Relation::Insured,
        acquired_on: line.acquired_on.clone(),
    }
}

/// Issues the notices the member file `lines` calls for, after the file was written; `before`
/// is the kenpo's members as they were before it. Returns how many were issued.
pub async fn issue_notices(
    tx: &mut ImportTx,
    kenpo: &Kenpo,
    lines: &[MemberLine],
    before: &HashMap<MemberKey, KnownMember>,
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    if !kenpo.settings.qualification_notice_on_import {
        return Ok(0);
    }
    let id = crate::domain::KenpoId::parse(&kenpo.id).ok_or(StoreError::Corrupt("kenpos.id"))?;
    let after = tx.members(&id).await?;
    let latest = tx.latest_notice_snapshots(&kenpo.id).await?;
    let issued_on = crate::domain::japan_date(now);
    let mut due = Vec::new();
    for line in lines.iter().filter(|l| l.lost_on.is_none()) {
        let Some(member) = after.get(&line.key) else { continue };
        let reason = if !before.contains_key(&line.key) {
            NoticeReason::Enrolment
        } else {
            match latest.get(&member.id) {
                Some(Some(stated)) if stated.name != line.name => NoticeReason::NameChange,
                _ => continue,
            }
        };
        due.push((&member.id, reason, snapshot_of(kenpo, line)));
    }
    let notices: Vec<ImportNotice<'_>> = due
        .iter()
        .map(|(member_id, reason, snapshot)| ImportNotice { member_id, issued_on, reason: *reason, snapshot })
        .collect();
    tx.record_import_notices(&kenpo.id, &notices).await?;
    Ok(notices.len())
}

#[cfg(test)]
mod tests;
