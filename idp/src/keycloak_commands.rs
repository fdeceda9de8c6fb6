//! `kenpo-idp import-keycloak`: a kenpo moving from Keycloak brings its realm export (settings,
//! clients, members and their credentials); the report says what came over and what did not.

use clap::Args;
use kenpo_idp::app::AppState;
use kenpo_idp::flows::import_keycloak::{self, Report};
use kenpo_idp::flows::realms;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImportKeycloak {
    /// The realm here that receives the export: /realms/<name>/…
    #[arg(long)]
    realm: String,
    /// Check and report, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// The realm export (`kc.sh export --realm … --users realm_file`), JSON.
    file: PathBuf,
}

pub async fn run(args: ImportKeycloak, state: AppState) -> anyhow::Result<()> {
    let realm = realms::find(&state.db, &args.realm).await?;
    let bytes =
        std::fs::read(&args.file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let now = state.clock.now();
    let report = import_keycloak::import(&state.db, &state.master_key, &realm, &bytes, args.dry_run, now)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", args.file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", readable(&report, realm.name.as_str()));
    }
    Ok(())
}

/// The report for a person: counts first, then each list.
fn readable(report: &Report, realm: &str) -> String {
    let mut out = String::new();
    let verb = if report.dry_run { "would import (dry run, nothing written)" } else { "imported" };
    let credentials: usize = report.credentials.values().sum();
    out.push_str(&format!(
        "{verb} into realm {realm}: {} member(s), {credentials} credential(s), {} client(s), {} setting(s); {} skipped\n",
        report.members.len(),
        report.clients.len(),
        report.settings.len(),
        report.skipped.len(),
    ));
    let mut section = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            out.push_str(&format!("{title}:\n"));
            for line in lines {
                out.push_str(&format!("  {line}\n"));
            }
        }
    };
    section("members", report.members.clone());
    section("credentials", report.credentials.iter().map(|(kind, n)| format!("{kind}: {n}")).collect());
    section("clients", report.clients.clone());
    section("settings", report.settings.clone());
    section("skipped", report.skipped.iter().map(|s| format!("{}: {}", s.what, s.why)).collect());
    out
}
