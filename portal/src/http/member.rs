//! Who a request is from: the tenant (by host), the language, and the signed-in member with
//! their household, loaded from the session cookie on every request.

use crate::app::AppState;
use crate::error::AppError;
use crate::flows::{auth, inbox, survey};
use crate::i18n::Locale;
use crate::session::PortalSession;
use crate::store::{Kenpo, KenpoStore, Member, MemberStore};
use crate::templates::Chrome;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

/// Plain `portal_session` over http (development, the launcher); the `__Host-` prefix under
/// https, which binds the cookie to this host and path `/`, secure only.
pub fn session_cookie_name(https: bool) -> &'static str {
    if https { "__Host-portal_session" } else { "portal_session" }
}

pub fn login_cookie_name(https: bool) -> &'static str {
    if https { "__Host-portal_login" } else { "portal_login" }
}

/// A cookie of the portal's: HttpOnly, SameSite=Lax (it must come along on the IdP's redirect
/// back), Secure under https, path `/`.
pub fn cookie(name: &'static str, value: String, https: bool) -> Cookie<'static> {
    Cookie::build((name, value)).http_only(true).secure(https).same_site(SameSite::Lax).path("/").build()
}

pub fn removal(name: &'static str, https: bool) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), https);
    c.make_removal();
    c
}

pub fn is_https(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// The language: `?lang=` first, then the browser's Accept-Language; Japanese by default.
pub fn locale(parts_query: Option<&str>, headers: &HeaderMap) -> Locale {
    let asked = parts_query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang").map(|(_, v)| v.into_owned())
    });
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Locale::negotiate(asked.as_deref(), accept)
}

/// The kenpo this request is for: by its Host, else the configured one.
pub async fn tenant(state: &AppState, headers: &HeaderMap) -> Result<Kenpo, AppError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
    if let Some(host) = host
        && let Some(kenpo) = state.db.kenpo_by_host(&host).await?
    {
        return Ok(kenpo);
    }
    state.db.kenpo(&state.kenpo_id).await?.ok_or(AppError::NotFound)
}

/// Any visitor: the tenant and language, and the member if signed in.
#[derive(Debug)]
pub struct Visitor {
    pub kenpo: Kenpo,
    pub locale: Locale,
    pub member: Option<SignedIn>,
}

/// A signed-in member of the request's kenpo, with their household.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_id: String,
    pub session: PortalSession,
    pub member: Member,
    pub household: Vec<Member>,
    /// Unread MYメール, for the header.
    pub unread: i64,
    /// A 被扶養者資格確認 sheet of the household awaits this member: the menu links to `/survey`.
    pub survey_open: bool,
}

impl Visitor {
    pub fn chrome(&self) -> Chrome {
        Chrome::new(&self.kenpo, self.member.as_ref().map(|m| (&m.member, &m.session)))
            .with_unread(self.member.as_ref().map(|m| m.unread))
            .with_survey_open(self.member.as_ref().is_some_and(|m| m.survey_open))
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let locale = locale(parts.uri.query(), &parts.headers);
        let kenpo = tenant(state, &parts.headers).await?;
        let jar = CookieJar::from_headers(&parts.headers);
        let https = is_https(state);
        let Some(id) = jar.get(session_cookie_name(https)).map(|c| c.value().to_owned()) else {
            return Ok(Self { kenpo, locale, member: None });
        };
        let now = state.clock.unix();
        let Some(mut session) = state.sessions.get(&id, &kenpo.issuer, now).await? else {
            return Ok(Self { kenpo, locale, member: None });
        };
        if session.kenpo_id != kenpo.id {
            // A session of another kenpo's host is no session here.
            return Ok(Self { kenpo, locale, member: None });
        }
        let rp = state.rp(&kenpo).await.map_err(auth::AuthError::from)?;
        if !auth::keep_fresh(&rp, &state.sessions, &id, &mut session, now).await? {
            return Ok(Self { kenpo, locale, member: None });
        }
        let member = state.db.member_by_subject(&kenpo.id, &session.subject).await?;
        let Some(member) = member.filter(|m| m.id.as_str() == session.member_id) else {
            state.sessions.delete(&id).await?;
            return Ok(Self { kenpo, locale, member: None });
        };
        let household = state.db.household(&member.household_id).await?;
        let unread = inbox::unread(&state.db, &member.id, &kenpo.settings, state.clock.now()).await?;
        let survey_open = survey::awaits_answers(&state.db, &member).await?;
        let who = SignedIn { session_id: id, session, member, household, unread, survey_open };
        Ok(Self { kenpo, locale, member: Some(who) })
    }
}

/// A page only for signed-in members: anyone else is sent to log in and brought back here.
#[derive(Debug)]
pub struct Signed {
    pub kenpo: Kenpo,
    pub locale: Locale,
    pub who: SignedIn,
}

impl Signed {
    /// Whether a form's token is this session's (compared in constant time); an empty one never is.
    pub fn holds_csrf(&self, token: &str) -> bool {
        !token.is_empty() && bool::from(token.as_bytes().ct_eq(self.who.session.csrf.as_bytes()))
    }

    pub fn chrome(&self) -> Chrome {
        Chrome::new(&self.kenpo, Some((&self.who.member, &self.who.session)))
            .with_unread(Some(self.who.unread))
            .with_survey_open(self.who.survey_open)
    }
}

/// Sends the browser to log in, coming back to `path_and_query`.
#[derive(Debug)]
pub struct LoginFirst(String);

impl IntoResponse for LoginFirst {
    fn into_response(self) -> Response {
        let target: String =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("return_to", &self.0).finish();
        Redirect::to(&format!("/auth/login?{target}")).into_response()
    }
}

#[derive(Debug)]
pub enum SignedRejection {
    Login(String),
    Error(AppError),
}

impl IntoResponse for SignedRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Login(path) => LoginFirst(path).into_response(),
            Self::Error(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = SignedRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, SignedRejection> {
        let visitor = Visitor::from_request_parts(parts, state).await.map_err(SignedRejection::Error)?;
        let path = parts.uri.path_and_query().map_or_else(|| "/".to_owned(), ToString::to_string);
        match visitor.member {
            Some(who) => Ok(Self { kenpo: visitor.kenpo, locale: visitor.locale, who }),
            None => Err(SignedRejection::Login(path)),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Signed {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, AppError> {
        let visitor = <Visitor as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        Ok(visitor.member.map(|who| Self { kenpo: visitor.kenpo, locale: visitor.locale, who }))
    }
}
