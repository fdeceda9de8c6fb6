//! Configuration: defaults, then a TOML file (`--config`), then `KENPO_PORTAL_*` environment
//! variables (see `shared_runtime::config`).

use secrecy::{ExposeSecret, SecretString};
use shared_runtime::config::{ConfigError, Layers};
pub use shared_runtime::master_key::MasterKeyError;
use shared_runtime::master_key::{self, KeySource};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use shared_runtime::config::LogFormat;

pub const ENV_PREFIX: &str = "KENPO_PORTAL_";

/// The settings, each with its documentation (the README's table says the same).
pub const SETTINGS: [(&str, &str); 15] = [
    ("listen", "address to listen on (default 127.0.0.1:3000)"),
    ("public_url", "URL members reach the portal at (default http://<listen>)"),
    ("database_url", "postgres://… or sqlite:… (default: SQLite file <data_dir>/portal.db)"),
    ("redis_url", "redis://… for portal sessions (unset: in-process store)"),
    ("data_dir", "directory for the embedded database (default ./data)"),
    ("log_format", "text or json (default text)"),
    ("idp_issuer", "the kenpo's realm at the IdP (default http://127.0.0.1:8080/realms/demo)"),
    ("client_id", "the portal's client ID at the IdP (default portal)"),
    ("client_secret", "the portal's client secret at the IdP (required outside the launcher)"),
    ("kenpo_name", "the kenpo's display name (default デモ健康保険組合加入者ページ)"),
    ("pdf_font", "a Japanese font for PDFs (default: Noto Sans CJK or IPAex from the system's fonts)"),
    (
        "master_key",
        "base64 32-byte key sealing other kenpos' client secrets (embedded: generated into <data_dir>/portal-master.key)",
    ),
    ("upload_max_bytes", "largest document a member may upload, in bytes (default 10485760, 10 MB)"),
    ("smtp_url", "smtp://… or smtps://… for update mails (unset: mail is written to <data_dir>/outbox)"),
    (
        "mail_domain",
        "domain of the info@ sender of update mails, for kenpos whose mail_from is unset (default localhost)",
    ),
];

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Validated absolute URL, without a trailing slash.
    pub public_url: String,
    pub(crate) public_url_defaulted: bool,
    pub database_url: SecretString,
    pub redis_url: Option<SecretString>,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub idp_issuer: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub kenpo_name: String,
    pub pdf_font: Option<PathBuf>,
    /// Seals the client secrets of kenpos registered with `kenpo-portal kenpo add`.
    pub master_key: Option<SecretString>,
    /// The largest upload (被扶養者資格確認 documents), held to while the body streams in.
    pub upload_max_bytes: u64,
    /// Where update mails go out; `None`: `.eml` files in `<data_dir>/outbox`.
    pub smtp_url: Option<SecretString>,
    /// Update mails come from `info@<mail_domain>` for kenpos that set no `mail_from`.
    pub mail_domain: String,
}

impl Config {
    /// Reads the layers. `env` is passed in (normally `std::env::vars()`).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let keys: Vec<&str> = SETTINGS.iter().map(|(k, _)| *k).collect();
        let mut layers = Layers::load(ENV_PREFIX, &keys, file, env)?;
        let listen: SocketAddr = layers.parse("listen", "127.0.0.1:3000")?;
        let data_dir = layers.data_dir();
        let (public_url, public_url_defaulted) =
            layers.base_url("public_url", &format!("http://{listen}"))?;
        let database_url = layers.database_url(&data_dir, "portal.db")?;
        let kenpo_name = layers
            .take("kenpo_name")
            .map_or_else(|| "デモ健康保険組合加入者ページ".to_owned(), |r| r.value.trim().to_owned());
        let mail_domain = match layers.take("mail_domain") {
            Some(raw) if shared_runtime::mail::Address::new("info", &raw.value).is_err() => {
                return Err(raw.invalid("not a domain a mail can come from"));
            }
            Some(raw) => raw.value,
            None => "localhost".to_owned(),
        };
        Ok(Self {
            listen,
            public_url,
            public_url_defaulted,
            database_url: SecretString::from(database_url),
            redis_url: layers.take("redis_url").map(|r| SecretString::from(r.value)),
            log_format: layers.parse("log_format", "text")?,
            idp_issuer: layers.base_url("idp_issuer", "http://127.0.0.1:8080/realms/demo")?.0,
            client_id: layers.take("client_id").map_or_else(|| "portal".to_owned(), |r| r.value),
            client_secret: layers.take("client_secret").map(|r| SecretString::from(r.value)),
            kenpo_name,
            pdf_font: layers.take("pdf_font").map(|r| PathBuf::from(r.value)),
            master_key: layers.take("master_key").map(|r| SecretString::from(r.value)),
            upload_max_bytes: layers.parse("upload_max_bytes", "10485760")?,
            smtp_url: layers.take("smtp_url").map(|r| SecretString::from(r.value)),
            mail_domain,
            data_dir,
        })
    }

    pub fn is_embedded(&self) -> bool {
        self.database_url.expose_secret().starts_with("sqlite:")
    }

    /// The master key: configured, or in the embedded mode `<data_dir>/portal-master.key`.
    pub fn load_master_key(&self) -> Result<shared_crypto::MasterKey, MasterKeyError> {
        let file = self.data_dir.join("portal-master.key");
        master_key::load(KeySource {
            configured: self.master_key.as_ref(),
            setting: "KENPO_PORTAL_MASTER_KEY",
            embedded_file: self.is_embedded().then_some(file.as_path()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_point_at_the_embedded_demo() -> Result<(), ConfigError> {
        let config = Config::load(None, env(&[]))?;
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(config.idp_issuer, "http://127.0.0.1:8080/realms/demo");
        assert_eq!(config.database_url.expose_secret(), "sqlite://./data/portal.db");
        assert_eq!(config.kenpo_name, "デモ健康保険組合加入者ページ");
        assert!(config.smtp_url.is_none(), "update mails go to <data_dir>/outbox");
        assert_eq!(config.mail_domain, "localhost");
        Ok(())
    }

    #[test]
    fn the_client_secret_never_prints() -> Result<(), ConfigError> {
        let config = Config::load(None, env(&[("KENPO_PORTAL_CLIENT_SECRET", "s3cr3t-value")]))?;
        assert!(!format!("{config:?}").contains("s3cr3t-value"));
        let bad = Config::load(None, env(&[("KENPO_PORTAL_IDP_ISSUER", "not a url")])).err();
        assert!(bad.map(|e| e.to_string()).unwrap_or_default().starts_with("KENPO_PORTAL_IDP_ISSUER: "));
        Ok(())
    }

    #[test]
    fn the_mail_domain_must_be_one_a_mail_can_come_from() -> Result<(), ConfigError> {
        let config = Config::load(None, env(&[("KENPO_PORTAL_MAIL_DOMAIN", "kenpo.example.jp")]))?;
        assert_eq!(config.mail_domain, "kenpo.example.jp");
        let bad = Config::load(None, env(&[("KENPO_PORTAL_MAIL_DOMAIN", "kenpo example.jp")])).err();
        assert!(bad.map(|e| e.to_string()).unwrap_or_default().starts_with("KENPO_PORTAL_MAIL_DOMAIN: "));
        Ok(())
    }
}
