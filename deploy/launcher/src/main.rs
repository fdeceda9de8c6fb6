//! `kenpo`: the single-node deployment. Starts the IdP and the portal in one process on the
//! embedded defaults (SQLite files and the master key in `./data`, in-process stores, mail
//! into `./data/outbox`), creates the demo kenpo on first start, prints where to go and how
//! to log in, and stops both cleanly on SIGTERM or Ctrl-C.
//!
//! Every `KENPO_IDP_*` and `KENPO_PORTAL_*` variable still applies; the launcher only fills in
//! what ties the two together (the demo realm, its client secret, the redirect URL).

use kenpo_idp::demo::{self, DemoInfo};
use secrecy::ExposeSecret;
use shared_runtime::{shutdown, telemetry};
use std::process::ExitCode;
use tokio::sync::watch;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenpo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let env_portal = env.clone();
    let mut portal_config = kenpo_portal::Config::load(None, env.clone())?;
    telemetry::init(portal_config.log_format);

    // The IdP runs the demo kenpo unless told otherwise, redirecting to this portal.
    let mut idp_env = vec![
        ("KENPO_IDP_DEMO".to_owned(), "true".to_owned()),
        ("KENPO_IDP_DEMO_PORTAL_URL".to_owned(), portal_config.public_url.clone()),
    ];
    idp_env.extend(env);
    let idp = kenpo_idp::App::build(kenpo_idp::Config::load(None, idp_env)?).await?;

    if let Some(demo) = idp.demo() {
        portal_config.idp_issuer = demo.issuer.clone();
        portal_config.client_id = demo.client_id.clone();
        portal_config.client_secret = Some(demo.client_secret.clone());
        portal_config.kenpo_name = demo::DISPLAY_NAME.to_owned();
    }
    // One mail server and sender domain for both, unless the portal is given its own.
    let idp_config = &idp.state().config;
    if portal_config.smtp_url.is_none() {
        portal_config.smtp_url.clone_from(&idp_config.smtp_url);
    }
    if !env_has(&env_portal, "KENPO_PORTAL_MAIL_DOMAIN") {
        portal_config.mail_domain.clone_from(&idp_config.mail_domain);
    }
    let portal = kenpo_portal::App::build(portal_config).await?;
    if let Some(demo) = idp.demo() {
        let logins: Vec<_> = demo
            .members
            .iter()
            .map(|m| kenpo_portal::demo::DemoLogin { username: m.username.clone(), subject: m.id.clone() })
            .collect();
        kenpo_portal::demo::seed(portal.state(), &logins, time::OffsetDateTime::now_utc()).await?;
    }

    banner(&idp, &portal, idp.demo());
    // Data past the kenpo's retention is deleted daily (spec §1), after the demo data is in.
    let retention = kenpo_portal::import::retention_job::spawn_retention_job(portal.state().clone());
    // Update mails queued by imports go out in the background, with retries.
    let mails = kenpo_portal::mail::job::spawn_update_mail_delivery(portal.state().clone());

    // One signal stops both: each server finishes its requests in flight, then returns.
    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let signal = tokio::spawn(async move {
        shutdown::signal().await;
        let _ = stop.send(true);
    });
    let (idp_done, portal_done) = tokio::join!(
        idp.run_until(until_stopped(stopped.clone())),
        portal.run_until(until_stopped(stopped)),
    );
    signal.abort();
    retention.abort();
    mails.abort();
    idp_done?;
    portal_done?;
    tracing::info!("kenpo stopped");
    Ok(())
}

fn env_has(env: &[(String, String)], key: &str) -> bool {
    env.iter().any(|(k, _)| k == key)
}

/// Prints the banner in one write. A write that fails (whoever started us closed our standard
/// output) is ignored: the services keep running, as they would for a daemon's closed terminal;
/// `println!` would panic there instead.
fn banner(idp: &kenpo_idp::App, portal: &kenpo_portal::App, demo: Option<&DemoInfo>) {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let portal_url = &portal.state().config.public_url;
    let idp_url = &idp.state().config.public_url;
    let mut text = String::new();
    let _ = writeln!(text, "\n  kenpo is running");
    let _ = writeln!(text, "  portal: {portal_url}/");
    let _ = writeln!(text, "  idp:    {idp_url}/");
    if let Some(demo) = demo {
        let _ = writeln!(text, "  demo realm: {}", demo.issuer);
        let _ = writeln!(
            text,
            "  demo client: {} (secret {})",
            demo.client_id,
            demo.client_secret.expose_secret()
        );
        let _ =
            writeln!(text, "  demo members (temporary IDs; they still owe the manual's first-login steps):");
        for member in &demo.members {
            let _ = writeln!(
                text,
                "    {:<12} {:<16} {}",
                member.username, member.temporary_password, member.display_name
            );
        }
    }
    let _ = writeln!(text, "  stop with Ctrl-C\n");
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
