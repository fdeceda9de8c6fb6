//! The scenarios and the closed-loop load: a fixed number of keep-alive connections, each
//! sending its next request as soon as the previous answer is read.

use crate::seed::{self, PASSWORD, REALM, REDIRECT_URI, Seeded, USERNAME};
use clap::ValueEnum;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "/protocol/openid-connect/token";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Scenario {
    Discovery,
    Jwks,
    ClientCredentials,
    Refresh,
    AuthCode,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Jwks => "jwks",
            Self::ClientCredentials => "client_credentials",
            Self::Refresh => "refresh",
            Self::AuthCode => "auth_code",
        }
    }
}

/// Where requests go and as whom.
#[derive(Debug, Clone)]
pub struct Target {
    pub http: Client,
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    pub seeded: Arc<Seeded>,
}

impl Target {
    fn issuer(&self) -> String {
        format!("{}/realms/{REALM}", self.origin)
    }
}

/// The HTTP client of the load: keep-alive, no redirects followed, no cookie jar (the one
/// cookie a login needs is carried by hand, so that round trips share connections).
pub fn http_client() -> anyhow::Result<Client> {
    Ok(Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// One connection's count.
#[derive(Debug, Default)]
pub struct Tally {
    pub ok: u64,
    pub errors: u64,
    /// The first few errors, to show.
    pub samples: Vec<String>,
    /// Latency of each counted success, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Tally {
    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.samples.len() < 3 {
            self.samples.push(message);
        }
    }

    pub fn merge(mut self, other: Self) -> Self {
        self.ok += other.ok;
        self.errors += other.errors;
        for s in other.samples {
            if self.samples.len() < 5 {
                self.samples.push(s);
            }
        }
        self.latencies_us.extend(other.latencies_us);
        self
    }

    /// The `q` quantile of the latencies, in milliseconds.
    pub fn quantile_ms(&self, sorted: &[u32], q: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let index = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
        f64::from(sorted[index]) / 1000.0
    }
}

/// The measured window: requests completing in `[start, end]` count; errors count always.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

/// Runs one connection's loop of `scenario` until the window ends. A refresh loop starts from
/// `refresh_token` (from a login made before the window) and always sends the newest token.
pub async fn connection(
    scenario: Scenario,
    target: Target,
    window: Window,
    mut refresh_token: Option<String>,
) -> Tally {
    let mut tally = Tally::default();
    let issuer = target.issuer();
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let certs = format!("{issuer}/protocol/openid-connect/certs");
    loop {
        let begin = Instant::now();
        if begin >= window.end {
            break;
        }
        let result = match scenario {
            Scenario::Discovery => get(&target.http, &discovery).await,
            Scenario::Jwks => get(&target.http, &certs).await,
            Scenario::ClientCredentials => client_credentials(&target).await,
            Scenario::AuthCode => authorization_code(&target).await.map(|_| ()),
            Scenario::Refresh => match refresh_token.take() {
                Some(token) => refresh(&target, &token).await.map(|newer| refresh_token = Some(newer)),
                // The chain broke on an error before: start a new one with a login (not counted).
                None => match authorization_code(&target).await {
                    Ok(token) => {
                        refresh_token = Some(token);
                        continue;
                    }
                    Err(e) => Err(e),
                },
            },
        };
        let done = Instant::now();
        match result {
            Err(e) => tally.error(e),
            Ok(()) if done >= window.start && done <= window.end => {
                tally.ok += 1;
                let micros = done.duration_since(begin).as_micros();
                tally.latencies_us.push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Ok(()) => {}
        }
    }
    tally
}

async fn get(http: &Client, url: &str) -> Result<(), String> {
    let response = http.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
    if status.is_success() { Ok(()) } else { Err(format!("GET {url}: {status} {}", excerpt(&body))) }
}

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

/// Posts a form to the token endpoint with client_secret_basic and returns the JSON answer.
async fn token_request(
    target: &Target,
    client: &(String, String),
    form: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    let url = format!("{}{TOKEN}", target.issuer());
    let response = target
        .http
        .post(&url)
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .map_err(|e| format!("token: {e}"))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| format!("token: {e}"))?;
    if status != StatusCode::OK {
        return Err(format!("token: {status} {}", excerpt(&body)));
    }
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("token JSON: {e}"))?;
    if json.get("access_token").and_then(|v| v.as_str()).is_none() {
        return Err(format!("token: 200 without access_token: {}", excerpt(&body)));
    }
    Ok(json)
}

async fn client_credentials(target: &Target) -> Result<(), String> {
    token_request(target, &target.seeded.service, &[("grant_type", "client_credentials")]).await.map(|_| ())
}

fn refresh_token_of(json: &serde_json::Value) -> Result<String, String> {
    json.get("refresh_token")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| "no refresh_token".into())
}

/// One refresh grant; returns the rotated refresh token.
async fn refresh(target: &Target, token: &str) -> Result<String, String> {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    let json = token_request(target, &target.seeded.web, &form).await?;
    refresh_token_of(&json)
}

/// The full round trip a browser and a relying party make: the authorization request, the
/// login form, the redirect with the code, and the code exchange. Returns the refresh token.
pub async fn authorization_code(target: &Target) -> Result<String, String> {
    let state = shared_crypto::random::token_with_bytes(16);
    let nonce = shared_crypto::random::token_with_bytes(16);
    let mut auth = url::Url::parse(&format!("{}/protocol/openid-connect/auth", target.issuer()))
        .map_err(|e| e.to_string())?;
    auth.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &target.seeded.web.0)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce);
    let page = target.http.get(auth.as_str()).send().await.map_err(|e| format!("auth: {e}"))?;
    let status = page.status();
    let cookie = page
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("KENPO_AUTH="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let html = page.text().await.map_err(|e| format!("auth: {e}"))?;
    if status != StatusCode::OK {
        return Err(format!("auth: {status} {}", excerpt(html.as_bytes())));
    }
    let cookie = cookie.ok_or("auth: no KENPO_AUTH cookie")?;
    let (action, csrf) = login_form(&html)?;
    let action = format!("{}{action}", target.origin);
    let form = [("username", USERNAME), ("password", PASSWORD), ("csrf_token", csrf.as_str())];
    let posted = target
        .http
        .post(&action)
        .header(COOKIE, cookie)
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("login: {e}"))?;
    let status = posted.status();
    let location = posted.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = posted.bytes().await.map_err(|e| format!("login: {e}"))?;
    if status != StatusCode::SEE_OTHER && status != StatusCode::FOUND {
        return Err(format!("login: {status} {}", excerpt(&body)));
    }
    let location = location.ok_or("login: redirect without Location")?;
    let callback = url::Url::parse(&location).map_err(|e| format!("login: Location {location}: {e}"))?;
    if !location.starts_with(REDIRECT_URI) {
        return Err(format!("login: redirected to {location}"));
    }
    let pairs: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if param("state") != Some(state.as_str()) {
        return Err(format!("login: state not returned: {location}"));
    }
    let code = param("code").ok_or_else(|| format!("login: no code in {location}"))?;
    let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI)];
    let json = token_request(target, &target.seeded.web, &form).await?;
    if json.get("id_token").and_then(|v| v.as_str()).is_none() {
        return Err("code exchange: no id_token".to_owned());
    }
    refresh_token_of(&json)
}

/// The login form's action and CSRF token, read as a browser reads them (entities decoded).
fn login_form(html: &str) -> Result<(String, String), String> {
    let selector = |css: &str| scraper::Selector::parse(css).map_err(|e| format!("selector {css}: {e}"));
    let document = scraper::Html::parse_document(html);
    let form = document.select(&selector("form#kc-form-login")?).next().ok_or("auth: no login form")?;
    let action = form.value().attr("action").ok_or("login form without action")?.to_owned();
    let csrf = form
        .select(&selector("input[name=csrf_token]")?)
        .next()
        .and_then(|i| i.value().attr("value"))
        .ok_or("login form without csrf_token")?
        .to_owned();
    if !action.starts_with('/') {
        return Err(format!("login form action is not a path: {action}"));
    }
    Ok((action, csrf))
}

/// Logs in `count` times, `parallel` at a time, for the refresh scenario's starting tokens.
pub async fn refresh_tokens(target: &Target, count: usize, parallel: usize) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::with_capacity(count);
    while tokens.len() < count {
        let batch = parallel.min(count - tokens.len());
        let logins: Vec<_> = (0..batch)
            .map(|_| {
                let target = target.clone();
                tokio::spawn(async move { authorization_code(&target).await })
            })
            .collect();
        for login in logins {
            tokens.push(login.await?.map_err(|e| anyhow::anyhow!("login for a refresh token: {e}"))?);
        }
    }
    Ok(tokens)
}

/// Checks that the seeded data answers before anything is measured.
pub async fn smoke(target: &Target) -> anyhow::Result<()> {
    let issuer = target.issuer();
    get(&target.http, &format!("{issuer}/.well-known/openid-configuration"))
        .await
        .map_err(anyhow::Error::msg)?;
    client_credentials(target).await.map_err(anyhow::Error::msg)?;
    let token = authorization_code(target).await.map_err(anyhow::Error::msg)?;
    let newer = refresh(target, &token).await.map_err(anyhow::Error::msg)?;
    refresh(target, &newer).await.map_err(anyhow::Error::msg)?;
    // A rotated-out token must be refused now (it would revoke the grant): proves rotation is on.
    if refresh(target, &token).await.is_ok() {
        anyhow::bail!("a used refresh token was accepted again: rotation is off for {}", seed::WEB_CLIENT);
    }
    Ok(())
}
