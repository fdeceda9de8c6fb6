//! The user agent: a cookie jar that follows no redirect by itself, so every hop the IdP asks
//! for can be looked at (is it a redirect, to where, with which parameters).

use super::TestClient;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use scraper::{Html, Selector};
use std::collections::HashMap;
use url::Url;

const AUTH: &str = "/protocol/openid-connect/auth";
const LOGOUT: &str = "/protocol/openid-connect/logout";

/// An authorization request's parameters, in the order they are sent.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    params: Vec<(String, String)>,
}

impl AuthRequest {
    /// `response_type=code`, the client's id and registered redirect URI, `scope=openid`, and a
    /// fresh `state` and `nonce`.
    pub fn for_client(client: &TestClient) -> Self {
        let (state, nonce) = (shared_crypto::random::token(), shared_crypto::random::token());
        let params = [
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("scope", "openid"),
            ("state", &state),
            ("nonce", &nonce),
        ];
        Self { params: params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect() }
    }

    /// Sets `name` (replacing it where it stands, or appending it).
    #[must_use]
    pub fn set(mut self, name: &str, value: &str) -> Self {
        match self.params.iter_mut().find(|(k, _)| k == name) {
            Some(param) => param.1 = value.to_owned(),
            None => self.params.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    #[must_use]
    pub fn without(mut self, name: &str) -> Self {
        self.params.retain(|(k, _)| k != name);
        self
    }

    /// The same parameters in the opposite order.
    #[must_use]
    pub fn reversed(mut self) -> Self {
        self.params.reverse();
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A parameter the test knows it set.
    pub fn param(&self, name: &str) -> &str {
        self.get(name).unwrap_or_else(|| panic!("the request has no {name}"))
    }

    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }
}

/// One response, read whole.
#[derive(Debug)]
pub struct Page {
    /// Where the request went (to resolve relative links and form actions).
    pub url: Url,
    pub status: StatusCode,
    pub location: Option<String>,
    pub content_type: String,
    /// Every `Set-Cookie` header, as sent.
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    async fn read(response: reqwest::Response) -> Self {
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let location = header(LOCATION);
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let set_cookies = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let (url, status) = (response.url().clone(), response.status());
        let body = response.text().await.unwrap_or_else(|e| panic!("reading {url}: {e}"));
        Self { url, status, location, content_type, set_cookies, body }
    }

    pub fn is_html(&self) -> bool {
        self.content_type.starts_with("text/html")
    }

    /// The target of a 302 or 303, resolved against this page.
    pub fn redirect_target(&self) -> Url {
        assert!(
            matches!(self.status, StatusCode::FOUND | StatusCode::SEE_OTHER),
            "expected a 302 or 303 redirect from {}, got {} with body:\n{}",
            self.url,
            self.status,
            excerpt(&self.body)
        );
        let location =
            self.location.as_deref().unwrap_or_else(|| panic!("a {} without Location", self.status));
        self.url.join(location).unwrap_or_else(|e| panic!("Location {location:?}: {e}"))
    }

    /// The login form (`form#kc-form-login`), if this page is a login page.
    pub fn find_login_form(&self) -> Option<LoginForm> {
        if self.status != StatusCode::OK || !self.is_html() {
            return None;
        }
        let html = Html::parse_document(&self.body);
        let form = html.select(&selector("form#kc-form-login")).next()?;
        let method = form.value().attr("method").unwrap_or("get");
        assert!(method.eq_ignore_ascii_case("post"), "the login form must post, not {method}");
        let action = form.value().attr("action").unwrap_or_else(|| panic!("the login form has no action"));
        let action = self.url.join(action).unwrap_or_else(|e| panic!("form action {action:?}: {e}"));
        let hidden = form
            .select(&selector("input[type=hidden]"))
            .filter_map(|input| {
                let name = input.value().attr("name")?;
                Some((name.to_owned(), input.value().attr("value").unwrap_or_default().to_owned()))
            })
            .collect();
        let has_field = |name: &str| form.select(&selector(&format!("input[name={name}]"))).next().is_some();
        assert!(has_field("username") && has_field("password"), "the login form lacks username or password");
        Some(LoginForm { action, hidden })
    }

    /// The login form, which this page must be.
    pub fn login_form(&self) -> LoginForm {
        self.find_login_form().unwrap_or_else(|| {
            panic!(
                "expected the login page (200 HTML with form#kc-form-login) from {}, got {} {:?} Location {:?}:\n{}",
                self.url,
                self.status,
                self.content_type,
                self.location,
                excerpt(&self.body)
            )
        })
    }

    /// The form `css` selects (`form#kc-…`): where it posts and its hidden inputs.
    pub fn form(&self, css: &str) -> LoginForm {
        let html = Html::parse_document(&self.body);
        let form = html.select(&selector(css)).next().unwrap_or_else(|| {
            panic!("no {css} on {} ({}):\n{}", self.url, self.status, excerpt(&self.body))
        });
        let action = form.value().attr("action").unwrap_or_else(|| panic!("{css} has no action"));
        let action = self.url.join(action).unwrap_or_else(|e| panic!("form action {action:?}: {e}"));
        let hidden = form
            .select(&selector("input[type=hidden]"))
            .filter_map(|input| {
                let name = input.value().attr("name")?;
                Some((name.to_owned(), input.value().attr("value").unwrap_or_default().to_owned()))
            })
            .collect();
        LoginForm { action, hidden }
    }

    /// The `href` of the link `css` selects, resolved against this page.
    pub fn link(&self, css: &str) -> Url {
        let html = Html::parse_document(&self.body);
        let href = html
            .select(&selector(css))
            .next()
            .and_then(|a| a.value().attr("href").map(str::to_owned))
            .unwrap_or_else(|| panic!("no link {css} on {}:\n{}", self.url, excerpt(&self.body)));
        self.url.join(&href).unwrap_or_else(|e| panic!("href {href:?}: {e}"))
    }

    /// The attribute `name` of the element `css` selects, entities decoded.
    pub fn attr(&self, css: &str, name: &str) -> String {
        let html = Html::parse_document(&self.body);
        let element = html
            .select(&selector(css))
            .next()
            .unwrap_or_else(|| panic!("no {css} on {}:\n{}", self.url, excerpt(&self.body)));
        element.value().attr(name).unwrap_or_else(|| panic!("{css} has no {name}")).to_owned()
    }

    /// The text of the element `css` selects, trimmed.
    pub fn text(&self, css: &str) -> String {
        let html = Html::parse_document(&self.body);
        let element = html
            .select(&selector(css))
            .next()
            .unwrap_or_else(|| panic!("no {css} on {}:\n{}", self.url, excerpt(&self.body)));
        element.text().collect::<String>().trim().to_owned()
    }

    /// The radio buttons named `name`: value, the text of their label, and whether checked.
    pub fn radios(&self, name: &str) -> Vec<(String, String, bool)> {
        let html = Html::parse_document(&self.body);
        html.select(&selector(&format!("input[type=radio][name=\"{name}\"]")))
            .map(|input| {
                let id = input.value().attr("id").unwrap_or_else(|| panic!("a radio without an id"));
                let label = html
                    .select(&selector(&format!("label[for=\"{id}\"]")))
                    .next()
                    .map(|l| l.text().collect::<String>().trim().to_owned())
                    .unwrap_or_else(|| panic!("radio {id} has no label"));
                let value = input.value().attr("value").unwrap_or_default().to_owned();
                (value, label, input.value().attr("checked").is_some())
            })
            .collect()
    }

    /// The value of the input named `name`, entities decoded.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let html = Html::parse_document(&self.body);
        let input = html.select(&selector(&format!("input[name=\"{name}\"]"))).next()?;
        input.value().attr("value").map(str::to_owned)
    }

    /// The text of the page's `<h1>`.
    pub fn heading(&self) -> String {
        let html = Html::parse_document(&self.body);
        html.select(&selector("h1")).next().map(|h| h.text().collect::<String>()).unwrap_or_default()
    }

    /// The texts of the error messages on the page (`.error`), without their "エラー：" label.
    pub fn errors(&self) -> Vec<String> {
        let html = Html::parse_document(&self.body);
        html.select(&selector(".error"))
            .map(|e| {
                let label: String = e.select(&selector(".error-label")).flat_map(|l| l.text()).collect();
                let text: String = e.text().collect();
                text.trim_start_matches(label.as_str()).trim().to_owned()
            })
            .collect()
    }

    /// `<html lang="…">`.
    pub fn html_lang(&self) -> Option<String> {
        let html = Html::parse_document(&self.body);
        let root = html.select(&selector("html")).next()?;
        root.value().attr("lang").map(str::to_owned)
    }
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css:?}: {e}"))
}

/// The start of a body, for failure messages.
pub fn excerpt(body: &str) -> String {
    body.chars().take(600).collect()
}

/// What the login page asks to post back: its action and every hidden input (the CSRF token
/// among them).
#[derive(Debug, Clone)]
pub struct LoginForm {
    pub action: Url,
    pub hidden: Vec<(String, String)>,
}

/// The redirect back to the client: `redirect_uri?code=…&state=…&iss=…` or `?error=…`.
#[derive(Debug, Clone)]
pub struct Callback {
    pub url: Url,
    params: HashMap<String, String>,
}

impl Callback {
    /// Reads the redirect `page` makes, which must go to `redirect_uri` exactly (plus a query).
    pub fn from_page(page: &Page, redirect_uri: &str) -> Self {
        Self::from_url(page.redirect_target(), redirect_uri)
    }

    /// Reads a redirect `url` (as a real browser's address bar shows it) to `redirect_uri`.
    pub fn from_url(url: Url, redirect_uri: &str) -> Self {
        let location = url.as_str();
        let (base, query) = location.split_once('?').unwrap_or((location, ""));
        assert_eq!(base, redirect_uri, "the IdP redirected somewhere else than the redirect URI");
        assert!(url.fragment().is_none(), "the default response mode is query, not fragment: {url}");
        let mut params = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let previous = params.insert(k.to_string(), v.to_string());
            assert!(previous.is_none(), "{k} appears twice in {url}");
        }
        Self { url, params }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn code(&self) -> &str {
        self.get("code").unwrap_or_else(|| panic!("no code in {}", self.url))
    }

    pub fn param_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// A user agent with its own cookie jar.
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
    issuer: String,
}

impl Browser {
    pub fn new(issuer: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("browser: {e}"));
        Self { http, issuer: issuer.to_owned() }
    }

    /// `GET` the authorization endpoint with `request` in the query.
    pub async fn authorize(&self, request: &AuthRequest) -> Page {
        let url = format!("{}{AUTH}", self.issuer);
        self.send(self.http.get(&url).query(request.params())).await
    }

    /// `POST` the authorization endpoint with `request` as a form.
    pub async fn authorize_post(&self, request: &AuthRequest) -> Page {
        let url = format!("{}{AUTH}", self.issuer);
        self.send(self.http.post(&url).form(request.params())).await
    }

    /// Posts the login form with extra fields (such as `rememberMe`).
    pub async fn submit_login_with(
        &self,
        form: &LoginForm,
        username: &str,
        password: &str,
        extra: &[(&str, &str)],
    ) -> Page {
        let mut fields = form.hidden.clone();
        fields.push(("username".to_owned(), username.to_owned()));
        fields.push(("password".to_owned(), password.to_owned()));
        fields.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.send(self.http.post(form.action.clone()).form(&fields)).await
    }

    /// Posts the login form as a person would fill it in.
    pub async fn submit_login(&self, form: &LoginForm, username: &str, password: &str) -> Page {
        let mut fields = form.hidden.clone();
        fields.push(("username".to_owned(), username.to_owned()));
        fields.push(("password".to_owned(), password.to_owned()));
        self.send(self.http.post(form.action.clone()).form(&fields)).await
    }

    /// `GET` any URL, with the browser's cookies.
    pub async fn get(&self, url: &str) -> Page {
        self.send(self.http.get(url)).await
    }

    /// Follows the 302/303 `page` answered with.
    pub async fn follow(&self, page: &Page) -> Page {
        self.get(page.redirect_target().as_str()).await
    }

    /// Posts `form` with its hidden inputs and `fields`, as a person would fill it in.
    pub async fn submit(&self, form: &LoginForm, fields: &[(&str, &str)]) -> Page {
        let mut all = form.hidden.clone();
        all.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.send(self.http.post(form.action.clone()).form(&all)).await
    }

    /// Submits `form` and, while the answer is a redirect within the IdP, follows it (a step
    /// done may lead through the steps' page to the second factor's).
    pub async fn submit_and_follow(&self, form: &LoginForm, fields: &[(&str, &str)]) -> Page {
        let mut page = self.submit(form, fields).await;
        for _ in 0..5 {
            let within = page.status == StatusCode::SEE_OTHER
                && page.redirect_target().as_str().starts_with(&self.issuer);
            if !within {
                break;
            }
            page = self.follow(&page).await;
        }
        page
    }

    /// `GET` the end-session endpoint with `params`.
    pub async fn logout(&self, params: &[(&str, &str)]) -> Page {
        let url = format!("{}{LOGOUT}", self.issuer);
        self.send(self.http.get(&url).query(params)).await
    }

    /// `GET` a download: its status, content type and bytes (a PDF is not text).
    pub async fn download(&self, url: &str) -> (StatusCode, String, Vec<u8>) {
        let response = self.http.get(url).send().await.unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status();
        let content_type =
            response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = response.bytes().await.unwrap_or_else(|e| panic!("reading {url}: {e}"));
        (status, content_type, bytes.to_vec())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let response = request.send().await.unwrap_or_else(|e| panic!("request failed: {e}"));
        Page::read(response).await
    }
}

impl Browser {
    /// Posts `form` as `multipart/form-data`, as a browser sends a file upload: its hidden
    /// inputs, then `fields`, then one file (`file_field`, named `file_name`, with a content
    /// type the browser guessed from the name, which the server must not trust).
    pub async fn submit_file(
        &self,
        form: &LoginForm,
        fields: &[(&str, &str)],
        file_field: &str,
        file_name: &str,
        content: &[u8],
    ) -> Page {
        let boundary = format!("----kenpo{}", uuid::Uuid::new_v4().simple());
        let mut body = Vec::new();
        let text_fields =
            form.hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(fields.iter().copied());
        for (name, value) in text_fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let claimed =
            if file_name.ends_with(".pdf") { "application/pdf" } else { "application/octet-stream" };
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: {claimed}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = self
            .http
            .post(form.action.clone())
            .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(request).await
    }
}
