//! `kenpo-portal`: serve, migrate, and take in the kenpo's data.
#![expect(clippy::print_stdout, reason = "a command-line tool answers on standard output")]

use clap::{Parser, Subcommand};
use kenpo_portal::app::{App, AppState};
use kenpo_portal::config::Config;
use kenpo_portal::domain::KenpoId;
use kenpo_portal::flows::kenpo_api::ApiRole;
use kenpo_portal::flows::{admin, checkups};
use kenpo_portal::i18n::Locale;
use kenpo_portal::import::retention_job::{DEFAULT_RETENTION_MONTHS, retention_cutoff};
use kenpo_portal::import::{
    ImportError, ImportKind, ImportLimits, ImportOptions, Lang, LineError, ReasonCode, Refusal,
};
use kenpo_portal::store::{ApiGrantStore, Db, KenpoStore};
use secrecy::{ExposeSecret, SecretString};
use shared_runtime::{shutdown, telemetry};
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;

#[derive(Debug, Parser)]
#[command(name = "kenpo-portal", version, about = "Member portal for health insurance societies")]
struct Cli {
    /// TOML configuration file; KENPO_PORTAL_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the portal (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Import one of the kenpo's CSV files, or a 特定健診 XML or ZIP, all or nothing.
    Import {
        /// The kenpo, by its IdP issuer URL.
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        #[arg(value_parser = parse_kind, value_name = "members|claims|benefits|prescriptions|checkups")]
        kind: Kind,
        file: PathBuf,
        /// Check and count, then roll back.
        #[arg(long)]
        dry_run: bool,
        /// Language of the errors (ja or en).
        #[arg(long, value_parser = parse_lang, default_value = "ja")]
        lang: Lang,
        /// Print the report or the errors as JSON.
        #[arg(long)]
        json: bool,
        /// Largest file accepted, in bytes.
        #[arg(long, default_value_t = ImportLimits::default().max_file_bytes)]
        max_bytes: usize,
    },
    /// Print a new API token for the kenpo's systems (POST /api/import/{kind}, also checkups).
    ImportToken {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        /// Revoke every token of the kenpo instead.
        #[arg(long)]
        revoke: bool,
    },
    /// The kenpos this portal serves, each signing its members in at its own IdP realm.
    Kenpo {
        #[command(subcommand)]
        action: KenpoAction,
    },
    /// Print a kenpo's settings as JSON, or change some of them.
    Settings {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        /// The settings to change, as a JSON object (`@FILE` reads it from a file).
        #[arg(long, value_name = "JSON|@FILE")]
        set: Option<String>,
    },
    /// Print a kenpo's よくある質問 (TOML), or replace it.
    Faq {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        #[arg(long, value_parser = parse_lang, default_value = "ja")]
        lang: Lang,
        /// A TOML file of the same shape as the printed one.
        #[arg(long, value_name = "FILE", conflicts_with = "reset")]
        set: Option<PathBuf>,
        /// Go back to the portal's own FAQ (the manual's).
        #[arg(long)]
        reset: bool,
    },
    /// List who read whose health data, what and when (the kenpo's audit), as CSV.
    Reads {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        /// First day, in Japan time (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        from: time::Date,
        /// Last day, included (default: the first day).
        #[arg(long, value_parser = parse_date)]
        to: Option<time::Date>,
        /// JSON instead of CSV.
        #[arg(long)]
        json: bool,
    },
    /// List the kenpo's latest update mails and survey reminders: to whom, what kind, how it went.
    UpdateMails {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        /// How many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// JSON instead of tab-separated lines.
        #[arg(long)]
        json: bool,
    },
    /// What the kenpo's systems (clients at its IdP realm) may do through the kenpo API.
    ApiClient {
        #[command(subcommand)]
        action: ApiClientAction,
    },
    /// Delete the kenpo's health data older than its retention.
    Purge {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        /// Months kept (default: the kenpo's `retention_months` setting, else 24).
        #[arg(long)]
        months: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
enum KenpoAction {
    /// Add a kenpo, or update the one of the same issuer. The client secret is read from
    /// standard input and stored sealed with the master key.
    Add {
        /// Its realm at the IdP (the ID tokens' `iss`).
        #[arg(long, value_name = "URL")]
        issuer: String,
        /// The portal's client at that realm.
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// The host its members reach the portal at (the callback is https://HOST/auth/callback).
        #[arg(long)]
        host: String,
        /// Its display name.
        #[arg(long)]
        name: String,
    },
    /// List the kenpos.
    List,
}

#[derive(Debug, Subcommand)]
enum ApiClientAction {
    /// Let a client call the operations of a role.
    Grant {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        /// The client's id at the kenpo's realm (its tokens' `client_id`).
        #[arg(long, value_name = "ID")]
        client: String,
        #[arg(value_parser = parse_role, value_name = "manage-notices|manage-surveys|manage-qualification")]
        role: ApiRole,
    },
    /// Take a role away; the client's next call is refused.
    Revoke {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
        #[arg(long, value_name = "ID")]
        client: String,
        #[arg(value_parser = parse_role, value_name = "ROLE")]
        role: ApiRole,
    },
    /// List the kenpo's clients and their roles.
    List {
        #[arg(long, value_name = "ISSUER")]
        kenpo: String,
    },
}

fn parse_role(s: &str) -> Result<ApiRole, String> {
    ApiRole::parse(s).ok_or_else(|| {
        let all: Vec<&str> = ApiRole::ALL.iter().map(|r| r.as_str()).collect();
        format!("must be one of {}", all.join(", "))
    })
}

/// What `import` takes: one of the CSV files, or checkups (CDA XML or ZIP), which have their own
/// flow and report rather than a place among the CSV kinds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Csv(ImportKind),
    Checkups,
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    match s {
        checkups::KIND => Ok(Kind::Checkups),
        _ => ImportKind::parse(s)
            .map(Kind::Csv)
            .ok_or_else(|| "must be members, claims, benefits, prescriptions or checkups".to_owned()),
    }
}

fn parse_date(s: &str) -> Result<time::Date, String> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| "must be a date as YYYY-MM-DD".to_owned())
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    match s {
        "ja" => Ok(Lang::Ja),
        "en" => Ok(Lang::En),
        _ => Err("must be ja or en".to_owned()),
    }
}

/// A failure with the exit code it maps to: 1 refused or failed, 2 misused.
#[derive(Debug)]
enum Failure {
    Usage(String),
    Failed(anyhow::Error),
    /// Already printed.
    Refused,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Self::Failed(e.into())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kenpo-portal: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let result = match cli.command {
        Command::Serve => serve(config).await.map_err(Failure::Failed),
        Command::Migrate => AppState::connect(config)
            .await
            .map(|_| println!("migrations applied"))
            .map_err(|e| Failure::Failed(e.into())),
        Command::Import { kenpo, kind, file, dry_run, lang, json, max_bytes } => {
            let limits = ImportLimits { max_file_bytes: max_bytes, ..ImportLimits::default() };
            import(&config, &kenpo, kind, &file, dry_run, lang, json, limits).await
        }
        Command::ImportToken { kenpo, revoke } => import_token(&config, &kenpo, revoke).await,
        Command::ApiClient { action } => api_client(&config, action).await,
        Command::Purge { kenpo, months } => purge(&config, &kenpo, months).await,
        Command::Kenpo { action } => kenpo_command(&config, action).await,
        Command::Settings { kenpo, set } => settings(&config, &kenpo, set.as_deref()).await,
        Command::Faq { kenpo, lang, set, reset } => faq(&config, &kenpo, lang, set.as_deref(), reset).await,
        Command::Reads { kenpo, from, to, json } => {
            reads(&config, &kenpo, from, to.unwrap_or(from), json).await
        }
        Command::UpdateMails { kenpo, limit, json } => update_mails(&config, &kenpo, limit, json).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused) => ExitCode::FAILURE,
        Err(Failure::Usage(message)) => {
            eprintln!("kenpo-portal: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(e)) => {
            eprintln!("kenpo-portal: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    tracing::info!(port = app.port(), public_url = %app.state().config.public_url, "kenpo-portal listening");
    // Data past each kenpo's retention is deleted daily (spec §1), starting now.
    let retention = kenpo_portal::import::retention_job::spawn_retention_job(app.state().clone());
    // Update mails queued by imports are sent in the background, with retries.
    let mails = kenpo_portal::mail::job::spawn_update_mail_delivery(app.state().clone());
    app.run_until(shutdown::signal()).await?;
    retention.abort();
    mails.abort();
    tracing::info!("kenpo-portal stopped");
    Ok(())
}

/// The database, migrated, and the kenpo of `issuer`.
async fn open(config: &Config, issuer: &str) -> Result<(Db, KenpoId), Failure> {
    let db = Db::connect(config.database_url.expose_secret()).await?;
    db.migrate().await?;
    let kenpo = db.kenpo_by_issuer(issuer.trim_end_matches('/')).await?;
    let id = kenpo.and_then(|k| KenpoId::parse(&k.id));
    let id = id.ok_or_else(|| Failure::Usage(format!("no kenpo has the issuer {issuer}")))?;
    Ok((db, id))
}

#[expect(clippy::too_many_arguments, reason = "the command's options, passed through once")]
async fn import(
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

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
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

async fn import_token(config: &Config, issuer: &str, revoke: bool) -> Result<(), Failure> {
    let (db, kenpo) = open(config, issuer).await?;
    let now = OffsetDateTime::now_utc();
    if revoke {
        let n = db.revoke_import_tokens(&kenpo, now).await?;
        println!("revoked {n} token(s)");
    } else {
        println!("{}", kenpo_portal::import::new_api_token(&db, &kenpo, now).await?);
    }
    db.close().await;
    Ok(())
}

async fn purge(config: &Config, issuer: &str, months: Option<u32>) -> Result<(), Failure> {
    let (db, kenpo) = open(config, issuer).await?;
    let months = match months {
        Some(m) => m,
        None => db
            .retention_settings()
            .await?
            .into_iter()
            .find(|(k, _)| *k == kenpo)
            .and_then(|(_, m)| m)
            .unwrap_or(DEFAULT_RETENTION_MONTHS),
    };
    let cutoff = retention_cutoff(OffsetDateTime::now_utc(), months);
    let report = db.purge_older_than(&kenpo, cutoff).await?;
    db.close().await;
    println!(
        "deleted before {cutoff}: {} claims, {} prescriptions, {} benefits, {} checkups",
        report.claims, report.prescriptions, report.benefits, report.checkups
    );
    Ok(())
}

async fn kenpo_command(config: &Config, action: KenpoAction) -> Result<(), Failure> {
    let db = Db::connect(config.database_url.expose_secret()).await?;
    db.migrate().await?;
    match action {
        KenpoAction::Add { issuer, client_id, host, name } => {
            let key = config.load_master_key()?;
            let mut secret = String::new();
            std::io::stdin().read_line(&mut secret)?;
            let registration = admin::Registration {
                issuer,
                client_id,
                client_secret: SecretString::from(secret),
                host,
                display_name: name,
            };
            let kenpo = admin::register_kenpo(&db, &key, registration, OffsetDateTime::now_utc())
                .await
                .map_err(usage)?;
            println!("{} {} https://{}/", kenpo.issuer, kenpo.display_name, kenpo.host.unwrap_or_default());
        }
        KenpoAction::List => {
            for k in db.kenpos().await? {
                let host = k.host.as_deref().unwrap_or("-");
                println!("{}\t{}\t{}\t{}", k.issuer, k.client_id, host, k.display_name);
            }
        }
    }
    db.close().await;
    Ok(())
}

/// An operator's input the flow refused: said plainly, exit code 2.
fn usage(e: admin::AdminError) -> Failure {
    match e {
        admin::AdminError::Store(e) => Failure::Failed(e.into()),
        e => Failure::Usage(e.to_string()),
    }
}

/// `--set '{…}'`, or `--set @file.json`.
fn argument_or_file(value: &str) -> Result<String, Failure> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{path}: {e}"))),
        None => Ok(value.to_owned()),
    }
}

async fn settings(config: &Config, issuer: &str, set: Option<&str>) -> Result<(), Failure> {
    let (db, _) = open(config, issuer).await?;
    let kenpo = admin::kenpo_by_issuer(&db, issuer).await.map_err(usage)?;
    let settings = match set {
        Some(changes) => {
            let changes = argument_or_file(changes)?;
            admin::change_settings(&db, &kenpo, &changes, OffsetDateTime::now_utc()).await.map_err(usage)?
        }
        None => kenpo.settings,
    };
    db.close().await;
    println!("{}", serde_json::to_string_pretty(&settings)?);
    Ok(())
}

async fn api_client(config: &Config, action: ApiClientAction) -> Result<(), Failure> {
    let issuer = match &action {
        ApiClientAction::Grant { kenpo, .. }
        | ApiClientAction::Revoke { kenpo, .. }
        | ApiClientAction::List { kenpo } => kenpo.clone(),
    };
    let (db, _) = open(config, &issuer).await?;
    let kenpo = admin::kenpo_by_issuer(&db, &issuer).await.map_err(usage)?;
    match action {
        ApiClientAction::Grant { client, role, .. } => {
            let now_ms = OffsetDateTime::now_utc().unix_timestamp() * 1000;
            db.grant_api_role(&kenpo.id, client.trim(), role.as_str(), now_ms).await?;
            println!("{} may now call the {role} operations", client.trim());
        }
        ApiClientAction::Revoke { client, role, .. } => {
            if !db.revoke_api_role(&kenpo.id, client.trim(), role.as_str()).await? {
                db.close().await;
                return Err(Failure::Usage(format!("{} does not hold {role}", client.trim())));
            }
            println!("{} no longer holds {role}", client.trim());
        }
        ApiClientAction::List { .. } => {
            for (client, role) in db.api_grants(&kenpo.id).await? {
                println!("{client}\t{role}");
            }
        }
    }
    db.close().await;
    Ok(())
}

async fn faq(
    config: &Config,
    issuer: &str,
    lang: Lang,
    set: Option<&std::path::Path>,
    reset: bool,
) -> Result<(), Failure> {
    let locale = match lang {
        Lang::Ja => Locale::Ja,
        Lang::En => Locale::En,
    };
    let (db, _) = open(config, issuer).await?;
    let kenpo = admin::kenpo_by_issuer(&db, issuer).await.map_err(usage)?;
    let now = OffsetDateTime::now_utc();
    if let Some(path) = set {
        let document =
            std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
        admin::set_faq(&db, &kenpo, locale, Some(&document), now).await.map_err(usage)?;
        println!("FAQ ({}) replaced for {}", locale.code(), kenpo.display_name);
    } else if reset {
        admin::set_faq(&db, &kenpo, locale, None, now).await.map_err(usage)?;
        println!("FAQ ({}) of {} is the portal's own again", locale.code(), kenpo.display_name);
    } else {
        print!("{}", admin::faq_document(&db, &kenpo, locale).await.map_err(usage)?);
    }
    db.close().await;
    Ok(())
}

async fn reads(
    config: &Config,
    issuer: &str,
    from: time::Date,
    to: time::Date,
    json: bool,
) -> Result<(), Failure> {
    if to < from {
        return Err(Failure::Usage("--to must not be before --from".to_owned()));
    }
    let (db, kenpo) = open(config, issuer).await?;
    let records = kenpo_portal::flows::audit::reads(&db, kenpo.as_str(), from, to).await?;
    db.close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&records)?);
    } else {
        use std::io::Write;
        std::io::stdout().write_all(&kenpo_portal::flows::audit::to_csv(&records)?)?;
    }
    if i64::try_from(records.len()).is_ok_and(|n| n >= kenpo_portal::flows::audit::MAX_ROWS) {
        eprintln!("kenpo-portal: the listing stopped at {} reads; ask for a shorter period", records.len());
    }
    Ok(())
}

async fn update_mails(config: &Config, issuer: &str, limit: u32, json: bool) -> Result<(), Failure> {
    let (db, kenpo) = open(config, issuer).await?;
    let trail = kenpo_portal::flows::update_mails::trail(&db, kenpo.as_str(), limit).await?;
    db.close().await;
    if json {
        return print_json(&trail);
    }
    let when = |t: Option<OffsetDateTime>| t.map(|t| t.to_string()).unwrap_or_default();
    println!("state\ttopic\trecipient\tmember\tattempts\tsent_at\tnext_attempt_at\tlast_error");
    for m in trail {
        let state = serde_json::to_value(m.state)?;
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            state.as_str().unwrap_or_default(),
            m.topic,
            m.recipient,
            m.member_id,
            m.attempts,
            when(m.sent_at),
            when(m.next_attempt_at),
            m.last_error.unwrap_or_default()
        );
    }
    Ok(())
}
