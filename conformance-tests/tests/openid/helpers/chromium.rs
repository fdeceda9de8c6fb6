//! A real headless Chromium, driven over the DevTools protocol: the pages as a member's phone
//! shows them (375 × 812 CSS px, touch, Japanese), checked with axe-core.
//!
//! Chromium is `KENPO_CHROMIUM` or `/usr/bin/chromium`; axe-core is `AXE_CORE_JS` or where
//! `.ci/run` puts it ([`AXE_DEFAULT`]). Without either a developer's run skips the browser tests
//! with a note; under CI they must be there.

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::fetch::{
    self, EventRequestPaused, FulfillRequestParams, HeaderEntry, RequestPattern, RequestStage,
};
use chromiumoxide::cdp::browser_protocol::web_authn::{
    self, AddVirtualAuthenticatorParams, AuthenticatorId, AuthenticatorProtocol, AuthenticatorTransport,
    GetCredentialsParams, RemoveVirtualAuthenticatorParams, SetUserVerifiedParams,
    VirtualAuthenticatorOptions,
};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::{Binary, Page};
use futures::StreamExt;
use serde::Deserialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Where `.ci/run` installs axe-core.
pub const AXE_DEFAULT: &str = "/var/tmp/kenpo-tools/axe-core-4.10.3/axe.min.js";
/// The width of the phone the pages are checked on.
pub const PHONE_WIDTH: u32 = 375;
/// Any one browser step longer than this is a hang, not a slow page.
const STEP: Duration = Duration::from_secs(30);
/// The WCAG 2.2 A/AA rules and axe's best practices.
const AXE_TAGS: &str = r#"["wcag2a","wcag2aa","wcag21a","wcag21aa","wcag22aa","best-practice"]"#;

/// Runs one browser step, or fails the test after [`STEP`].
async fn step<T, E: std::fmt::Display>(what: &str, work: impl Future<Output = Result<T, E>>) -> T {
    match tokio::time::timeout(STEP, work).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("chromium: {what}: {e}"),
        Err(_) => panic!("chromium: {what}: no answer in {STEP:?}"),
    }
}

/// One headless Chromium with a profile of its own (tests run side by side).
#[derive(Debug)]
pub struct Chromium {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    axe: Arc<String>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Starts Chromium, or returns `None` (after saying why) when a developer's machine lacks
    /// Chromium or axe-core; panics under CI.
    pub async fn launch() -> Option<Self> {
        let executable = std::env::var("KENPO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        if !std::path::Path::new(&executable).exists() {
            shared_runtime::testing::unavailable("Chromium", &format!("{executable} does not exist"));
            return None;
        }
        let axe_path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| AXE_DEFAULT.to_owned());
        let axe = match std::fs::read_to_string(&axe_path) {
            Ok(source) => source,
            Err(e) => {
                shared_runtime::testing::unavailable("axe-core", &format!("{axe_path}: {e}"));
                return None;
            }
        };
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("chromium profile: {e}"));
        let phone = Viewport {
            width: PHONE_WIDTH,
            height: 812,
            device_scale_factor: Some(2.0),
            emulating_mobile: true,
            is_landscape: false,
            has_touch: true,
        };
        let config = BrowserConfig::builder()
            .chrome_executable(&executable)
            .disable_default_args()
            .no_sandbox()
            .user_data_dir(profile.path())
            .viewport(phone)
            .args([
                "disable-gpu",
                "disable-background-networking",
                "disable-component-update",
                "no-first-run",
                "disable-sync",
                "disable-dev-shm-usage",
                "lang=ja",
                "accept-lang=ja",
            ])
            .build()
            .unwrap_or_else(|e| panic!("chromium configuration: {e}"));
        let (browser, mut handler) = step("launch", Browser::launch(config)).await;
        // The handler drives the connection; an event this version cannot parse is not fatal.
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Some(Self { browser, handler, axe: Arc::new(axe), _profile: profile })
    }

    /// A new tab on `about:blank`.
    pub async fn tab(&self) -> Tab {
        let page = step("new tab", self.browser.new_page("about:blank")).await;
        Tab { page, axe: Arc::clone(&self.axe) }
    }

    /// Closes the browser and waits for its process to end.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(STEP, self.browser.close()).await;
        let _ = tokio::time::timeout(STEP, self.browser.wait()).await;
        self.handler.abort();
    }
}

/// One axe-core finding.
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    /// CSS selectors of the offending elements.
    pub nodes: Vec<String>,
}

impl Violation {
    /// Serious or critical: what the accessibility check refuses.
    pub fn is_blocking(&self) -> bool {
        matches!(self.impact.as_deref(), Some("serious" | "critical"))
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let impact = self.impact.as_deref().unwrap_or("?");
        write!(f, "{} ({impact}): {} at {}", self.id, self.help, self.nodes.join(", "))
    }
}

/// The page's width against the phone's, in CSS px.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Widths {
    /// The layout viewport: [`PHONE_WIDTH`] only when the page asks for `width=device-width`
    /// and nothing on it is wider (a phone zooms such a page out, widening the viewport).
    pub viewport: f64,
    /// How wide the content is; wider than the phone means horizontal scrolling.
    pub content: f64,
}

/// A browser tab.
#[derive(Debug)]
pub struct Tab {
    page: Page,
    axe: Arc<String>,
}

impl Tab {
    pub async fn goto(&self, url: &str) {
        self.mark_document().await;
        step(&format!("open {url}"), self.page.goto(url)).await;
        self.wait_for_new_document(&format!("opening {url}")).await;
    }

    /// The value of a JavaScript expression, awaited when it is a promise.
    pub async fn eval<T: serde::de::DeserializeOwned>(&self, expression: &str) -> T {
        let params = EvaluateParams::builder()
            .expression(expression)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .unwrap_or_else(|e| panic!("evaluate {expression:.60}: {e}"));
        let result = step(&format!("evaluate {expression:.60}"), self.page.evaluate_expression(params)).await;
        result.into_value().unwrap_or_else(|e| panic!("evaluate {expression:.60}: {e}"))
    }

    pub async fn url(&self) -> String {
        step("url", self.page.url()).await.unwrap_or_default()
    }

    /// The text of the page's `<h1>`.
    pub async fn heading(&self) -> String {
        self.eval("document.querySelector('h1')?.innerText ?? ''").await
    }

    /// The visible text of the element `css` (empty when there is none).
    pub async fn text_of(&self, css: &str) -> String {
        let selector = serde_json::to_string(css).unwrap_or_default();
        self.eval(&format!("(document.querySelector({selector})?.innerText ?? '').trim()")).await
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.eval("document.body.innerText").await
    }

    /// Types `value` into the field `css`, as a member would, after clearing it.
    pub async fn fill(&self, css: &str, value: &str) {
        let selector = serde_json::to_string(css).unwrap_or_default();
        let cleared: bool = self
            .eval(&format!("(e => !!e && (e.value = '', true))(document.querySelector({selector}))"))
            .await;
        assert!(cleared, "no field {css} on {}", self.url().await);
        let field = step(&format!("find {css}"), self.page.find_element(css)).await;
        step(&format!("focus {css}"), field.focus()).await;
        step(&format!("type into {css}"), field.type_str(value)).await;
    }

    /// Taps the button or link `css`, which must be on top where it is drawn (not covered, not
    /// off the page), and waits for the next page to load.
    pub async fn click(&self, css: &str) {
        let url = self.url().await;
        self.mark_document().await;
        // The click is dispatched after this script returns: a navigation it starts must not
        // race the answer (the DevTools mouse events can hang when their page goes away).
        let tap = format!(
            "(e => {{
               if (!e) return 'missing';
               e.scrollIntoView({{ block: 'center' }});
               const r = e.getBoundingClientRect();
               const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
               if (!hit || !(hit === e || e.contains(hit))) return 'covered by ' + (hit ? hit.outerHTML.slice(0, 80) : 'nothing');
               setTimeout(() => e.click(), 0);
               return 'tapped';
             }})(document.querySelector({}))",
            serde_json::to_string(css).unwrap_or_default()
        );
        let tapped: String = self.eval(&tap).await;
        assert_eq!(tapped, "tapped", "{css} on {url}");
        self.wait_for_new_document(&format!("clicking {css} on {url}")).await;
    }

    /// Marks the current document, so that [`Tab::wait_for_new_document`] can tell it from
    /// the next one.
    async fn mark_document(&self) {
        self.eval::<bool>("(window.__kenpoPage = true)").await;
    }

    /// Waits until a document without the mark has finished loading, at most [`STEP`].
    async fn wait_for_new_document(&self, what: &str) {
        let loaded = async {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let check = self
                    .page
                    .evaluate_expression("document.readyState === 'complete' && !window.__kenpoPage");
                let answer = tokio::time::timeout(Duration::from_secs(2), check).await;
                if matches!(answer.map(|r| r.map(|v| v.into_value::<bool>())), Ok(Ok(Ok(true)))) {
                    return;
                }
            }
        };
        if tokio::time::timeout(STEP, loaded).await.is_err() {
            panic!("{what} loaded no new page in {STEP:?}");
        }
    }

    /// The texts of the page's error messages (`.error`), as a member reads them.
    pub async fn errors(&self) -> Vec<String> {
        self.eval("[...document.querySelectorAll('.error')].map(e => e.innerText.trim())").await
    }

    /// Answers every request to `origin` with a small page of its own, so a redirect to a
    /// relying party that does not exist still lands somewhere whose URL can be read.
    pub async fn stub_origin(&self, origin: &str) {
        let mut paused = step("listen for requests", self.page.event_listener::<EventRequestPaused>()).await;
        let pattern = RequestPattern::builder()
            .url_pattern(format!("{origin}/*"))
            .request_stage(RequestStage::Request)
            .build();
        step(
            "intercept requests",
            self.page.execute(fetch::EnableParams::builder().pattern(pattern).build()),
        )
        .await;
        let page = self.page.clone();
        tokio::spawn(async move {
            use base64::Engine as _;
            let body =
                "<!doctype html><html lang=\"en\"><title>RP</title><main><h1>relying party</h1></main>";
            let body = base64::engine::general_purpose::STANDARD.encode(body);
            while let Some(event) = paused.next().await {
                let answer = FulfillRequestParams::builder()
                    .request_id(event.request_id.clone())
                    .response_code(200)
                    .response_header(HeaderEntry::new("Content-Type", "text/html; charset=utf-8"))
                    .body(Binary::from(body.clone()))
                    .build();
                if let Ok(answer) = answer {
                    let _ = page.execute(answer).await;
                }
            }
        });
    }

    /// Gives the tab a platform authenticator that makes passkeys as a phone's would (CTAP2,
    /// internal, discoverable credentials, user verification) and answers every prompt at once
    /// with the member verified, so the passkey pages can be driven with no one at the device.
    pub async fn add_virtual_authenticator(&self) -> AuthenticatorId {
        step("enable WebAuthn", self.page.execute(web_authn::EnableParams::default())).await;
        let options = VirtualAuthenticatorOptions::builder()
            .protocol(AuthenticatorProtocol::Ctap2)
            .transport(AuthenticatorTransport::Internal)
            .has_resident_key(true)
            .has_user_verification(true)
            .is_user_verified(true)
            .automatic_presence_simulation(true)
            .build()
            .unwrap_or_else(|e| panic!("virtual authenticator options: {e}"));
        let added = step(
            "add a virtual authenticator",
            self.page.execute(AddVirtualAuthenticatorParams::new(options)),
        )
        .await;
        added.result.authenticator_id
    }

    /// Makes the authenticator `id` fail (`false`) or pass (`true`) user verification, as a
    /// member whose finger or face is not recognised, or who cancels.
    pub async fn set_user_verified(&self, id: &AuthenticatorId, verified: bool) {
        let params = SetUserVerifiedParams::new(id.clone(), verified);
        step("set user verification", self.page.execute(params)).await;
    }

    /// Makes the tab's pages see a browser without conditional mediation (passkeys in the
    /// autofill). A virtual authenticator answers an autofill request at once, as if the member
    /// picked the passkey, so a test of the buttons turns it off first.
    pub async fn without_conditional_mediation(&self) {
        let script = "if (window.PublicKeyCredential) \
            PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);";
        step("turn conditional mediation off", self.page.evaluate_on_new_document(script)).await;
    }

    /// Takes the authenticator `id` away, with its passkeys (the member's other device).
    pub async fn remove_virtual_authenticator(&self, id: &AuthenticatorId) {
        let params = RemoveVirtualAuthenticatorParams::new(id.clone());
        step("remove a virtual authenticator", self.page.execute(params)).await;
    }

    /// The credentials the virtual authenticator `id` holds (what registration stored on the
    /// device, with its sign count).
    pub async fn credentials(&self, id: &AuthenticatorId) -> Vec<web_authn::Credential> {
        let listed = step(
            "list the authenticator's credentials",
            self.page.execute(GetCredentialsParams::new(id.clone())),
        )
        .await;
        listed.result.credentials
    }

    /// axe-core's findings on the page as it stands.
    pub async fn accessibility_violations(&self) -> Vec<Violation> {
        let loaded: bool = self.eval(&format!("{}\n;typeof axe === 'object'", self.axe)).await;
        assert!(loaded, "axe-core did not load");
        let run = format!(
            "axe.run(document, {{ runOnly: {{ type: 'tag', values: {AXE_TAGS} }}, resultTypes: ['violations'] }})
               .then(r => JSON.stringify(r.violations.map(v => ({{
                 id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))
               }}))))"
        );
        let found: String = self.eval(&run).await;
        serde_json::from_str(&found).unwrap_or_else(|e| panic!("axe-core's answer {found}: {e}"))
    }

    /// The layout viewport's width and the content's.
    pub async fn widths(&self) -> Widths {
        let measure = "JSON.stringify({ viewport: document.documentElement.clientWidth, content: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) })";
        let found: String = self.eval(measure).await;
        serde_json::from_str(&found).unwrap_or_else(|e| panic!("widths {found}: {e}"))
    }

    /// The page passes axe-core with no serious or critical violation, and fits the phone's
    /// width without horizontal scrolling. `name` says which page failed.
    pub async fn check_page(&self, name: &str) {
        let url = self.url().await;
        // A page of ours, not Chromium's error page or a blank one.
        assert!(!url.starts_with("chrome-error:") && url != "about:blank", "{name}: the tab shows {url}");
        let heading = self.heading().await;
        assert!(!heading.trim().is_empty(), "{name} ({url}) has no heading:\n{}", self.text().await);
        let violations = self.accessibility_violations().await;
        for minor in violations.iter().filter(|v| !v.is_blocking()) {
            eprintln!("note: {name}: {minor}");
        }
        let blocking: Vec<String> =
            violations.iter().filter(|v| v.is_blocking()).map(Violation::to_string).collect();
        assert!(blocking.is_empty(), "{name} ({url}) fails axe-core:\n{}", blocking.join("\n"));
        let widths = self.widths().await;
        assert_eq!(
            widths.viewport,
            f64::from(PHONE_WIDTH),
            "{name} ({url}) does not lay out at the phone's width"
        );
        assert!(
            widths.content <= widths.viewport,
            "{name} ({url}) scrolls sideways at {PHONE_WIDTH} px: {widths:?}"
        );
    }
}
