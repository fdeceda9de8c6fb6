//! `kenpo-portal`: serve and migrate.
#![expect(clippy::print_stdout, reason = "a command-line tool answers on standard output")]

use clap::{Parser, Subcommand};
use kenpo_portal::app::{App, AppState};
use kenpo_portal::config::Config;
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
        Command::Serve => serve(config).await,
        Command::Migrate => {
            AppState::connect(config).await.map(|_| println!("migrations applied")).map_err(Into::into)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenpo-portal: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    tracing::info!(port = app.port(), public_url = %app.state().config.public_url, "kenpo-portal listening");
    app.run_until(shutdown::signal()).await?;
    tracing::info!("kenpo-portal stopped");
    Ok(())
}
