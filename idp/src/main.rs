//! `kenpo-idp`: serve, migrate, and the operator's commands.
#![expect(clippy::print_stdout, reason = "a command-line tool answers on standard output")]

mod admin_commands;
mod keycloak_commands;
mod terms_commands;

use clap::{Args, Parser, Subcommand};
use kenpo_idp::app::{App, AppState};
use kenpo_idp::clock::SystemClock;
use kenpo_idp::config::Config;
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::flows::import_members::{self, ImportError};
use kenpo_idp::flows::{keys, realms};
use kenpo_idp::store::{GrantType, RealmStore};
use secrecy::ExposeSecret;
use shared_crypto::keys::Algorithm;
use shared_runtime::{shutdown, telemetry};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use user_commands::UserCommand;

mod user_commands;

#[derive(Debug, Parser)]
#[command(name = "kenpo-idp", version, about = "OpenID Connect provider for health insurance societies")]
struct Cli {
    /// TOML configuration file; KENPO_IDP_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage realms (one per kenpo).
    #[command(subcommand)]
    Realm(RealmCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage realm signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Terms of use.
    #[command(subcommand)]
    Terms(terms_commands::TermsCommand),
    /// One member: their lockout (see it, lift it) and the steps owed at the next login.
    #[command(subcommand)]
    User(UserCommand),
    /// Who may use the admin REST API (Keycloak's realm-management roles).
    #[command(subcommand)]
    Admin(admin_commands::AdminCommand),
    /// Import the kenpo's member list (CSV, UTF-8 or Shift_JIS): all lines or none.
    ImportMembers {
        #[arg(long)]
        realm: String,
        file: PathBuf,
    },
    /// Migrate from Keycloak: a realm export's settings, clients, members and credentials.
    /// Existing members and clients are never overwritten; the report lists what was skipped.
    ImportKeycloak(keycloak_commands::ImportKeycloak),
}

#[derive(Debug, Subcommand)]
enum RealmCommand {
    /// Create a realm with its first signing key.
    Create {
        /// URL name: /realms/<name>/…
        #[arg(long)]
        name: String,
        /// e.g. 「○○健康保険組合加入者ページ」
        #[arg(long)]
        display_name: String,
        /// The kenpo's portal host, e.g. www.example.portal.example.jp
        #[arg(long)]
        host: Option<String>,
    },
    /// List realms.
    List,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register a client; a confidential client's secret is printed once.
    Create(ClientArgs),
}

#[derive(Debug, Args)]
struct ClientArgs {
    #[arg(long)]
    realm: String,
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    name: Option<String>,
    /// A public client (mobile app, SPA): no secret, PKCE required.
    #[arg(long)]
    public: bool,
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// authorization_code, refresh_token, client_credentials (repeat or comma-separate)
    #[arg(long = "grant", value_delimiter = ',', default_values = ["authorization_code", "refresh_token"])]
    grants: Vec<String>,
    /// Require PKCE of a confidential client too (always required of public ones).
    #[arg(long)]
    pkce: bool,
    /// ID token signing algorithm: ES256 (default), RS256 or EdDSA.
    #[arg(long, default_value = "ES256")]
    signing_alg: String,
    /// Keep a refresh token valid across uses instead of rotating it on each (rotation, with
    /// replay detection, is the default).
    #[arg(long)]
    no_refresh_rotation: bool,
    /// A JWK Set file with the client's public keys, for private_key_jwt authentication.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// A resource server its access tokens are also for (`aud`; repeat for more), which may then
    /// introspect them: the portal's client id, for a kenpo system calling the kenpo API.
    #[arg(long = "audience", value_name = "CLIENT_ID")]
    audiences: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new active key; the previous one keeps verifying until retired.
    Rotate {
        #[arg(long)]
        realm: String,
        #[arg(long, default_value = "ES256")]
        alg: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kenpo-idp: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    match run(cli.command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenpo-idp: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            AppState::connect(config, Arc::new(SystemClock)).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Realm(command) => realm(command, state(config).await?).await,
        Command::Client(ClientCommand::Create(args)) => client(args, state(config).await?).await,
        Command::User(command) => user_commands::run(command, state(config).await?).await,
        Command::Admin(command) => admin_commands::run(command, state(config).await?).await,
        Command::Keys(KeysCommand::Rotate { realm, alg }) => {
            let state = state(config).await?;
            let realm = realms::find(&state.db, &realm).await?;
            let alg: Algorithm = alg.parse().map_err(|_| anyhow::anyhow!("unknown algorithm {alg:?}"))?;
            let kid = keys::rotate(&state.db, &state.master_key, &realm.id, alg, state.clock.now()).await?;
            println!("new active {alg} key: {kid}");
            Ok(())
        }
        Command::Terms(command) => terms_commands::terms(command, state(config).await?).await,
        Command::ImportKeycloak(args) => keycloak_commands::run(args, state(config).await?).await,
        Command::ImportMembers { realm, file } => {
            let state = state(config).await?;
            let realm = realms::find(&state.db, &realm).await?;
            let bytes =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            match import_members::import(&state.db, &realm, &bytes, state.clock.now()).await {
                Ok(report) => {
                    println!(
                        "imported {}: {} created, {} updated, {} unchanged",
                        file.display(),
                        report.created,
                        report.updated,
                        report.unchanged
                    );
                    Ok(())
                }
                Err(ImportError::Lines(errors)) => {
                    for error in &errors {
                        eprintln!("{}: {error}", file.display());
                    }
                    anyhow::bail!("nothing was imported: {} problem(s) in {}", errors.len(), file.display())
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

async fn state(config: Config) -> anyhow::Result<AppState> {
    Ok(AppState::connect(config, Arc::new(SystemClock)).await?)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let public_url = app.state().config.public_url.clone();
    tracing::info!(port = app.port(), %public_url, "kenpo-idp listening");
    if let Some(demo) = app.demo() {
        tracing::info!(issuer = %demo.issuer, client_id = %demo.client_id, "demo kenpo ready");
    }
    app.run_until(shutdown::signal()).await?;
    tracing::info!("kenpo-idp stopped");
    Ok(())
}

async fn realm(command: RealmCommand, state: AppState) -> anyhow::Result<()> {
    match command {
        RealmCommand::Create { name, display_name, host } => {
            let spec = realms::RealmSpec { name, display_name, host };
            let realm = realms::create(&state.db, &state.master_key, spec, state.clock.now()).await?;
            println!("created realm {} ({})", realm.name, realm.display_name);
            println!("issuer: {}", state.config.issuer(realm.name.as_str()));
        }
        RealmCommand::List => {
            for realm in state.db.list_realms().await? {
                println!("{}\t{}\t{}", realm.name, realm.display_name, realm.host.unwrap_or_default());
            }
        }
    }
    Ok(())
}

async fn client(args: ClientArgs, state: AppState) -> anyhow::Result<()> {
    let realm = realms::find(&state.db, &args.realm).await?;
    let grant_types = args
        .grants
        .iter()
        .map(|g| match g.as_str() {
            "authorization_code" => Ok(GrantType::AuthorizationCode),
            "refresh_token" => Ok(GrantType::RefreshToken),
            "client_credentials" => Ok(GrantType::ClientCredentials),
            other => Err(anyhow::anyhow!(
                "unknown grant {other:?}: use authorization_code, refresh_token or client_credentials"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signing_alg: Algorithm =
        args.signing_alg.parse().map_err(|_| anyhow::anyhow!("unknown algorithm {:?}", args.signing_alg))?;
    let jwks = match &args.jwks {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{} is not a JWK Set: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let spec = ClientSpec {
        client_id: args.client_id,
        name: args.name,
        confidential: !args.public,
        secret: None,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        backchannel_logout_uri: args.backchannel_logout_uri,
        grant_types,
        pkce_required: args.pkce,
        signing_alg,
        jwks,
        rotate_refresh_tokens: !args.no_refresh_rotation,
        audiences: args.audiences,
    };
    let (client, secret) =
        clients::create(&state.db, &state.master_key, &realm, spec, state.clock.now()).await?;
    println!("created client {} in realm {}", client.client_id, realm.name);
    if let Some(secret) = secret {
        println!("client secret (shown once): {}", secret.expose_secret());
    }
    Ok(())
}
