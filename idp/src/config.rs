//! Configuration: defaults, then a TOML file (`--config`), then `KENPO_IDP_*` environment
//! variables (see `shared_runtime::config`). Secrets are [`SecretString`]s, so `Debug` and logs
//! never show them.

use secrecy::{ExposeSecret, SecretString};
use shared_runtime::config::{ConfigError, Layers};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use shared_runtime::config::LogFormat;

pub const ENV_PREFIX: &str = "KENPO_IDP_";

/// The settings, each with its documentation (the README's table says the same).
pub const SETTINGS: [(&str, &str); 11] = [
    ("listen", "address to listen on (default 127.0.0.1:8080)"),
    ("public_url", "URL members and clients reach the IdP at (default http://<listen>)"),
    ("database_url", "postgres://… or sqlite:… (default: SQLite file <data_dir>/idp.db)"),
    ("redis_url", "redis://… for ephemeral state (unset: in-process store)"),
    ("smtp_url", "smtp://… or smtps://… (unset: mail is written to <data_dir>/outbox)"),
    (
        "mail_domain",
        "domain of the no-reply@ and webmaster@ senders, for realms that set none (default localhost)",
    ),
    ("data_dir", "directory for the embedded database, outbox and key (default ./data)"),
    (
        "master_key",
        "base64 32-byte key sealing secrets at rest (embedded: generated into <data_dir>/master.key)",
    ),
    ("log_format", "text or json (default text)"),
    ("demo", "true: create the demo kenpo on first start (default false)"),
    ("demo_portal_url", "the portal URL the demo client redirects to (default http://127.0.0.1:3000)"),
];

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Validated absolute URL, without a trailing slash.
    pub public_url: String,
    /// No public URL was configured: the server derives it from the address it binds, which
    /// differs from `listen` when that asks for port 0.
    pub(crate) public_url_defaulted: bool,
    pub database_url: SecretString,
    pub redis_url: Option<SecretString>,
    pub smtp_url: Option<SecretString>,
    /// The senders' domain (`no-reply@<mail_domain>`) for realms whose settings name none.
    pub mail_domain: String,
    pub data_dir: PathBuf,
    pub master_key: Option<SecretString>,
    pub log_format: LogFormat,
    pub demo: bool,
    pub demo_portal_url: String,
}

impl Config {
    /// Reads the layers. `env` is passed in (normally `std::env::vars()`).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let keys: Vec<&str> = SETTINGS.iter().map(|(k, _)| *k).collect();
        let mut layers = Layers::load(ENV_PREFIX, &keys, file, env)?;
        let listen: SocketAddr = layers.parse("listen", "127.0.0.1:8080")?;
        let data_dir = layers.data_dir();
        let (public_url, public_url_defaulted) =
            layers.base_url("public_url", &format!("http://{listen}"))?;
        let database_url = layers.database_url(&data_dir, "idp.db")?;
        let mail_domain = match layers.take("mail_domain") {
            Some(raw) if lettre::Address::new("no-reply", &raw.value).is_err() => {
                return Err(raw.invalid("not a domain a mail can come from"));
            }
            Some(raw) => raw.value,
            None => "localhost".to_owned(),
        };
        let secret = |layers: &mut Layers, key| layers.take(key).map(|r| SecretString::from(r.value));
        Ok(Self {
            listen,
            public_url,
            public_url_defaulted,
            database_url: SecretString::from(database_url),
            redis_url: secret(&mut layers, "redis_url"),
            smtp_url: secret(&mut layers, "smtp_url"),
            mail_domain,
            master_key: secret(&mut layers, "master_key"),
            log_format: layers.parse("log_format", "text")?,
            demo: layers.parse("demo", "false")?,
            demo_portal_url: layers.base_url("demo_portal_url", "http://127.0.0.1:3000")?.0,
            data_dir,
        })
    }

    /// Whether this is the embedded, single-machine mode (SQLite), where generating a master
    /// key on first start is safe. With PostgreSQL several replicas share the data, so the key
    /// must be given.
    pub fn is_embedded(&self) -> bool {
        self.database_url.expose_secret().starts_with("sqlite:")
    }

    /// The issuer of a realm: `<public_url>/realms/<name>`, as Keycloak's.
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.public_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_mode() -> Result<(), ConfigError> {
        let config = Config::load(None, env(&[]))?;
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(config.database_url.expose_secret(), "sqlite://./data/idp.db");
        assert!(config.redis_url.is_none() && config.smtp_url.is_none() && config.master_key.is_none());
        assert!(config.is_embedded());
        assert_eq!(config.issuer("demo"), "http://127.0.0.1:8080/realms/demo");
        assert_eq!(config.mail_domain, "localhost");
        Ok(())
    }

    #[test]
    fn environment_overrides_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("idp.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\ndemo = true\nlog_format = \"json\"\n")?;
        let config = Config::load(Some(&file), env(&[("KENPO_IDP_LISTEN", "127.0.0.1:9100")]))?;
        assert_eq!(config.listen.to_string(), "127.0.0.1:9100");
        assert!(config.demo);
        assert_eq!(config.log_format, LogFormat::Json);
        Ok(())
    }

    #[test]
    fn errors_name_the_setting_and_its_source() {
        let message =
            Config::load(None, env(&[("KENPO_IDP_LISTEN", "nowhere")])).err().map(|e| e.to_string());
        let message = message.unwrap_or_default();
        assert!(message.starts_with("KENPO_IDP_LISTEN: ") && message.contains("\"nowhere\""), "{message}");
        let message = Config::load(None, env(&[("KENPO_IDP_DATABASE_URL", "mysql://db/idp")])).err();
        assert!(message.map(|e| e.to_string()).unwrap_or_default().starts_with("KENPO_IDP_DATABASE_URL: "));
        let message = Config::load(None, env(&[("KENPO_IDP_MAIL_DOMAIN", "kenpo example.jp")])).err();
        assert!(message.map(|e| e.to_string()).unwrap_or_default().starts_with("KENPO_IDP_MAIL_DOMAIN: "));
    }

    #[test]
    fn secrets_never_appear_in_debug_output() -> Result<(), ConfigError> {
        let config = Config::load(
            None,
            env(&[
                ("KENPO_IDP_DATABASE_URL", "postgres://kenpo:hunter2@db/idp"),
                ("KENPO_IDP_REDIS_URL", "redis://:sesame@cache"),
                ("KENPO_IDP_SMTP_URL", "smtps://mailer:opensesame@smtp.example.jp"),
                ("KENPO_IDP_MASTER_KEY", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="),
            ]),
        )?;
        let debug = format!("{config:?}");
        for secret in ["hunter2", "sesame", "opensesame", "c2VjcmV0"] {
            assert!(!debug.contains(secret), "{secret} leaked: {debug}");
        }
        assert!(!config.is_embedded());
        Ok(())
    }
}
