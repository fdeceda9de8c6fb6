//! `kenpo-idp admin …`: who may use the admin REST API. Roles are Keycloak's
//! `realm-management` roles, granted to a staff member (by user ID) or to a client's service
//! account (a confidential client with the client_credentials grant).

use anyhow::Context;
use clap::{Args, Subcommand};
use kenpo_idp::app::AppState;
use kenpo_idp::domain::AdminRole;
use kenpo_idp::flows::admin::roles::{self, Named};
use kenpo_idp::flows::realms;

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Who {
    /// A staff member's user ID.
    #[arg(long)]
    user: Option<String>,
    /// A client whose service account gets the role.
    #[arg(long)]
    client: Option<String>,
}

impl Who {
    fn named(&self) -> Named {
        match (&self.user, &self.client) {
            (Some(user), _) => Named::User(user.clone()),
            (None, Some(client)) => Named::Client(client.clone()),
            (None, None) => Named::User(String::new()),
        }
    }

    fn describe(&self) -> String {
        match (&self.user, &self.client) {
            (Some(user), _) => format!("user {user}"),
            (None, Some(client)) => format!("client {client}'s service account"),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Grant a role: realm-admin, manage-users, view-users, manage-clients, view-clients,
    /// manage-realm, view-realm, manage-events, view-events.
    GrantRole {
        #[arg(long)]
        realm: String,
        #[command(flatten)]
        who: Who,
        role: String,
    },
    /// Take a role back; effective at the holder's next call.
    RevokeRole {
        #[arg(long)]
        realm: String,
        #[command(flatten)]
        who: Who,
        role: String,
    },
    /// The roles held.
    Roles {
        #[arg(long)]
        realm: String,
        #[command(flatten)]
        who: Who,
    },
}

fn role(raw: &str) -> anyhow::Result<AdminRole> {
    AdminRole::parse(raw).with_context(|| {
        let known: Vec<&str> = AdminRole::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role {raw:?}; one of {}", known.join(", "))
    })
}

pub async fn run(command: AdminCommand, state: AppState) -> anyhow::Result<()> {
    let (AdminCommand::GrantRole { realm, who, .. }
    | AdminCommand::RevokeRole { realm, who, .. }
    | AdminCommand::Roles { realm, who }) = &command;
    let realm = realms::find(&state.db, realm).await?;
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    let named = who.named();
    match &command {
        AdminCommand::GrantRole { role: raw, .. } => {
            let role = role(raw)?;
            roles::grant(ctx, &named, role).await?;
            println!("{} holds {} in realm {}", who.describe(), role.as_str(), realm.name.as_str());
        }
        AdminCommand::RevokeRole { role: raw, .. } => {
            let role = role(raw)?;
            let held = roles::revoke(ctx, &named, role).await?;
            let what = if held { "no longer holds" } else { "did not hold" };
            println!("{} {what} {} in realm {}", who.describe(), role.as_str(), realm.name.as_str());
        }
        AdminCommand::Roles { .. } => {
            let held = roles::roles(ctx, &named).await?;
            let names: Vec<&str> = held.iter().map(|r| r.as_str()).collect();
            println!(
                "{}: {}",
                who.describe(),
                if names.is_empty() { "no roles".to_owned() } else { names.join(", ") }
            );
        }
    }
    Ok(())
}
