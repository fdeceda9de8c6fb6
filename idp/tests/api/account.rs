//! The account pages (3-1 … 3-7): プロフィール変更, ログイン方法変更 and the active sessions,
//! driven as a browser drives them (its own cookies, each redirect followed by hand), on the
//! realm's built-in `account-console` client.

use crate::helpers::{TestApp, on_every_backend};
use crate::login_browser::{Kenpo, REALM};
use kenpo_idp::clock::Clock as _;
use kenpo_idp::domain::totp::{self as codes, TotpSeed};
use kenpo_idp::domain::{AuthMethod, Email};
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::flows::mfa::totp::{self, Setup};
use kenpo_idp::store::{
    BackchannelStore, BruteForcePolicy, Credential, CredentialStore, EventQuery, EventStore, EventType,
    GrantType, SessionStore, User, UserStore,
};
use reqwest::StatusCode;
use reqwest::cookie::Jar;
use scraper::{Html, Selector};
use secrecy::SecretString;
use shared_crypto::keys::Algorithm;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::Duration;

on_every_backend!(
    without_a_session_the_pages_log_in_through_the_account_console_and_come_back,
    profile_changes_keep_the_input_and_say_why_when_refused,
    choosing_a_method_with_nothing_registered_leads_into_its_setup,
    deleting_an_app_asks_again_then_names_the_device_and_deletes_only_it,
    another_members_credential_and_the_password_cannot_be_deleted,
    the_sessions_page_signs_one_session_out_with_back_channel_logout,
    forms_without_the_sessions_csrf_token_are_refused,
    the_portal_link_goes_only_to_a_registered_clients_origin,
);

const SEED_A: [u8; 20] = *b"kenpo-account-seed-a";
const SEED_B: [u8; 20] = *b"kenpo-account-seed-b";
const RP2: &str = "rp2";
const RP2_SECRET: &str = "rp2-secret-for-the-account-tests-0001";
const RP2_REDIRECT: &str = "https://rp2.example.test/cb";

/// A page as the browser ended on it.
struct Seen {
    status: StatusCode,
    url: String,
    body: String,
}

impl Seen {
    fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    fn attr(&self, css: &str, name: &str) -> String {
        let selector = Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e:?}"));
        self.html()
            .select(&selector)
            .next()
            .and_then(|e| e.value().attr(name))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {css} {name} in {}:\n{}", self.url, self.body))
    }

    fn all_attrs(&self, css: &str, name: &str) -> Vec<String> {
        let selector = Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e:?}"));
        self.html().select(&selector).filter_map(|e| e.value().attr(name).map(str::to_owned)).collect()
    }

    fn text(&self, css: &str) -> String {
        let selector = Selector::parse(css).unwrap_or_else(|e| panic!("{css}: {e:?}"));
        self.html().select(&selector).map(|e| e.text().collect::<String>()).collect::<Vec<_>>().join(" ")
    }

    /// The hidden fields of the form `css`, and its action.
    fn form(&self, css: &str) -> (String, BTreeMap<String, String>) {
        let selector =
            Selector::parse(&format!("{css} input[type=hidden]")).unwrap_or_else(|e| panic!("{e:?}"));
        let fields = self
            .html()
            .select(&selector)
            .filter_map(|e| Some((e.value().attr("name")?.to_owned(), e.value().attr("value")?.to_owned())))
            .collect();
        (self.attr(css, "action"), fields)
    }
}

/// A browser with its own cookies that follows redirects by hand (so each hop is the server's).
struct Member {
    http: reqwest::Client,
    base: String,
}

impl Member {
    fn new(kenpo: &Kenpo, user_agent: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::new(Jar::default()))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .build()
            .unwrap_or_else(|e| panic!("browser: {e}"));
        Self { http, base: kenpo.app.address.clone() }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") { url.to_owned() } else { format!("{}{url}", self.base) }
    }

    async fn follow(&self, mut response: reqwest::Response) -> Seen {
        for _ in 0..10 {
            if !response.status().is_redirection() {
                break;
            }
            let location = response.headers()["location"].to_str().unwrap_or_default().to_owned();
            if !location.starts_with('/') && !location.starts_with(&self.base) {
                // Left the IdP (a client's redirect URI): that is where the browser ends.
                return Seen { status: response.status(), url: location, body: String::new() };
            }
            let next = self.absolute(&location);
            response = self.http.get(&next).send().await.unwrap_or_else(|e| panic!("GET {next}: {e}"));
        }
        let url = response.url().to_string();
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        Seen { status, url, body }
    }

    async fn get(&self, path: &str) -> Seen {
        let url = self.absolute(path);
        let response = self.http.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.follow(response).await
    }

    /// The first hop only.
    async fn get_once(&self, path: &str) -> reqwest::Response {
        let url = self.absolute(path);
        self.http.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    async fn post(&self, action: &str, fields: &BTreeMap<String, String>) -> Seen {
        let url = self.absolute(action);
        let response =
            self.http.post(&url).form(fields).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.follow(response).await
    }

    async fn post_once(&self, action: &str, fields: &BTreeMap<String, String>) -> reqwest::Response {
        let url = self.absolute(action);
        self.http.post(&url).form(fields).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// Answers a login page: the password form, then (when it comes) the app's code.
    async fn log_in(
        &self,
        kenpo: &Kenpo,
        page: Seen,
        username: &str,
        password: &str,
        seed: Option<&TotpSeed>,
    ) -> Seen {
        let (action, mut fields) = page.form("form#kc-form-login");
        fields.insert("username".to_owned(), username.to_owned());
        fields.insert("password".to_owned(), password.to_owned());
        let mut seen = self.post(&action, &fields).await;
        if let Some(seed) = seed.filter(|_| seen.body.contains("kc-otp-login-form")) {
            let (action, mut fields) = seen.form("form#kc-otp-login-form");
            if let Some(first) = seen.all_attrs("input[name=selectedCredentialId]", "value").first() {
                fields.entry("selectedCredentialId".to_owned()).or_insert_with(|| first.clone());
            }
            fields.insert("otp".to_owned(), code_now(kenpo, seed));
            seen = self.post(&action, &fields).await;
        }
        seen
    }
}

fn account(path: &str) -> String {
    format!("/realms/{REALM}/account{path}")
}

fn code_now(kenpo: &Kenpo, seed: &TotpSeed) -> String {
    codes::code_at(seed, &kenpo.realm.settings.otp_policy, kenpo.app.clock.now())
}

async fn user(kenpo: &Kenpo, id: &str) -> User {
    let found = kenpo.app.state.db.user_by_id(&kenpo.realm.id, id).await;
    found.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("no member {id}"))
}

/// Registers an authenticator app for the member and makes it their method.
async fn app_for(kenpo: &Kenpo, id: &str, seed: &TotpSeed, label: &str) -> Credential {
    let state = &kenpo.app.state;
    let mut member = user(kenpo, id).await;
    let issuer = state.config.issuer(REALM);
    let ctx = state.ctx(&kenpo.realm, &issuer);
    let code = code_now(kenpo, seed);
    let credential = match totp::finish_setup(&ctx, &member, seed, &code, label).await {
        Ok(Setup::Registered(credential)) => credential,
        other => panic!("setup: {other:?}"),
    };
    member.auth_method = Some(AuthMethod::Otp);
    state.db.save_member(&member).await.unwrap_or_else(|e| panic!("{e}"));
    // The next code is a fresh one (a code is never accepted twice).
    kenpo.advance(Duration::seconds(30));
    credential
}

async fn credentials(kenpo: &Kenpo, id: &str) -> Vec<Credential> {
    kenpo.app.state.db.credentials_of(id).await.unwrap_or_else(|e| panic!("{e}"))
}

/// Logs taro in at `path` and returns the page he ends on.
async fn signed_in_at(kenpo: &Kenpo, browser: &Member, path: &str, seed: Option<&TotpSeed>) -> Seen {
    let login = browser.get(&account(path)).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    browser.log_in(kenpo, login, kenpo.taro.username, kenpo.taro.password, seed).await
}

const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                              Chrome/126.0.0.0 Safari/537.36";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                             (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

async fn without_a_session_the_pages_log_in_through_the_account_console_and_come_back(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let browser = Member::new(&kenpo, CHROME_WINDOWS);

    let first = browser.get_once(&account("/signing-in")).await;
    let to_authorize = first.headers()["location"].to_str().unwrap_or_default().to_owned();
    let login = browser.follow(first).await;
    let page = browser.log_in(&kenpo, login, kenpo.taro.username, kenpo.taro.password, None).await;

    let authorize = reqwest::Url::parse(&to_authorize).unwrap_or_else(|e| panic!("{to_authorize}: {e}"));
    let query: BTreeMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert!(authorize.path().ends_with("/protocol/openid-connect/auth"), "{to_authorize}");
    assert_eq!(query.get("client_id").map(String::as_str), Some("account-console"));
    assert_eq!(query.get("code_challenge_method").map(String::as_str), Some("S256"));
    assert!(
        query.contains_key("state") && query.contains_key("nonce") && query.contains_key("code_challenge")
    );
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.url.ends_with(&account("/signing-in")), "back to the page first asked for: {}", page.url);
    assert!(page.body.contains("ログイン方法変更") && page.body.contains("作成日"), "{}", page.body);
    // The same browser now reads the page straight from its SSO session.
    let again = browser.get_once(&account("")).await;
    assert_eq!(again.status(), StatusCode::OK);
}

async fn profile_changes_keep_the_input_and_say_why_when_refused(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let browser = Member::new(&kenpo, CHROME_WINDOWS);
    let profile = signed_in_at(&kenpo, &browser, "", None).await;
    let (action, csrf) = profile.form("form#account-profile-form");
    let send = |username: &str, locale: &str, method: &str| {
        let mut fields = csrf.clone();
        fields.insert("username".to_owned(), username.to_owned());
        fields.insert("locale".to_owned(), locale.to_owned());
        fields.insert("authMethod".to_owned(), method.to_owned());
        fields
    };
    let mut taro = user(&kenpo, &kenpo.taro.id).await;
    taro.email = Some(Email::parse("taro@example.jp").unwrap_or_else(|e| panic!("{e}")));
    taro.email_verified = true;
    kenpo.app.state.db.save_member(&taro).await.unwrap_or_else(|e| panic!("{e}"));

    let taken = browser.post(&action, &send(kenpo.hanako.username, "ja", "email-otp")).await;
    let invalid = browser.post(&action, &send("ab", "ja", "email-otp")).await;
    let saved = browser.post(&action, &send("Taro-Kenpo.01", "en", "email-otp")).await;

    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(taken.text(".error").contains("このユーザIDは既に使用されています。"), "{}", taken.body);
    assert_eq!(taken.attr("input#username", "value"), kenpo.hanako.username, "the input is kept");
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.text(".error").contains("ユーザIDは8文字以上、13文字以内で入力してください。"));
    assert_eq!(invalid.attr("input#username", "value"), "ab");
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.attr("html", "lang"), "en", "the page follows the member's language");
    assert!(saved.body.contains("Your profile has been saved."));
    let taro = user(&kenpo, &kenpo.taro.id).await;
    assert_eq!(taro.username.as_str(), "taro-kenpo.01", "stored lower case");
    assert_eq!(taro.locale.as_deref(), Some("en"));
    assert_eq!(taro.auth_method, Some(AuthMethod::EmailOtp));
    assert_eq!(saved.attr("#account-display-name", "id"), "account-display-name", "ユーザー名 is shown");
}

async fn choosing_a_method_with_nothing_registered_leads_into_its_setup(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let browser = Member::new(&kenpo, CHROME_WINDOWS);
    let profile = signed_in_at(&kenpo, &browser, "", None).await;
    let (action, mut fields) = profile.form("form#account-profile-form");
    fields.insert("username".to_owned(), kenpo.taro.username.to_owned());
    fields.insert("locale".to_owned(), "ja".to_owned());
    fields.insert("authMethod".to_owned(), "email-otp".to_owned());

    let no_address = browser.post(&action, &fields).await;
    fields.insert("authMethod".to_owned(), "otp".to_owned());
    let to_setup = browser.post_once(&action, &fields).await;
    let location = to_setup.headers()["location"].to_str().unwrap_or_default().to_owned();
    let setup = browser.follow(to_setup).await;

    assert_eq!(no_address.status, StatusCode::BAD_REQUEST, "a mailed code needs a verified address");
    assert!(no_address.body.contains("確認済みのメールアドレスが必要です"), "{}", no_address.body);
    assert!(
        location.contains("kc_action=CONFIGURE_TOTP") && location.contains("client_id=account-console"),
        "{location}"
    );
    assert!(setup.body.contains("ワンタイムパスワードの設定"), "{}", setup.body);
}

async fn deleting_an_app_asks_again_then_names_the_device_and_deletes_only_it(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let (seed_a, seed_b) = (TotpSeed::new(SEED_A), TotpSeed::new(SEED_B));
    let iphone = app_for(&kenpo, &kenpo.taro.id, &seed_a, "iPhone").await;
    let ipad = app_for(&kenpo, &kenpo.taro.id, &seed_b, "iPad").await;
    let browser = Member::new(&kenpo, CHROME_WINDOWS);
    let listed = signed_in_at(&kenpo, &browser, "/signing-in", Some(&seed_a)).await;
    let delete_links = listed.all_attrs("#devices-otp a.delete", "href");
    assert_eq!(listed.text("#devices-otp .device-name"), "iPhone iPad", "{}", listed.body);
    kenpo.advance(Duration::minutes(10));

    // Outside the re-authentication window: the password and the app again, then the page.
    let reauth = browser.get(&delete_links[0]).await;
    assert!(reauth.body.contains("続行するには再度認証してください。"), "{}", reauth.body);
    // The first device is the one picked by default.
    let confirm =
        browser.log_in(&kenpo, reauth, kenpo.taro.username, kenpo.taro.password, Some(&seed_a)).await;
    assert_eq!(confirm.text("#delete-label"), "iPhone", "{}", confirm.body);
    assert_eq!(confirm.text("#delete-kind"), "認証アプリ");
    assert!(confirm.body.contains("スマートデバイス削除確認") && confirm.body.contains("削除する"));
    let (action, mut fields) = confirm.form("form#kc-delete-credential-form");
    fields.insert("cancel-aia".to_owned(), "true".to_owned());
    let kept = browser.post(&action, &fields).await;
    assert_eq!(
        credentials(&kenpo, &kenpo.taro.id).await.iter().filter(|c| c.user_label.is_some()).count(),
        2
    );
    assert!(kept.url.contains("/signing-in"), "「戻る」 goes back: {}", kept.url);

    // Within the window now: straight to the page.
    let confirm = browser.get(&delete_links[0]).await;
    let (action, fields) = confirm.form("form#kc-delete-credential-form");
    let done = browser.post(&action, &fields).await;

    let left: Vec<_> = credentials(&kenpo, &kenpo.taro.id).await.into_iter().map(|c| c.id).collect();
    assert!(!left.contains(&iphone.id) && left.contains(&ipad.id), "only that one: {left:?}");
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(done.text("#devices-otp .device-name"), "iPad", "{}", done.body);
    assert!(done.body.contains("スマートデバイスを削除しました。"));
    let query = EventQuery { types: vec![EventType::RemoveCredential], max: 10, ..EventQuery::default() };
    let events = kenpo.app.state.db.events(&kenpo.realm.id, &query).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].details.get("credential_id"), Some(&iphone.id));
}

async fn another_members_credential_and_the_password_cannot_be_deleted(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let hanakos = app_for(&kenpo, &kenpo.hanako.id, &TotpSeed::new(SEED_B), "Hanako").await;
    let password = credentials(&kenpo, &kenpo.taro.id).await.into_iter().find(|c| c.user_label.is_none());
    let password = password.unwrap_or_else(|| panic!("taro's password"));
    let browser = Member::new(&kenpo, CHROME_WINDOWS);
    signed_in_at(&kenpo, &browser, "", None).await;
    // Signed in; an address that mailed codes could go to.
    let mut taro = user(&kenpo, &kenpo.taro.id).await;
    taro.email = Some(Email::parse("taro@example.jp").unwrap_or_else(|e| panic!("{e}")));
    taro.email_verified = true;
    kenpo.app.state.db.save_member(&taro).await.unwrap_or_else(|e| panic!("{e}"));
    let listed = browser.get(&account("/signing-in")).await;

    let theirs = browser
        .get(&format!(
            "{}?kc_action=delete_credential:{}&return={}",
            account("/action"),
            hanakos.id,
            account("/signing-in")
        ))
        .await;
    let own_password = browser
        .get(&format!(
            "{}?kc_action=delete_credential:{}&return={}",
            account("/action"),
            password.id,
            account("/signing-in")
        ))
        .await;

    assert_eq!(theirs.status, StatusCode::BAD_REQUEST, "{}", theirs.body);
    assert!(theirs.body.contains("削除するデバイスが見つかりません"));
    assert_eq!(own_password.status, StatusCode::BAD_REQUEST);
    assert_eq!(credentials(&kenpo, &kenpo.hanako.id).await.len(), 2, "hanako keeps her password and app");
    assert_eq!(credentials(&kenpo, &kenpo.taro.id).await.len(), 1);
    assert!(listed.text("#account-email-otp").contains("taro@example.jp"), "{}", listed.body);
    assert!(listed.all_attrs("a.delete", "href").is_empty(), "a mailed code has no 「削除」");
}

async fn the_sessions_page_signs_one_session_out_with_back_channel_logout(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let state = &kenpo.app.state;
    let rp2 = ClientSpec {
        client_id: RP2.to_owned(),
        name: None,
        confidential: true,
        secret: Some(SecretString::from(RP2_SECRET)),
        redirect_uris: vec![RP2_REDIRECT.to_owned()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: Some("https://rp2.example.test/backchannel".to_owned()),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        pkce_required: false,
        signing_alg: Algorithm::ES256,
        jwks: None,
        rotate_refresh_tokens: true,
        audiences: vec![],
    };
    clients::create(&state.db, &state.master_key, &kenpo.realm, rp2, kenpo.app.clock.now())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The phone signs in to the other client and holds its refresh token.
    let phone = Member::new(&kenpo, SAFARI_IPHONE);
    let login = phone
        .get(&format!(
            "/realms/{REALM}/protocol/openid-connect/auth?response_type=code&client_id={RP2}&redirect_uri={RP2_REDIRECT}&scope=openid&state=s"
        ))
        .await;
    let back = phone.log_in(&kenpo, login, kenpo.taro.username, kenpo.taro.password, None).await;
    let code = reqwest::Url::parse(&back.url)
        .unwrap_or_else(|e| panic!("{}: {e}", back.url))
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code: {}", back.url));
    let token_url = kenpo.app.url(&format!("/realms/{REALM}/protocol/openid-connect/token"));
    let tokens: serde_json::Value = kenpo
        .app
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", RP2_REDIRECT),
            ("client_id", RP2),
            ("client_secret", RP2_SECRET),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refresh_token = tokens["refresh_token"].as_str().unwrap_or_else(|| panic!("{tokens}")).to_owned();
    let pc = Member::new(&kenpo, CHROME_WINDOWS);
    let page = signed_in_at(&kenpo, &pc, "/device-activity", None).await;

    let devices = page.text(".device-name");
    let action = page.attr("#account-sessions form", "action");
    let mut fields = BTreeMap::new();
    fields.insert("csrf_token".to_owned(), page.attr("input[name=csrf_token]", "value"));
    let phone_form = page
        .html()
        .select(&Selector::parse("li.device").unwrap_or_else(|e| panic!("{e:?}")))
        .find(|li| li.text().collect::<String>().contains("iPhone"))
        .and_then(|li| {
            li.select(&Selector::parse("input[name=session]").unwrap_or_else(|e| panic!("{e:?}")))
                .next()
                .and_then(|i| i.value().attr("value").map(str::to_owned))
        })
        .unwrap_or_else(|| panic!("no phone session in {}", page.body));
    fields.insert("session".to_owned(), phone_form.clone());
    let after = pc.post(&action, &fields).await;
    let refreshed = kenpo
        .app
        .http
        .post(&token_url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", RP2),
            ("client_secret", RP2_SECRET),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert!(devices.contains("Chrome / Windows") && devices.contains("Safari / iPhone"), "{devices}");
    assert!(devices.contains("この端末"), "this device is marked: {devices}");
    assert!(page.body.contains("127.0.0.1"), "the place is the IP address");
    assert_eq!(after.status, StatusCode::OK);
    assert!(!after.text(".device-name").contains("iPhone"), "{}", after.body);
    assert!(state.db.session_by_id(&phone_form).await.unwrap_or_else(|e| panic!("{e}")).is_none());
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST, "its refresh token stops working");
    let later = kenpo.app.clock.now() + Duration::days(1);
    let queued = state.db.due_logouts(later, 100).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(queued.iter().any(|d| d.client_id == RP2), "the other client is told: {queued:?}");
    let still = pc.get_once(&account("/device-activity")).await;
    assert_eq!(still.status(), StatusCode::OK, "this browser stays signed in");
}

async fn forms_without_the_sessions_csrf_token_are_refused(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let browser = Member::new(&kenpo, CHROME_WINDOWS);
    let page = signed_in_at(&kenpo, &browser, "/device-activity", None).await;
    let own = page.all_attrs("input[name=session]", "value");
    let mut fields = BTreeMap::new();
    fields.insert("username".to_owned(), "newname-123".to_owned());
    fields.insert("locale".to_owned(), "en".to_owned());
    fields.insert("authMethod".to_owned(), "otp".to_owned());

    let profile = browser.post_once(&account(""), &fields).await;
    fields.insert("csrf_token".to_owned(), "forged".to_owned());
    fields.insert("session".to_owned(), own[0].clone());
    let sign_out = browser.post_once(&account("/device-activity"), &fields).await;

    assert_eq!(profile.status(), StatusCode::FORBIDDEN);
    assert_eq!(sign_out.status(), StatusCode::FORBIDDEN);
    assert_eq!(user(&kenpo, &kenpo.taro.id).await.username.as_str(), kenpo.taro.username);
    assert!(kenpo.app.state.db.session_by_id(&own[0]).await.unwrap_or_else(|e| panic!("{e}")).is_some());
}

async fn the_portal_link_goes_only_to_a_registered_clients_origin(app: TestApp) {
    let kenpo = Kenpo::new(app, BruteForcePolicy::default()).await;
    let browser = Member::new(&kenpo, CHROME_WINDOWS);
    signed_in_at(&kenpo, &browser, "", None).await;

    let portal =
        browser.get(&account("?referrer=portal&referrer_uri=https%3A%2F%2Frp.example.test%2Fhome")).await;
    let origin_only = browser.get(&account("?referrer=portal")).await;
    let foreign = browser.get(&account("?referrer=portal&referrer_uri=https%3A%2F%2Fevil.example%2F")).await;
    let unknown =
        browser.get(&account("?referrer=nobody&referrer_uri=https%3A%2F%2Frp.example.test%2F")).await;
    let none = browser.get(&account("")).await;

    assert_eq!(portal.attr("a#account-portal", "href"), "https://rp.example.test/home");
    assert!(
        portal.attr("a[aria-current=page]", "href").contains("referrer=portal"),
        "the link survives navigation"
    );
    assert_eq!(origin_only.attr("a#account-portal", "href"), "https://rp.example.test/");
    for page in [&foreign, &unknown, &none] {
        assert!(page.all_attrs("a#account-portal", "href").is_empty(), "{}", page.url);
    }
}
