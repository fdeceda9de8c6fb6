//! `kenpo-idp terms …`: publishing a new version of a realm's terms of use. (The admin REST
//! API will offer the same.)

use anyhow::Context;
use clap::Subcommand;
use kenpo_idp::app::AppState;
use kenpo_idp::flows::{realms, terms};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum TermsCommand {
    /// Publish a new version of the terms of use: every member accepts it at their next login.
    Publish {
        #[arg(long)]
        realm: String,
        /// The Japanese text (paragraphs separated by blank lines).
        #[arg(long, value_name = "FILE")]
        ja: PathBuf,
        /// The English translation.
        #[arg(long, value_name = "FILE")]
        en: PathBuf,
    },
}

pub async fn terms(command: TermsCommand, state: AppState) -> anyhow::Result<()> {
    let TermsCommand::Publish { realm, ja, en } = command;
    let realm = realms::find(&state.db, &realm).await?;
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let published = terms::publish(&state.db, &realm, &read(&ja)?, &read(&en)?, state.clock.now()).await?;
    println!("published terms version {} in realm {}", published.version, realm.name);
    Ok(())
}
