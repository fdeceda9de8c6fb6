//! Configuration: defaults, then a TOML file (`--config`), then `KENPO_IDP_*` environment
//! variables. Every error names the setting and where it came from. Secrets are
//! [`SecretString`]s, so `Debug` and logs never show them.

use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use url::Url;

pub const ENV_PREFIX: &str = "KENPO_IDP_";

/// The settings, each with its documentation (the README's table is written from these).
pub const SETTINGS: [(&str, &str); 10] = [
    ("listen", "address to listen on (default 127.0.0.1:8080)"),
    ("public_url", "URL members and clients reach the IdP at (default http://<listen>)"),
    ("database_url", "postgres://… or sqlite:… (default: SQLite file <data_dir>/idp.db)"),
    ("redis_url", "redis://… for ephemeral state (unset: in-process store)"),
    ("smtp_url", "smtp://… or smtps://… (unset: mail is written to <data_dir>/outbox)"),
    ("data_dir", "directory for the embedded database, outbox and key (default ./data)"),
    (
        "master_key",
        "base64 32-byte key sealing secrets at rest (embedded: generated into <data_dir>/master.key)",
    ),
    ("log_format", "text or json (default text)"),
    ("demo", "true: create the demo kenpo on first start (default false)"),
    ("demo_portal_url", "the portal URL the demo client redirects to (default http://127.0.0.1:3000)"),
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid TOML: {source}")]
    Toml { path: PathBuf, source: toml::de::Error },
    #[error("{origin}: {reason}")]
    Invalid { origin: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

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
    pub data_dir: PathBuf,
    pub master_key: Option<SecretString>,
    pub log_format: LogFormat,
    pub demo: bool,
    pub demo_portal_url: String,
}

/// A raw value and where it came from, for error messages.
struct Raw {
    value: String,
    origin: String,
}

impl Config {
    /// Reads the layers. `env` is passed in (normally `std::env::vars()`) so tests need not
    /// touch the process environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut raw = BTreeMap::new();
        if let Some(path) = file {
            read_file(path, &mut raw)?;
        }
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else { continue };
            let key = key.to_ascii_lowercase();
            if SETTINGS.iter().any(|(k, _)| *k == key) && !value.is_empty() {
                raw.insert(key, Raw { value, origin: name });
            }
        }
        Self::from_raw(raw)
    }

    /// Defaults only: the embedded mode in `./data`.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let mut raw = BTreeMap::new();
        let dir = data_dir.into();
        raw.insert(
            "data_dir".to_owned(),
            Raw { value: dir.to_string_lossy().into_owned(), origin: "data_dir".to_owned() },
        );
        Self::from_raw(raw)
    }

    fn from_raw(mut raw: BTreeMap<String, Raw>) -> Result<Self, ConfigError> {
        let mut take = |key: &str| raw.remove(key);
        let listen: SocketAddr = parse(take("listen"), "127.0.0.1:8080")?;
        let data_dir = PathBuf::from(take("data_dir").map_or_else(|| "./data".to_owned(), |r| r.value));
        let public_url_raw = take("public_url");
        let public_url_defaulted = public_url_raw.is_none();
        let public_url: Url = parse(public_url_raw, &format!("http://{listen}"))?;
        let database_url = take("database_url")
            .map_or_else(|| format!("sqlite://{}", data_dir.join("idp.db").display()), |r| r.value);
        let log_format = match take("log_format") {
            None => LogFormat::Text,
            Some(r) if r.value == "text" => LogFormat::Text,
            Some(r) if r.value == "json" => LogFormat::Json,
            Some(r) => return Err(invalid(&r, "must be text or json")),
        };
        let config = Self {
            listen,
            public_url: base_url(public_url),
            public_url_defaulted,
            database_url: SecretString::from(database_url),
            redis_url: take("redis_url").map(|r| SecretString::from(r.value)),
            smtp_url: take("smtp_url").map(|r| SecretString::from(r.value)),
            master_key: take("master_key").map(|r| SecretString::from(r.value)),
            demo: parse(take("demo"), "false")?,
            demo_portal_url: base_url(parse(take("demo_portal_url"), "http://127.0.0.1:3000")?),
            data_dir,
            log_format,
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let db = self.database_url.expose_secret();
        let known = ["postgres://", "postgresql://", "sqlite:"];
        if !known.iter().any(|p| db.starts_with(p)) {
            return Err(ConfigError::Invalid {
                origin: format!("{ENV_PREFIX}DATABASE_URL"),
                reason: "must start with postgres://, postgresql:// or sqlite:".to_owned(),
            });
        }
        Ok(())
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

fn read_file(path: &Path, raw: &mut BTreeMap<String, Raw>) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    let table: toml::Table =
        text.parse().map_err(|source| ConfigError::Toml { path: path.to_owned(), source })?;
    for (key, value) in table {
        let origin = format!("{}: {key}", path.display());
        if !SETTINGS.iter().any(|(k, _)| *k == key) {
            return Err(ConfigError::Invalid { origin, reason: "unknown setting".to_owned() });
        }
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Integer(i) => i.to_string(),
            _ => return Err(ConfigError::Invalid { origin, reason: "must be a string".to_owned() }),
        };
        raw.insert(key, Raw { value, origin });
    }
    Ok(())
}

fn parse<T: std::str::FromStr>(raw: Option<Raw>, default: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match raw {
        Some(r) => r.value.parse().map_err(|e: T::Err| invalid(&r, &e.to_string())),
        None => default.parse().map_err(|e: T::Err| ConfigError::Invalid {
            origin: "built-in default".to_owned(),
            reason: e.to_string(),
        }),
    }
}

fn invalid(raw: &Raw, reason: &str) -> ConfigError {
    ConfigError::Invalid { origin: raw.origin.clone(), reason: format!("{reason} (got {:?})", raw.value) }
}

/// A base URL as text without the trailing slash, so paths append with one `/`.
fn base_url(url: Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let config = Config::load(None, env(&[])).map_err(|e| e.to_string());
        let config = config.as_ref().map_err(String::as_str);
        assert_eq!(config.map(|c| c.listen.to_string()), Ok("127.0.0.1:8080".to_owned()));
        assert_eq!(config.map(|c| c.public_url.to_string()), Ok("http://127.0.0.1:8080".to_owned()));
        assert_eq!(
            config.map(|c| c.database_url.expose_secret().to_owned()),
            Ok("sqlite://./data/idp.db".to_owned())
        );
        assert_eq!(config.map(|c| c.redis_url.is_none()), Ok(true));
        assert_eq!(config.map(Config::is_embedded), Ok(true));
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
    fn errors_name_the_setting_and_its_source() -> Result<(), Box<dyn std::error::Error>> {
        let err = Config::load(None, env(&[("KENPO_IDP_LISTEN", "nowhere")]));
        let message = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.starts_with("KENPO_IDP_LISTEN: "), "{message}");
        assert!(message.contains("\"nowhere\""), "{message}");

        let dir = tempfile::tempdir()?;
        let file = dir.path().join("idp.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n")?;
        let message = Config::load(Some(&file), env(&[])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("lisen: unknown setting"), "{message}");
        Ok(())
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

    #[test]
    fn unknown_database_schemes_are_refused() {
        let err = Config::load(None, env(&[("KENPO_IDP_DATABASE_URL", "mysql://db/idp")]));
        assert!(err.err().map(|e| e.to_string()).unwrap_or_default().starts_with("KENPO_IDP_DATABASE_URL"));
    }
}
