//! `kenpo-idp user …`: what the kenpo's operator does for one member. A member locked out is
//! told to contact their kenpo (manual Q5, Q6); this is where the kenpo looks and unlocks, and
//! where it asks a member for a step at the next login.

use anyhow::Context;
use clap::{Args, Subcommand};
use kenpo_idp::app::AppState;
use kenpo_idp::domain::RequiredAction;
use kenpo_idp::flows::brute_force::{self, Lock};
use kenpo_idp::flows::{lockout, members, realms};
use kenpo_idp::store::DeviceFailures;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Which member: every `user` command names one.
#[derive(Debug, Args)]
pub struct Member {
    /// The kenpo's realm: /realms/<name>/…
    #[arg(long)]
    realm: String,
    /// The member's user ID, or the 仮ID the kenpo issued.
    user: String,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Show the member's login failures and locks, per browser.
    Lockout(Member),
    /// Lift every lock of the member, permanent ones included, and forget their failures.
    Unlock(Member),
    /// Turn the member's account off: the login tells them to contact the kenpo (Q6), and every
    /// session of theirs ends now.
    Disable(Member),
    /// Turn the member's account on again.
    Enable(Member),
    /// A lost or replaced phone (3-8): delete the member's authenticator apps and passkeys, end
    /// their sessions and tell them by mail; the next login sets the method up again.
    ResetSecondFactors(Member),
    /// Ask the member for a step at their next login (Keycloak aliases: VERIFY_BIRTHDATE,
    /// TERMS_AND_CONDITIONS, UPDATE_EMAIL, VERIFY_EMAIL, UPDATE_USER_ID, UPDATE_PASSWORD,
    /// CONFIGURE_TOTP).
    RequireAction {
        #[command(flatten)]
        member: Member,
        action: String,
    },
}

pub async fn run(command: UserCommand, state: AppState) -> anyhow::Result<()> {
    let (UserCommand::Lockout(named)
    | UserCommand::Unlock(named)
    | UserCommand::Disable(named)
    | UserCommand::Enable(named)
    | UserCommand::ResetSecondFactors(named)
    | UserCommand::RequireAction { member: named, .. }) = &command;
    let Member { realm, user } = named;
    let realm = realms::find(&state.db, realm).await?;
    let member = lockout::find_member(&state.db, &realm, user).await?;
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    let now = ctx.now;
    match command {
        UserCommand::Lockout(_) => {
            let records = lockout::status(&state.db, &realm, &member.id).await?;
            if records.is_empty() {
                println!("{}: no login failures, not locked", member.username);
            }
            for record in &records {
                println!("{}: {}", member.username, describe(record, now));
            }
        }
        UserCommand::Unlock(_) => {
            let cleared = lockout::unlock(&state.db, &realm, &member.id).await?;
            if cleared.is_empty() {
                println!("{}: nothing to unlock (no login failures)", member.username);
            } else {
                println!("unlocked {}: cleared {} record(s)", member.username, cleared.len());
                for record in &cleared {
                    println!("  was {}", describe(record, now));
                }
            }
        }
        UserCommand::Disable(_) => {
            let ended = members::disable(ctx, &member).await?;
            println!("{} is disabled; {ended} session(s) ended", member.username);
        }
        UserCommand::Enable(_) => {
            members::enable(ctx, &member).await?;
            println!("{} is enabled", member.username);
        }
        UserCommand::ResetSecondFactors(_) => {
            let reset = members::reset_second_factors(ctx, &member).await?;
            let told = if reset.mailed { "told by mail" } else { "not told: no email address" };
            println!(
                "{}: {} second factor(s) removed, {} session(s) ended, {told}; the next login sets them up again",
                member.username, reset.removed, reset.sessions_ended
            );
        }
        UserCommand::RequireAction { action, .. } => {
            let action = RequiredAction::from_alias(&action)
                .with_context(|| format!("unknown required action {action:?}"))?;
            let mut member = member;
            members::require_action(ctx, &mut member, action).await?;
            println!("{} owes {} at the next login", member.username, action.alias());
        }
    }
    Ok(())
}

/// One record in a line: which browsers, how many failures, the lock.
fn describe(record: &DeviceFailures, now: OffsetDateTime) -> String {
    let browsers = if record.device.is_empty() {
        "untrusted browsers".to_owned()
    } else if record.device == lockout::BIRTHDATE_DEVICE {
        "birth-date check".to_owned()
    } else {
        format!("trusted device {}…", record.device.chars().take(8).collect::<String>())
    };
    let failure = &record.failure;
    let time = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    let last = match (&failure.last_failure_at, &failure.last_ip) {
        (Some(at), Some(ip)) => format!(", last {} from {ip}", time(*at)),
        (Some(at), None) => format!(", last {}", time(*at)),
        _ => String::new(),
    };
    let lock = match brute_force::lock_of(failure, now) {
        Some(Lock::Permanent) => "LOCKED until unlocked".to_owned(),
        Some(Lock::Temporary { until }) => format!("locked until {}", time(until)),
        None => "not locked".to_owned(),
    };
    format!(
        "{browsers}: {} failure(s){last}, {} temporary lockout(s), {lock}",
        failure.num_failures, failure.temporary_lockouts
    )
}
