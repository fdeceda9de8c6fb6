//! `kenpo-portal import`: one of the kenpo's files, all or nothing, and its report or errors.

use crate::{Failure, Kind, open, print_json};
use kenpo_portal::config::Config;
use kenpo_portal::flows::checkups;
use kenpo_portal::import::{ImportError, ImportLimits, ImportOptions, Lang, LineError, ReasonCode, Refusal};
use time::OffsetDateTime;

#[expect(clippy::too_many_arguments, reason = "the command's options, passed through once")]
pub(crate) async fn import(
    config: &Config,
    issuer: &str,
    kind: Kind,
    file: &std::path::Path,
    dry_run: bool,
    lang: Lang,
    json: bool,
    limits: ImportLimits,
) -> Result<(), Failure> {
    let file_name = file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let size = std::fs::metadata(file).map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?.len();
    if usize::try_from(size).map_or(true, |s| s > limits.max_file_bytes) {
        let max = limits.max_file_bytes;
        return Err(match kind {
            Kind::Csv(_) => refused(&[LineError::file(ReasonCode::FileTooLarge { max })], lang, json),
            Kind::Checkups => {
                refused_documents(&[checkups::DocumentError::file_too_large(&file_name, max)], lang, json)
            }
        });
    }
    let bytes = std::fs::read(file).map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    let (db, kenpo) = open(config, issuer).await?;
    let options = ImportOptions { file_name, dry_run, limits };
    let now = OffsetDateTime::now_utc();
    let summary = match kind {
        Kind::Csv(kind) => {
            let outcome = kenpo_portal::import::import_file(&db, &kenpo, kind, &bytes, &options, now).await;
            db.close().await;
            match outcome {
                Ok(report) if json => return print_json(&report),
                Ok(r) => Summary {
                    kind: r.kind.as_str(),
                    file_name: r.file_name,
                    count: r.rows,
                    unit: ("行", "rows"),
                    counts: (r.inserted, r.updated, r.unchanged),
                    seen_before: r.seen_before,
                    dry_run: r.dry_run,
                    sha256: r.sha256,
                    mails: r.update_mails,
                },
                Err(ImportError::Refused(errors)) => return Err(refused(&errors, lang, json)),
                Err(ImportError::Store(e)) => return Err(e.into()),
            }
        }
        Kind::Checkups => {
            let outcome = checkups::import(&db, &kenpo, &bytes, &options, now).await;
            db.close().await;
            match outcome {
                Ok(report) if json => return print_json(&report),
                Ok(r) => Summary {
                    kind: r.kind,
                    file_name: r.file_name,
                    count: r.documents,
                    unit: ("件", "documents"),
                    counts: (r.inserted, r.updated, r.unchanged),
                    seen_before: r.seen_before,
                    dry_run: r.dry_run,
                    sha256: r.sha256,
                    mails: r.update_mails,
                },
                Err(checkups::ImportError::Refused(errors)) => {
                    return Err(refused_documents(&errors, lang, json));
                }
                Err(checkups::ImportError::Store(e)) => return Err(e.into()),
            }
        }
    };
    println!("{}", summary.line(lang));
    Ok(())
}

/// An accepted file's report as one line for a person.
#[derive(Debug)]
struct Summary {
    kind: &'static str,
    file_name: String,
    count: u64,
    /// The counted unit, in Japanese and English.
    unit: (&'static str, &'static str),
    /// Inserted, updated, unchanged.
    counts: (u64, u64, u64),
    seen_before: bool,
    dry_run: bool,
    sha256: String,
    /// Update mails queued (sent by `serve` in the background).
    mails: u64,
}

impl Summary {
    fn line(&self, lang: Lang) -> String {
        let Self { kind, file_name, count, unit, counts: (inserted, updated, unchanged), .. } = self;
        let (seen, dry, mails) = (self.seen_before, self.dry_run, self.mails);
        match lang {
            Lang::Ja => format!(
                "{kind} {file_name}: {count}{}（追加 {inserted}、更新 {updated}、変更なし {unchanged}）{}{}{} sha256={}",
                unit.0,
                if seen { "・同じファイルを取り込み済み" } else { "" },
                if dry { "・試行のみ（書き込みなし）" } else { "" },
                if mails > 0 {
                    format!("・更新のお知らせメール {mails}件")
                } else {
                    String::new()
                },
                self.sha256
            ),
            Lang::En => format!(
                "{kind} {file_name}: {count} {} ({inserted} inserted, {updated} updated, {unchanged} unchanged){}{}{} sha256={}",
                unit.1,
                if seen { "; this file was imported before" } else { "" },
                if dry { "; dry run, nothing written" } else { "" },
                if mails > 0 { format!("; {mails} update mail(s) queued") } else { String::new() },
                self.sha256
            ),
        }
    }
}

/// Prints a CSV file's line errors; the failure to end with.
fn refused(errors: &[LineError], lang: Lang, json: bool) -> Failure {
    if json {
        return print_json(&Refusal::new(errors)).err().unwrap_or(Failure::Refused);
    }
    print_errors(errors.iter().map(|e| e.message(lang)), errors.len(), lang);
    Failure::Refused
}

/// Prints a checkup file's document errors; the failure to end with.
fn refused_documents(errors: &[checkups::DocumentError], lang: Lang, json: bool) -> Failure {
    if json {
        return print_json(&checkups::Refusal { errors }).err().unwrap_or(Failure::Refused);
    }
    print_errors(errors.iter().map(|e| e.message(lang).to_owned()), errors.len(), lang);
    Failure::Refused
}

fn print_errors(messages: impl Iterator<Item = String>, count: usize, lang: Lang) {
    for message in messages {
        eprintln!("{message}");
    }
    match lang {
        Lang::Ja => eprintln!("{count}件のエラーのため、ファイル全体を取り込みませんでした"),
        Lang::En => eprintln!("the file was not imported: {count} error(s)"),
    }
}
