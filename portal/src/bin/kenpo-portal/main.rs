//! `kenpo-portal`: serve, migrate, and take in the kenpo's data.
#![expect(clippy::print_stdout, reason = "a command-line tool answers on standard output")]

mod admin_commands;
mod import_command;

use admin_commands::{api_client, faq, import_token, kenpo_command, purge, reads, settings, update_mails};
use import_command::import;

use clap::{Parser, Subcommand};
use kenpo_portal::app::{App, AppState};
use kenpo_portal::config::Config;
use kenpo_portal::domain::KenpoId;
use kenpo_portal::flows::checkups;
use kenpo_portal::flows::kenpo_api::ApiRole;
use kenpo_portal::import::{ImportKind, ImportLimits, Lang};
use kenpo_portal::store::{Db, KenpoStore};
use secrecy::ExposeSecret;
use shared_runtime::{shutdown, telemetry};
use std::path::PathBuf;
use std::process::ExitCode;

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

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
