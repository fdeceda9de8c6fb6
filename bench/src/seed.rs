//! A fresh database with one realm, two clients and one member, made through the library the
//! way an operator's commands make them.

use anyhow::Context;
use base64::Engine;
use kenpo_idp::domain::Username;
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::flows::realms::{self, RealmSpec};
use kenpo_idp::store::{CredentialStore, Db, GrantType, NewUser, UserStore};
use secrecy::SecretString;
use shared_crypto::MasterKey;
use shared_crypto::keys::Algorithm;
use time::OffsetDateTime;

pub const REALM: &str = "bench";
/// The client_credentials client.
pub const SERVICE_CLIENT: &str = "bench-service";
/// The web client: authorization code and refresh token, rotation on.
pub const WEB_CLIENT: &str = "bench-web";
pub const REDIRECT_URI: &str = "http://127.0.0.1:1/cb";
pub const USERNAME: &str = "bench1234";
pub const PASSWORD: &str = "Correct-horse-1";
const SERVICE_SECRET: &str = "bench-service-secret-0123456789abcdefghij";
const WEB_SECRET: &str = "bench-web-secret-0123456789abcdefghijklmno";
/// 32 fixed bytes, so the server can be restarted on the same database.
const MASTER_KEY: &[u8; 32] = b"kenpo-bench-master-key-32-bytes!";

/// The master key as `KENPO_IDP_MASTER_KEY` takes it.
pub fn master_key_base64() -> String {
    base64::engine::general_purpose::STANDARD.encode(MASTER_KEY)
}

/// What the load generator needs to know about the seeded data.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub service: (String, String),
    pub web: (String, String),
}

impl Seeded {
    fn new() -> Self {
        Self {
            service: (SERVICE_CLIENT.to_owned(), SERVICE_SECRET.to_owned()),
            web: (WEB_CLIENT.to_owned(), WEB_SECRET.to_owned()),
        }
    }
}

/// Migrates and seeds the database at `url`.
pub async fn seed(url: &str) -> anyhow::Result<Seeded> {
    let db = Db::connect(url).await.context("connecting to the benchmark database")?;
    db.migrate().await.context("migrating")?;
    let master = MasterKey::from_base64(&master_key_base64())?;
    let now = OffsetDateTime::now_utc();
    let spec =
        RealmSpec {
            name: REALM.to_owned(), display_name: "ベンチマーク健康保険組合".to_owned(), host: None
        };
    let realm = realms::create(&db, &master, spec, now).await.context("creating the realm")?;
    let client =
        |client_id: &str, secret: &str, grant_types: Vec<GrantType>, redirect: Vec<String>| ClientSpec {
            client_id: client_id.to_owned(),
            name: Some(format!("benchmark {client_id}")),
            confidential: true,
            secret: Some(SecretString::from(secret.to_owned())),
            redirect_uris: redirect,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types,
            pkce_required: false,
            signing_alg: Algorithm::ES256,
            jwks: None,
            rotate_refresh_tokens: true,
            audiences: vec![],
        };
    let service = client(SERVICE_CLIENT, SERVICE_SECRET, vec![GrantType::ClientCredentials], vec![]);
    clients::create(&db, &master, &realm, service, now).await.context("registering the service client")?;
    let web = client(
        WEB_CLIENT,
        WEB_SECRET,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        vec![REDIRECT_URI.to_owned()],
    );
    clients::create(&db, &master, &realm, web, now).await.context("registering the web client")?;
    let user = db
        .create_user(
            &realm.id,
            NewUser {
                username: Username::parse_chosen(USERNAME)?,
                issued_username: None,
                email: None,
                email_verified: false,
                display_name: "健保 太郎".to_owned(),
                birthdate: None,
                relationship: None,
                temporary_id: false,
                required_actions: vec![],
                locale: Some("ja".to_owned()),
            },
            now,
        )
        .await
        .context("creating the member")?;
    let hash = shared_crypto::password::hash_password(PASSWORD)?;
    db.set_password(&user.id, &hash, now).await.context("setting the member's password")?;
    db.close().await;
    Ok(Seeded::new())
}

/// A PostgreSQL database made for one run and dropped after it.
#[derive(Debug)]
pub struct PgDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgDatabase {
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("kenpo_bench_{}", std::process::id());
        let admin = sqlx::postgres::PgPool::connect(admin_url)
            .await
            .with_context(|| format!("connecting to {admin_url} (set TEST_DATABASE_URL)"))?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.context("CREATE DATABASE")?;
        admin.close().await;
        let mut url = url::Url::parse(admin_url).context("TEST_DATABASE_URL is not a URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Self { url: url.to_string(), admin_url: admin_url.to_owned(), name })
    }

    pub async fn drop_database(self) -> anyhow::Result<()> {
        let admin = sqlx::postgres::PgPool::connect(&self.admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&admin).await?;
        admin.close().await;
        Ok(())
    }
}
