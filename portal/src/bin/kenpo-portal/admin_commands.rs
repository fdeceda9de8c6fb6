//! The operator's commands for a kenpo: import tokens, purge, kenpos, settings, FAQ, the kenpo
//! API's clients, the read audit and the update-mail trail.

use crate::{ApiClientAction, Failure, KenpoAction, open, print_json};
use kenpo_portal::config::Config;
use kenpo_portal::flows::admin;
use kenpo_portal::i18n::Locale;
use kenpo_portal::import::Lang;
use kenpo_portal::import::retention_job::{DEFAULT_RETENTION_MONTHS, retention_cutoff};
use kenpo_portal::store::{ApiGrantStore, Db, KenpoStore};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

pub(crate) async fn import_token(config: &Config, issuer: &str, revoke: bool) -> Result<(), Failure> {
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

pub(crate) async fn purge(config: &Config, issuer: &str, months: Option<u32>) -> Result<(), Failure> {
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

pub(crate) async fn kenpo_command(config: &Config, action: KenpoAction) -> Result<(), Failure> {
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

pub(crate) async fn settings(config: &Config, issuer: &str, set: Option<&str>) -> Result<(), Failure> {
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

pub(crate) async fn api_client(config: &Config, action: ApiClientAction) -> Result<(), Failure> {
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

pub(crate) async fn faq(
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

pub(crate) async fn reads(
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

pub(crate) async fn update_mails(
    config: &Config,
    issuer: &str,
    limit: u32,
    json: bool,
) -> Result<(), Failure> {
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
