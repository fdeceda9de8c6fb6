//! A member walking through the hosted pages: one browser, one authorization request, the page
//! they are on. Each step submits the form on the page and follows the IdP's own redirects.

use super::{AuthRequest, Browser, Idp, Page};
use kenpo_idp::store::{Event, EventQuery, EventStore, EventType, TermsStore, User, UserStore};
use reqwest::StatusCode;

pub struct Journey<'a> {
    pub idp: &'a Idp,
    pub browser: Browser,
    pub request: AuthRequest,
    pub page: Page,
}

impl<'a> Journey<'a> {
    /// A fresh browser at the login page of the suite's client.
    pub async fn open(idp: &'a Idp) -> Self {
        let browser = idp.browser();
        let request = idp.auth_request();
        let page = browser.authorize(&request).await;
        Self { idp, browser, request, page }
    }

    /// Opens the login page and logs in with `username` and `password`.
    pub async fn log_in(idp: &'a Idp, username: &str, password: &str) -> Self {
        let mut journey = Self::open(idp).await;
        journey.submit("form#kc-form-login", &[("username", username), ("password", password)]).await;
        journey
    }

    /// Submits the form `css` of the current page with `fields`.
    pub async fn submit(&mut self, css: &str, fields: &[(&str, &str)]) -> &Page {
        let form = self.page.form(css);
        self.page = self.browser.submit_and_follow(&form, fields).await;
        &self.page
    }

    /// Loads the current page again (the manual's "reload").
    pub async fn reload(&mut self) -> &Page {
        self.page = self.browser.get(self.page.url.as_str()).await;
        if self.page.status == StatusCode::SEE_OTHER {
            self.page = self.browser.follow(&self.page).await;
        }
        &self.page
    }

    /// Asserts the member is on the step whose heading is `heading`.
    pub fn on(&self, heading: &str) {
        assert_eq!(
            self.page.heading(),
            heading,
            "expected the page 「{heading}」, got {} {}:\n{}",
            self.page.status,
            self.page.url,
            super::browser::excerpt(&self.page.body)
        );
    }

    /// On 「ワンタイムパスワードの設定」: the app scans the QR code, and its code goes back with
    /// the device name `label`.
    pub async fn set_up_app(&mut self, label: &str) -> super::AuthenticatorApp {
        self.on("ワンタイムパスワードの設定");
        let app = super::AuthenticatorApp::scan(&self.page);
        let code = app.code_at(self.idp.now());
        self.submit("form#kc-totp-settings-form", &[("totp", &code), ("userLabel", label)]).await;
        app
    }

    /// On 「ワンタイムパスワード」 after the password: sends the code `app` shows now.
    pub async fn enter_app_code(&mut self, app: &super::AuthenticatorApp) -> &Page {
        self.on("ワンタイムパスワード");
        let code = app.code_at(self.idp.now());
        self.submit("form#kc-otp-login-form", &[("otp", &code)]).await
    }

    /// Asserts the current page refused the input with exactly these messages.
    pub fn refused_with(&self, messages: &[&str]) {
        assert_eq!(self.page.status, StatusCode::BAD_REQUEST, "{}", super::browser::excerpt(&self.page.body));
        assert_eq!(self.page.errors(), messages);
    }

    /// Asserts the login ended at the client with a code.
    pub fn reached_client(&self) -> super::browser::Callback {
        self.idp.check_callback(&self.page, &self.request)
    }
}

impl Idp {
    /// Imports members from a kenpo member list, as `kenpo-idp import-members` does.
    pub async fn import_members(&self, lines: &[&str]) {
        let csv = format!(
            "username,temporary_password,display_name,birthdate,email,relationship\n{}\n",
            lines.join("\n")
        );
        kenpo_idp::flows::import_members::import(&self.state.db, &self.realm, csv.as_bytes(), self.now())
            .await
            .unwrap_or_else(|e| panic!("import: {e:?}"));
    }

    pub async fn publish_terms(&self, body_ja: &str, body_en: &str) -> i64 {
        self.state
            .db
            .publish_terms(&self.realm.id, body_ja, body_en, self.now())
            .await
            .unwrap_or_else(|e| panic!("publishing terms: {e}"))
            .version
    }

    /// The member with this user ID (or 仮ID), as stored now.
    pub async fn user(&self, username: &str) -> User {
        let name = kenpo_idp::domain::Username::parse_issued(username).unwrap_or_else(|e| panic!("{e}"));
        self.state
            .db
            .user_by_id_or_issued(&self.realm.id, &name)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no member {username}"))
    }

    pub async fn save(&self, user: &User) {
        self.state.db.save_member(user).await.unwrap_or_else(|e| panic!("saving the member: {e}"));
    }

    /// The realm's events of `kind` once there are at least `n` (work done after the answer, in
    /// the background, records its event a little later); fails after ten seconds.
    pub async fn wait_for_events(&self, kind: EventType, n: usize) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let events = self.events(kind).await;
            if events.len() >= n {
                return events;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{n} {kind:?} event(s) expected, {} recorded",
                events.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The realm's events of `kind`, newest first.
    pub async fn events(&self, kind: EventType) -> Vec<Event> {
        let query = EventQuery { types: vec![kind], max: 1000, ..EventQuery::default() };
        self.state.db.events(&self.realm.id, &query).await.unwrap_or_else(|e| panic!("events: {e}"))
    }
}

/// The first link to `path` in the mail's text part (where the manual needs the full URL).
pub fn link_in(mail: &super::Received, path: &str) -> String {
    let parsed = mail.parsed();
    let text =
        parsed.part("text/plain").unwrap_or_else(|| panic!("no text part in the mail:\n{}", mail.data));
    text.split_whitespace()
        .find(|word| word.starts_with("http") && word.contains(path))
        .unwrap_or_else(|| panic!("no link to {path} in the mail's text part:\n{text}"))
        .to_owned()
}
