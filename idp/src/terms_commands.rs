//! Operator commands for the login journey: publishing terms and assigning required actions.
//! (The admin REST API will offer the same.)

use anyhow::Context;
use clap::Subcommand;
use kenpo_idp::app::AppState;
use kenpo_idp::domain::RequiredAction;
use kenpo_idp::flows::{lockout, realms, terms};
use kenpo_idp::store::UserStore;
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

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Ask a member for a step at their next login (Keycloak aliases: VERIFY_BIRTHDATE,
    /// TERMS_AND_CONDITIONS, UPDATE_EMAIL, VERIFY_EMAIL, UPDATE_USER_ID, UPDATE_PASSWORD).
    RequireAction {
        #[arg(long)]
        realm: String,
        /// The member's user ID or 仮ID.
        username: String,
        action: String,
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

pub async fn member(command: MemberCommand, state: AppState) -> anyhow::Result<()> {
    let MemberCommand::RequireAction { realm, username, action } = command;
    let realm = realms::find(&state.db, &realm).await?;
    let action =
        RequiredAction::from_alias(&action).with_context(|| format!("unknown required action {action:?}"))?;
    let mut user = lockout::find_member(&state.db, &realm, &username).await?;
    user.require(action);
    state.db.save_member(&user).await?;
    println!("{} owes {} at the next login", user.username, action.alias());
    Ok(())
}
