//! The import flow, shared by the CLI, the API and the bench: parse → resolve members → write,
//! all in one transaction, so a refused file writes nothing.

use super::{ImportKind, ImportLimits, ImportReport, LineError, MemberKey, ReasonCode};
use super::{benefits, claims, members, prescriptions};
use crate::domain::{KenpoId, MemberId};
use crate::flows::qualification::on_import;
use crate::flows::update_mails;
use crate::store::{Db, ImportTx, KenpoStore, KnownMember, StoreError, Upserted};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Recorded in `imports` and echoed in the report.
    pub file_name: String,
    /// Do everything, then roll back: the report says what the import would do.
    pub dry_run: bool,
    pub limits: ImportLimits,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file was refused; nothing was written. Every error found, by line.
    #[error("the file was refused with {} error(s)", .0.len())]
    Refused(Vec<LineError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Vec<LineError>> for ImportError {
    fn from(errors: Vec<LineError>) -> Self {
        Self::Refused(errors)
    }
}

/// Imports one file of `kind` for the kenpo, all or nothing.
pub async fn import_file(
    db: &Db,
    kenpo: &KenpoId,
    kind: ImportKind,
    bytes: &[u8],
    options: &ImportOptions,
    now: OffsetDateTime,
) -> Result<ImportReport, ImportError> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let limits = options.limits;
    // Parse before the transaction opens: a bad file never holds a connection.
    let parsed = match kind {
        ImportKind::Members => Parsed::Members(members::parse(bytes, limits)?),
        ImportKind::Claims => Parsed::Claims(claims::parse(bytes, limits)?),
        ImportKind::Benefits => Parsed::Benefits(benefits::parse(bytes, limits)?),
        ImportKind::Prescriptions => Parsed::Prescriptions(prescriptions::parse(bytes, limits)?),
    };
    // What the file publishes, and to whom the kenpo's settings let it be announced.
    let publication = match update_mails::publication_of(kind) {
        Some(what) if !options.dry_run => db.kenpo(kenpo.as_str()).await?.map(|k| (what, k)),
        _ => None,
    };
    // A member file may issue 資格情報のお知らせ (`flows::qualification::on_import`).
    let issuer = match kind {
        ImportKind::Members => db.kenpo(kenpo.as_str()).await?,
        _ => None,
    };
    let mut tx = db.begin_import(kenpo, now).await?;
    let known = tx.members(kenpo).await?;
    let (rows, written) = match &parsed {
        Parsed::Members(lines) => {
            let written = write_members(&mut tx, kenpo, lines, &known).await?;
            if let Some(k) = &issuer {
                on_import::issue_notices(&mut tx, k, lines, &known, now).await?;
            }
            (lines.len(), written)
        }
        Parsed::Claims(lines) => {
            let rows = resolve(lines, &known, |c| (&c.member, c.line))?;
            (lines.len(), tx.upsert_claims(kenpo, &rows).await?)
        }
        Parsed::Benefits(lines) => {
            let rows = resolve(lines, &known, |b| (&b.member, b.line))?;
            (lines.len(), tx.upsert_benefits(kenpo, &rows).await?)
        }
        Parsed::Prescriptions(lines) => {
            let rows = resolve(lines, &known, |p| (&p.member, p.line))?;
            (lines.len(), tx.upsert_prescriptions(kenpo, &rows).await?)
        }
    };
    let rows = u64::try_from(rows).unwrap_or(u64::MAX);
    let recorded = tx.record_import(kenpo, kind.as_str(), &options.file_name, &sha256, rows).await?;
    // Queued with the data: both are published, or neither.
    let published = match &publication {
        Some(((category, table), k)) => {
            Some((*category, update_mails::publish(&mut tx, k, *category, *table, &recorded.id, now).await?))
        }
        None => None,
    };
    if options.dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(ImportReport {
        kind,
        file_name: options.file_name.clone(),
        rows,
        inserted: written.inserted,
        updated: written.updated,
        unchanged: rows.saturating_sub(written.inserted + written.updated),
        sha256,
        seen_before: recorded.seen_before,
        dry_run: options.dry_run,
        update_mails: published.map_or(0, |(_, p)| u64::try_from(p.mails).unwrap_or(u64::MAX)),
    })
}

#[derive(Debug)]
enum Parsed {
    Members(Vec<members::MemberLine>),
    Claims(Vec<claims::ClaimLine>),
    Benefits(Vec<benefits::BenefitLine>),
    Prescriptions(Vec<prescriptions::PrescriptionLine>),
}

/// Pairs each line with its member's id; every line whose card is unknown is an error.
fn resolve<'a, T>(
    lines: &'a [T],
    known: &'a HashMap<MemberKey, KnownMember>,
    card: impl Fn(&T) -> (&MemberKey, u64),
) -> Result<Vec<(&'a MemberId, &'a T)>, ImportError> {
    let mut rows = Vec::with_capacity(lines.len());
    let mut errors = Vec::new();
    for line in lines {
        let (key, line_no) = card(line);
        match known.get(key) {
            Some(member) => rows.push((&member.id, line)),
            None => errors.push(LineError { line: line_no, column: None, reason: ReasonCode::UnknownMember }),
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(ImportError::Refused(errors)) }
}

async fn write_members(
    tx: &mut ImportTx,
    kenpo: &KenpoId,
    lines: &[members::MemberLine],
    known: &HashMap<MemberKey, KnownMember>,
) -> Result<Upserted, ImportError> {
    // A `sub` signs in as one member: refuse a line that would give another member's `sub`.
    let owner: HashMap<&str, &MemberKey> =
        known.iter().filter_map(|(key, m)| m.subject.as_deref().map(|s| (s, key))).collect();
    let errors: Vec<LineError> = lines
        .iter()
        .filter(|m| m.subject.as_deref().and_then(|s| owner.get(s)).is_some_and(|k| **k != m.key))
        .map(|m| LineError { line: m.line, column: Some("idp_subject"), reason: ReasonCode::SubjectTaken })
        .collect();
    if !errors.is_empty() {
        return Err(ImportError::Refused(errors));
    }
    let cards: HashSet<(&str, &str)> =
        lines.iter().map(|m| (m.key.symbol.as_str(), m.key.number.as_str())).collect();
    let households = tx.households(kenpo, &cards).await?;
    let mut rows = Vec::with_capacity(lines.len());
    for m in lines {
        // Every card was just created if missing; a miss here is a concurrent delete.
        let Some(household) = households.get(&(m.key.symbol.clone(), m.key.number.clone())) else {
            return Err(ImportError::Store(StoreError::Database(sqlx::Error::RowNotFound)));
        };
        rows.push((household, m));
    }
    Ok(tx.upsert_members(kenpo, &rows).await?)
}

/// The digest an API token is stored and looked up by (hex SHA-256).
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Mints an API token for the kenpo's systems: 32 random bytes, hex. Only its digest is kept;
/// the token is shown once.
pub async fn new_api_token(db: &Db, kenpo: &KenpoId, now: OffsetDateTime) -> Result<String, StoreError> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("kpi_{}", hex::encode(bytes));
    db.add_import_token(kenpo, &token_digest(&token), now).await?;
    Ok(token)
}
