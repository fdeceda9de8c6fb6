//! Building and running the portal: configuration in, a bound listener out.

use crate::clock::Clock;
use crate::config::{Config, MasterKeyError};
use crate::export::PdfFont;
use crate::http;
use crate::oidc::{Registry, Rp, RpError};
use crate::session::Sessions;
use crate::store::{Db, Kenpo, KenpoStore, NewKenpo, StoreError};
use crate::templates::Templates;
use secrecy::ExposeSecret;
use shared_runtime::ephemeral::{Ephemeral, EphemeralError};
use shared_runtime::mail::{MailError, Mailer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use time::OffsetDateTime;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub redis: Option<Redis>,
    pub templates: Arc<Templates>,
    pub sessions: Sessions,
    /// Each kenpo's registration at the IdP.
    pub rps: Arc<Registry>,
    /// The configured kenpo's id (the tenant of requests whose host names no other).
    pub kenpo_id: String,
    pub clock: Clock,
    /// Sends update mails (SMTP, or `.eml` files in `<data_dir>/outbox`).
    pub mailer: Mailer,
    /// Wakes the update-mail delivery (`mail::job`) when an import queued mails.
    pub update_mails: Arc<tokio::sync::Notify>,
    /// The Japanese font PDFs embed, loaded at the first PDF (about 20 MB, shared).
    font: Arc<OnceLock<Option<PdfFont>>>,
}

/// The Redis connection (portal sessions). `Debug` shows nothing of the URL it holds.
#[derive(Clone)]
pub struct Redis(pub redis::aio::ConnectionManager);

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redis")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] StoreError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("sessions: {0}")]
    Sessions(#[from] EphemeralError),
    #[error("relying party: {0}")]
    Rp(#[from] RpError),
    #[error("master key: {0}")]
    MasterKey(#[from] MasterKeyError),
    #[error("templates: {0}")]
    Templates(#[from] minijinja::Error),
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
}

impl AppState {
    /// Connects to everything the configuration names, migrates, and records the configured
    /// kenpo as a tenant at the public URL's host.
    pub async fn connect(config: Config) -> Result<Self, StartError> {
        if config.is_embedded() {
            shared_runtime::config::create_private_dir(&config.data_dir).map_err(|source| {
                StartError::DataDir { path: config.data_dir.display().to_string(), source }
            })?;
        }
        let db = Db::connect(config.database_url.expose_secret()).await?;
        db.migrate().await?;
        let redis = match &config.redis_url {
            Some(url) => {
                let client = redis::Client::open(url.expose_secret())?;
                Some(Redis(redis::aio::ConnectionManager::new(client).await?))
            }
            None => None,
        };
        let host =
            config.public_url.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or(rest));
        let kenpo = NewKenpo {
            issuer: config.idp_issuer.clone(),
            client_id: config.client_id.clone(),
            host: host.map(str::to_ascii_lowercase),
            display_name: config.kenpo_name.clone(),
            client_secret_sealed: None,
        };
        let kenpo = db.upsert_kenpo(kenpo, OffsetDateTime::now_utc()).await?;
        let redis_url = config.redis_url.as_ref().map(|u| u.expose_secret().to_owned());
        let sessions = Sessions::new(Ephemeral::connect(redis_url.as_deref(), "kenpo-portal:").await?);
        let rp =
            Rp::new(&config.idp_issuer, &config.client_id, config.client_secret.clone(), &config.public_url)?;
        // Needed only to open other kenpos' client secrets: without one, they cannot sign in
        // (and say why), while the configured kenpo runs as before.
        let master_key = match config.load_master_key() {
            Ok(key) => Some(Arc::new(key)),
            Err(MasterKeyError::Missing { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let rps = Registry::new(kenpo.id.clone(), rp, &config.public_url, master_key);
        let mailer = Mailer::new(config.smtp_url.as_ref(), &config.data_dir)?;
        Ok(Self {
            config: Arc::new(config),
            db,
            redis,
            templates: Arc::new(Templates::new()?),
            sessions,
            rps: Arc::new(rps),
            kenpo_id: kenpo.id,
            clock: Clock::default(),
            mailer,
            update_mails: Arc::new(tokio::sync::Notify::new()),
            font: Arc::new(OnceLock::new()),
        })
    }
}

impl AppState {
    /// The relying party of the kenpo's members.
    pub async fn rp(&self, kenpo: &Kenpo) -> Result<Arc<Rp>, RpError> {
        self.rps.for_kenpo(kenpo).await
    }

    /// The PDF font: the configured file, else the first Japanese font found on the system.
    pub fn font(&self) -> Option<&PdfFont> {
        self.font
            .get_or_init(|| {
                let loaded = match &self.config.pdf_font {
                    Some(path) => PdfFont::load(path),
                    None => PdfFont::discover(),
                };
                loaded.map_err(|e| tracing::error!(error = %e, "no font for PDFs")).ok()
            })
            .as_ref()
    }
}

/// A portal ready to run: state built, listener bound.
#[derive(Debug)]
pub struct App {
    state: AppState,
    listener: TcpListener,
}

impl App {
    pub async fn build(mut config: Config) -> Result<Self, StartError> {
        let addr = config.listen;
        let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
        if config.public_url_defaulted
            && let Ok(bound) = listener.local_addr()
        {
            config.public_url = format!("http://{bound}");
        }
        if config.client_secret.is_none() {
            tracing::warn!("KENPO_PORTAL_CLIENT_SECRET is not set: members cannot log in until it is");
        }
        Ok(Self { state: AppState::connect(config).await?, listener })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let router = http::router(self.state.clone());
        let result = axum::serve(self.listener, router).with_graceful_shutdown(shutdown).await;
        self.state.db.close().await;
        result
    }
}
