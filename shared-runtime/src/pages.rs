//! HTML pages: minijinja templates compiled into the binary, rendered from typed contexts with
//! strict undefined handling (a missing catalogue key is an error, never a blank), and the
//! security headers every response carries.

use crate::i18n::{Catalogue, Locale};
use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles `(name, source)` pairs.
    pub fn new(sources: &[(&'static str, &'static str)]) -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in sources {
            env.add_template(name, source)?;
        }
        Ok(Self { env })
    }

    /// Renders `name` with the language fields every page has (`locale`, `other_locale`, the
    /// catalogue as `t`) beside the page's own context.
    pub fn render<P: Serialize>(
        &self,
        name: &str,
        locale: Locale,
        t: &Catalogue,
        page: P,
    ) -> Result<String, minijinja::Error> {
        let common = Common { locale: locale.code(), other_locale: locale.other().code(), t };
        self.env.get_template(name)?.render(Page { common, page })
    }
}

#[derive(Serialize)]
struct Page<'a, P> {
    #[serde(flatten)]
    common: Common<'a>,
    #[serde(flatten)]
    page: P,
}

#[derive(Serialize)]
struct Common<'a> {
    locale: &'static str,
    other_locale: &'static str,
    t: &'a Catalogue,
}

/// No inline script or style anywhere, no framing, forms only to this site.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// The same without `form-action`: an identity provider's login form answers with a redirect
/// to the client, and browsers hold that redirect to `form-action` too.
pub const CSP_WITH_REDIRECTING_FORMS: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Two years, subdomains included: the kenpo hosts are all under the service's domain.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Adds the security headers, with `csp`, to every response of `router`; HSTS too when the
/// service is reached over https (`https`), never over plain http where it would be ignored.
pub fn with_security_headers(router: Router, csp: &'static str, https: bool) -> Router {
    let router = if https {
        router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ))
    } else {
        router
    };
    let headers: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}
