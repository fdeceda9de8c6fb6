//! Building and running the server: configuration in, a bound listener out.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::ephemeral::{Ephemeral, EphemeralError};
use crate::flows::keys::KeyCache;
use crate::flows::master_key::{self, MasterKeyError};
use crate::mail::{MailError, Mailer};
use crate::pages::Pages;
use crate::store::{Db, Realm, StoreError};
use crate::{demo, flows, http};
use secrecy::ExposeSecret;
use shared_crypto::MasterKey;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub ephemeral: Ephemeral,
    pub master_key: Arc<MasterKey>,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<KeyCache>,
    pub lookups: Arc<flows::lookup::Lookups>,
    /// Where passwords are hashed: one thread per core (see `flows::hashing`).
    pub hashing: flows::hashing::HashPool,
    pub pages: Arc<Pages>,
    /// Outgoing HTTP (back-channel logout).
    pub http: reqwest::Client,
    /// Wakes the back-channel logout deliverer when a logout queues something.
    pub backchannel: Arc<tokio::sync::Notify>,
    /// Wakes the mail deliverer: call `notify_one()` after `flows::mail::enqueue`.
    pub mail_outbox: Arc<tokio::sync::Notify>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] StoreError),
    #[error("ephemeral store: {0}")]
    Ephemeral(#[from] EphemeralError),
    #[error("master key: {0}")]
    MasterKey(#[from] MasterKeyError),
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    #[error("demo kenpo: {0}")]
    Demo(#[from] demo::DemoError),
    #[error("templates: {0}")]
    Templates(#[from] minijinja::Error),
    #[error("HTTP client: {0}")]
    Http(reqwest::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
}

impl AppState {
    /// What the flows work with, for `realm` served as `issuer`, at the clock's now.
    pub fn ctx<'a>(&'a self, realm: &'a Realm, issuer: &'a str) -> flows::tokens::Ctx<'a> {
        flows::tokens::Ctx {
            db: &self.db,
            ephemeral: &self.ephemeral,
            master: &self.master_key,
            keys: &self.keys,
            lookups: &self.lookups,
            realm,
            issuer,
            mail_domain: &self.config.mail_domain,
            now: self.clock.now(),
        }
    }

    /// Connects to everything the configuration names and migrates the database.
    pub async fn connect(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        if config.is_embedded() {
            shared_runtime::config::create_private_dir(&config.data_dir).map_err(|source| {
                StartError::DataDir { path: config.data_dir.display().to_string(), source }
            })?;
        }
        let master_key = master_key::load(&config)?;
        let db = Db::connect(config.database_url.expose_secret()).await?;
        db.migrate().await?;
        let ephemeral =
            Ephemeral::connect(config.redis_url.as_ref().map(|u| u.expose_secret()), "kenpo-idp:").await?;
        let mailer = Mailer::new(config.smtp_url.as_ref(), &config.data_dir)?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(StartError::Http)?;
        Ok(Self {
            config: Arc::new(config),
            db,
            ephemeral,
            master_key: Arc::new(master_key),
            mailer,
            clock,
            keys: Arc::new(KeyCache::default()),
            lookups: Arc::new(flows::lookup::Lookups::default()),
            hashing: flows::hashing::HashPool::new(),
            pages: Arc::new(Pages::new()?),
            http,
            backchannel: Arc::new(tokio::sync::Notify::new()),
            mail_outbox: Arc::new(tokio::sync::Notify::new()),
        })
    }
}

/// A server ready to run: state built, listener bound (so `port()` is known before it runs).
#[derive(Debug)]
pub struct App {
    state: AppState,
    listener: TcpListener,
    demo: Option<demo::DemoInfo>,
}

impl App {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let addr = config.listen;
        let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
        let mut config = config;
        if config.public_url_defaulted
            && let Ok(bound) = listener.local_addr()
        {
            config.public_url = format!("http://{bound}");
        }
        let state = AppState::connect(config, clock).await?;
        let demo = if state.config.demo { Some(demo::ensure(&state).await?) } else { None };
        ensure_account_consoles(&state).await;
        Ok(Self { state, listener, demo })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The demo kenpo, when the configuration asked for it.
    pub fn demo(&self) -> Option<&demo::DemoInfo> {
        self.demo.as_ref()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests in flight finish,
    /// and closes the database pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let router = http::router(self.state.clone());
        let deliverers = [
            tokio::spawn(deliver_backchannel_logouts(self.state.clone())),
            tokio::spawn(deliver_mail(self.state.clone())),
        ];
        let result = axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        for deliverer in deliverers {
            deliverer.abort();
        }
        self.state.db.close().await;
        result
    }
}

/// Gives every realm its `account-console` client, pointing at this server's public URL (the
/// account pages ensure it again before each login, for realms created later). A failure is
/// logged: the realm's login works without it.
async fn ensure_account_consoles(state: &AppState) {
    use crate::store::RealmStore;
    let realms = match state.db.list_realms().await {
        Ok(realms) => realms,
        Err(e) => return tracing::warn!(error = %e, "account consoles not checked"),
    };
    for realm in realms {
        let issuer = state.config.issuer(realm.name.as_str());
        if let Err(e) = flows::account::ensure_console(&state.ctx(&realm, &issuer)).await {
            tracing::warn!(error = %e, realm = %realm.name, "account console not ensured");
        }
    }
}

/// How often a deliverer looks for retries that have come due when nothing wakes it.
const DELIVERY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `round` whenever `wake` is notified, and every [`DELIVERY_INTERVAL`] for retries. A
/// failed round is logged and the next one tries again.
async fn deliver_forever<F, R>(wake: Arc<tokio::sync::Notify>, what: &'static str, mut round: R)
where
    R: FnMut() -> F,
    F: Future<Output = Result<usize, flows::FlowError>>,
{
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(DELIVERY_INTERVAL) => {}
        }
        if let Err(e) = round().await {
            tracing::warn!(error = %e, "{what} failed");
        }
    }
}

/// Delivers queued back-channel logouts when a logout wakes it, and retries every few seconds.
async fn deliver_backchannel_logouts(state: AppState) {
    let wake = state.backchannel.clone();
    deliver_forever(wake, "back-channel logout delivery", || {
        flows::backchannel::deliver_due(&state.db, &state.http, state.clock.now())
    })
    .await;
}

/// Sends queued mail when a flow wakes it, and retries every few seconds.
async fn deliver_mail(state: AppState) {
    let wake = state.mail_outbox.clone();
    deliver_forever(wake, "mail delivery", || {
        flows::mail::deliver_due(&state.db, &state.master_key, &state.mailer, state.clock.now())
    })
    .await;
}
