//! The required actions' pages, `login-actions/required-action?tab_id=…`: GET shows the
//! member's next step, POST (with `?execution=<alias>`) does it. When nothing is owed the
//! login finishes: the SSO session is started and the code goes to the client.

use super::{TabChrome, TabQuery, audit, by_field, event, open_tab, see_other};
use crate::app::AppState;
use crate::domain::{AuthMethod, PASSWORD_SYMBOLS, RequiredAction, Username};
use crate::ephemeral::EphemeralStore;
use crate::flows::auth_session;
use crate::flows::brute_force::Lock;
use crate::flows::email_change;
use crate::flows::mail::{self, Mail};
use crate::flows::mfa;
use crate::flows::required_actions::{self as steps, BirthdateCheck, EmailChange, FieldError};
use crate::flows::sessions::{self, Login};
use crate::http::web;
use crate::i18n::Locale;
use crate::store::{EventType, NewEvent, Realm, SessionStore, TermsStore, User, UserStore};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use secrecy::ExposeSecret;
use serde::Serialize;
use std::net::SocketAddr;
use time::OffsetDateTime;

/// One resend of the verification mail per member per minute.
const RESEND_COOLDOWN: std::time::Duration = std::time::Duration::from_secs(60);

/// Shows the next step, or finishes the login when none is left.
pub async fn proceed(
    state: &AppState,
    realm: &Realm,
    mut tab: super::Tab,
    user: User,
    peer: &SocketAddr,
    headers: &HeaderMap,
    jar: CookieJar,
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let next = match steps::next_with(&ctx, &user, tab.session.requested()).await {
        Ok(next) => next,
        Err(e) => return web::server_error(state, tab.locale, &e),
    };
    if let Some(action) = next {
        return render(state, realm, &mut tab, &user, action, &[], "").await;
    }
    // A method chosen in this login with nothing to set up (a mailed code) is passed now.
    let proved = tab.session.member.as_ref().map(|m| m.amr.clone()).unwrap_or_default();
    match mfa::due(&ctx, &user, &proved).await {
        // The deletion the client asked for is confirmed on its own page (3-7).
        Ok(None) if tab.session.deletion_pending().is_some() => {
            super::delete_credential::confirm_page(state, realm, &tab, &user).await
        }
        Ok(None) => finish(state, realm, tab, user, peer, headers, jar).await,
        Ok(Some(factor)) => {
            if let Some(member) = tab.session.member.as_mut() {
                member.factor = Some(factor);
            }
            match auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
                Ok(()) => see_other(&tab.url(realm, "authenticate")),
                Err(e) => web::server_error(state, tab.locale, &e),
            }
        }
        Err(e) => web::server_error(state, tab.locale, &e),
    }
}

pub async fn show(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<TabQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let (realm, tab, user) = match load(&state, &realm_name, &query, &headers, &jar, None).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    proceed(&state, &realm, tab, user, &peer, &headers, jar).await
}

async fn load(
    state: &AppState,
    realm_name: &str,
    query: &TabQuery,
    headers: &HeaderMap,
    jar: &CookieJar,
    csrf: Option<&str>,
) -> Result<(Realm, super::Tab, User), Response> {
    let realm = web::realm(state, realm_name, web::browser_locale(headers)).await?;
    let tab = open_tab(state, &realm, query, headers, jar, csrf).await?;
    // Before the password, and while a second factor is due, the login page is the way on.
    let Some(member) = tab.session.member.as_ref().filter(|m| m.factor.is_none()) else {
        return Err(see_other(&tab.url(&realm, "authenticate")));
    };
    match state.db.user_by_id(&realm.id, &member.user_id).await {
        Ok(Some(user)) if user.enabled => Ok((realm, tab, user)),
        Ok(_) => Err(super::expired_page(state, &realm, tab.locale)),
        Err(e) => Err(web::server_error(state, tab.locale, &e)),
    }
}

/// A step's page. Every one has the tab's form chrome, the messages by field, and what the
/// step shows.
#[derive(Serialize)]
struct StepPage<'a> {
    #[serde(flatten)]
    chrome: TabChrome<'a>,
    errors: std::collections::BTreeMap<&'static str, Vec<&'a FieldError>>,
    /// What the member typed, given back after a refusal.
    value: &'a str,
    email: Option<&'a str>,
    terms: Option<Vec<&'a str>>,
    refresh_url: &'a str,
    /// After 「再送信」: sent again, or asked too soon (catalogue key).
    notice: Option<&'a str>,
    methods: Vec<&'static str>,
    chosen_method: Option<&'static str>,
    disallowed: &'static [(&'static str, &'static str)],
    allowed_symbols: String,
    password_symbols: &'static str,
    min_password: usize,
    max_password: usize,
    submit_key: &'static str,
    /// A change the client asked for (kc_action): 「戻る」 turns it down, and the password page
    /// offers 「全てのデバイスからサインアウトする」.
    requested: bool,
}

/// What the user ID page lists under 「利用不可文字一覧を見る」: the kinds of character refused.
pub const DISALLOWED: &[(&str, &str)] = &[
    ("userid.disallowed.fullwidth", "Ａ ａ １ ＠"),
    ("userid.disallowed.kana", "あ ア ｱ 漢"),
    ("userid.disallowed.space", "␣"),
    ("userid.disallowed.symbols", "! \" # $ % & ' ( ) * + , / : ; < = > ? [ \\ ] ^ ` { | } ~"),
];

async fn render(
    state: &AppState,
    realm: &Realm,
    tab: &mut super::Tab,
    user: &User,
    action: RequiredAction,
    errors: &[FieldError],
    value: &str,
) -> Response {
    if action == RequiredAction::ConfigureTotp {
        return super::totp::render_setup(state, realm, tab, user, errors, None).await;
    }
    if action == RequiredAction::WebauthnRegister {
        return super::passkey::render_setup(state, realm, tab, user, errors, None).await;
    }
    let template = match action {
        RequiredAction::VerifyBirthdate => "birthdate.html",
        RequiredAction::TermsAndConditions => "terms.html",
        RequiredAction::UpdateEmail => "update_email.html",
        RequiredAction::VerifyEmail => "verify_email.html",
        RequiredAction::UpdateUserId => "user_id.html",
        _ => "update_password.html",
    };
    let terms = if action == RequiredAction::TermsAndConditions {
        match state.db.current_terms(&realm.id).await {
            Ok(terms) => terms,
            Err(e) => return web::server_error(state, tab.locale, &e),
        }
    } else {
        None
    };
    let notice = value.strip_prefix("verify.").map(|_| value);
    if action == RequiredAction::VerifyEmail
        && let Some(member) = tab.session.member.as_mut()
        && !member.verification_sent
    {
        // Sent once on arrival; after that only 「再送信」 sends again.
        member.verification_sent = true;
        if let Err(e) = send_verification(state, realm, user, tab.locale).await {
            return web::server_error(state, tab.locale, &e);
        }
        if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
            return web::server_error(state, tab.locale, &e);
        }
    }
    let body = terms.as_ref().map(|t| if tab.locale == Locale::En { &t.body_en } else { &t.body_ja });
    let action_url = format!("{}&execution={}", tab.url(realm, "required-action"), action.alias());
    let switch_url = tab.switch_url(realm, "required-action");
    let refresh_url = tab.url(realm, "required-action");
    let (min_password, max_password) = realm.settings.password_policy.bounds();
    let issuer = state.config.issuer(realm.name.as_str());
    let methods = mfa::offered(&state.ctx(realm, &issuer));
    let page = StepPage {
        chrome: TabChrome { action: &action_url, csrf_token: &tab.session.csrf, switch_url: &switch_url },
        errors: by_field(errors),
        value: if notice.is_some() { "" } else { value },
        email: user.email.as_ref().map(|e| e.as_str()),
        terms: body.map(|b| b.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).collect()),
        refresh_url: &refresh_url,
        notice,
        methods: methods.into_iter().map(AuthMethod::as_str).collect(),
        chosen_method: user.auth_method.map(AuthMethod::as_str),
        disallowed: DISALLOWED,
        allowed_symbols: Username::ALLOWED_SYMBOLS.iter().map(char::to_string).collect::<Vec<_>>().join(" "),
        password_symbols: PASSWORD_SYMBOLS,
        min_password,
        max_password,
        submit_key: if tab.session.requested() == Some(action) { "common.execute" } else { "common.send" },
        requested: tab.session.requested() == Some(action),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, tab.locale, &realm.display_name, template, page)
}

async fn send_verification(
    state: &AppState,
    realm: &Realm,
    user: &User,
    locale: Locale,
) -> Result<(), crate::flows::FlowError> {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    if steps::send_verification(&ctx, user, locale).await? {
        state.mail_outbox.notify_one();
        let mut sent = NewEvent { user_id: Some(user.id.clone()), ..NewEvent::default() };
        sent.details
            .insert("email".to_owned(), user.email.as_ref().map(|e| e.to_string()).unwrap_or_default());
        audit(state, realm, EventType::SendVerifyEmail, sent).await;
    }
    Ok(())
}

pub async fn submit(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    Query(query): Query<TabQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let form = web::FormFields::parse(&body);
    let (realm, mut tab, mut user) =
        match load(&state, &realm_name, &query, &headers, &jar, Some(form.get("csrf_token"))).await {
            Ok(found) => found,
            Err(page) => return page,
        };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    if query.execution.as_deref() == Some(super::delete_credential::EXECUTION) {
        return super::delete_credential::answer(&state, &realm, tab, user, &form, &peer, &headers, jar)
            .await;
    }
    let current = match steps::next_with(&ctx, &user, tab.session.requested()).await {
        Ok(next) => next,
        Err(e) => return web::server_error(&state, tab.locale, &e),
    };
    // A stale form (another tab did the step, or the member went back): show what is next.
    let Some(action) = current.filter(|a| Some(a.alias()) == query.execution.as_deref()) else {
        return see_other(&tab.url(&realm, "required-action"));
    };
    // 「戻る」 on the change the client asked for: not made, and the client is told so. What
    // the member owes is still owed.
    if form.get("cancel-aia") == "true" && tab.session.requested() == Some(action) {
        if let Some(member) = tab.session.member.as_mut() {
            member.requested_cancelled = true;
        }
        if let Err(page) = super::requested_done(&state, &mut tab, action).await {
            return page;
        }
        return see_other(&tab.url(&realm, "required-action"));
    }
    if action == RequiredAction::ConfigureTotp {
        return super::totp::submit_setup(&state, &realm, tab, user, &form, &peer).await;
    }
    if action == RequiredAction::WebauthnRegister {
        return super::passkey::submit_setup(&state, &realm, tab, user, &form, &peer).await;
    }
    let client_id = tab.session.request.client_id.clone();
    let was_temporary = user.temporary_id;
    let user_id = user.id.clone();
    let record =
        |kind: EventType, error: Option<&str>| (kind, event(&peer, Some(&client_id), Some(&user_id), error));
    let (outcome, (kind, mut done)) = match action {
        RequiredAction::VerifyBirthdate => {
            let raw = form.get("birthdate");
            match birthdate(&state, &realm, &ctx, &tab, &mut user, raw, &peer).await {
                Ok(outcome) => (outcome, record(EventType::CustomRequiredAction, None)),
                Err(page) => return page,
            }
        }
        RequiredAction::TermsAndConditions => {
            let outcome = steps::accept_terms(&ctx, &mut user).await;
            let mut ok = record(EventType::CustomRequiredAction, None);
            if let Ok(Some(version)) = &outcome {
                ok.1.details.insert("terms_version".to_owned(), version.to_string());
            }
            (outcome.map(|_| Ok(())), ok)
        }
        // A signed-in member's change (3-5): the new address is proved before it is used.
        RequiredAction::UpdateEmail if tab.session.requested() == Some(action) => {
            return change_email(&state, &realm, tab, user, form.get("email"), &peer).await;
        }
        RequiredAction::UpdateEmail => {
            let previous = user.email.as_ref().map(|e| e.to_string()).unwrap_or_default();
            let outcome = steps::update_email(&ctx, &mut user, form.get("email")).await;
            let mut ok = record(EventType::UpdateEmail, None);
            ok.1.details.insert("previous_email".to_owned(), previous);
            ok.1.details.insert(
                "updated_email".to_owned(),
                user.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            );
            if matches!(outcome, Ok(Ok(EmailChange::Changed)))
                && let Some(member) = tab.session.member.as_mut()
            {
                member.verification_sent = false;
                if let Err(e) = auth_session::save(&state.ephemeral, &tab.id, &tab.session).await {
                    return web::server_error(&state, tab.locale, &e);
                }
            }
            if matches!(outcome, Ok(Err(_))) {
                ok = record(EventType::UpdateEmailError, Some("invalid_email"));
            }
            (outcome.map(|r| r.map(|_| ())), ok)
        }
        RequiredAction::VerifyEmail => {
            // 「再送信」: at most once a minute per member.
            let key = format!("verify-resend:{}", user.id);
            let shown = match state.ephemeral.put_if_absent(&key, b"1", RESEND_COOLDOWN).await {
                Ok(true) => {
                    if let Err(e) = send_verification(&state, &realm, &user, tab.locale).await {
                        return web::server_error(&state, tab.locale, &e);
                    }
                    "verify.resent"
                }
                Ok(false) => "verify.wait",
                Err(e) => return web::server_error(&state, tab.locale, &e),
            };
            return render(&state, &realm, &mut tab, &user, action, &[], shown).await;
        }
        RequiredAction::UpdateUserId => {
            let outcome =
                steps::choose_user_id(&ctx, &mut user, form.get("username"), form.get("authMethod")).await;
            let mut ok = record(EventType::UpdateProfile, None);
            ok.1.details.insert("updated_username".to_owned(), user.username.to_string());
            (outcome, ok)
        }
        _ => {
            let outcome = steps::set_password(
                &ctx,
                &state.hashing,
                &mut user,
                form.get("password-new").to_owned(),
                form.get("password-confirm"),
            )
            .await;
            // 「全てのデバイスからサインアウトする」 (3-2): the member's other sessions end, and
            // their clients hear it by back-channel logout.
            if matches!(outcome, Ok(Ok(()))) && !form.get("logout-sessions").is_empty() {
                let keep = tab.session.member.as_ref().and_then(|m| m.session_id.clone());
                match crate::flows::logout::end_other_sessions(ctx, &user.id, keep.as_deref()).await {
                    Ok(_) => state.backchannel.notify_one(),
                    Err(e) => return web::server_error(&state, tab.locale, &e),
                }
            }
            (outcome, record(EventType::UpdatePassword, None))
        }
    };
    match outcome {
        Ok(Ok(())) => {
            if let Err(page) = super::requested_done(&state, &mut tab, action).await {
                return page;
            }
            done.details.insert("custom_required_action".to_owned(), action.alias().to_owned());
            audit(&state, &realm, kind, done).await;
            if was_temporary && !user.temporary_id {
                first_login_done(&state, &realm, &user, tab.locale).await;
            }
            see_other(&tab.url(&realm, "required-action"))
        }
        Ok(Err(errors)) => {
            let error_kind = match kind {
                EventType::UpdatePassword => Some(EventType::UpdatePasswordError),
                EventType::UpdateProfile => Some(EventType::UpdateProfileError),
                _ => None,
            };
            if let Some(error_kind) = error_kind {
                let code = errors.first().map(|e| e.message).unwrap_or_default();
                audit(&state, &realm, error_kind, event(&peer, Some(&client_id), Some(&user.id), Some(code)))
                    .await;
            }
            // Passwords are never echoed back; the other fields are.
            let value = match action {
                RequiredAction::UpdatePassword => "",
                RequiredAction::UpdateEmail => form.get("email"),
                RequiredAction::UpdateUserId => form.get("username"),
                _ => form.get("birthdate"),
            };
            render(&state, &realm, &mut tab, &user, action, &errors, value).await
        }
        Err(e) => web::server_error(&state, tab.locale, &e),
    }
}

/// The change of address a client asked for: a link to the new address, then on to the client.
async fn change_email(
    state: &AppState,
    realm: &Realm,
    mut tab: super::Tab,
    user: User,
    raw: &str,
    peer: &SocketAddr,
) -> Response {
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(realm, &issuer);
    let client_id = tab.session.request.client_id.clone();
    match email_change::request(&ctx, &user, raw, tab.locale).await {
        Ok(Ok(requested)) => {
            if let email_change::Requested::LinkSent(email) = requested {
                state.mail_outbox.notify_one();
                let mut sent = event(peer, Some(&client_id), Some(&user.id), None);
                sent.details.insert("email".to_owned(), email.to_string());
                audit(state, realm, EventType::SendVerifyEmail, sent).await;
            }
            if let Err(page) = super::requested_done(state, &mut tab, RequiredAction::UpdateEmail).await {
                return page;
            }
            see_other(&tab.url(realm, "required-action"))
        }
        Ok(Err(errors)) => {
            let failed = event(peer, Some(&client_id), Some(&user.id), Some("invalid_email"));
            audit(state, realm, EventType::UpdateEmailError, failed).await;
            render(state, realm, &mut tab, &user, RequiredAction::UpdateEmail, &errors, raw).await
        }
        Err(e) => web::server_error(state, tab.locale, &e),
    }
}

/// The birth-date step. A wrong date is shown again until the realm's lockout policy locks the
/// member's record; a locked record ends the login with the contact-your-kenpo message. `Err`
/// is the page that ends it.
async fn birthdate(
    state: &AppState,
    realm: &Realm,
    ctx: &crate::flows::tokens::Ctx<'_>,
    tab: &super::Tab,
    user: &mut User,
    raw: &str,
    peer: &SocketAddr,
) -> Result<steps::StepResult, Response> {
    let check = steps::verify_birthdate(ctx, user, raw, peer.ip()).await;
    let check = check.map_err(|e| web::server_error(state, tab.locale, &e))?;
    let client_id = tab.session.request.client_id.clone();
    let failure = |error: &str| event(peer, Some(&client_id), Some(&user.id), Some(error));
    let mismatch = match check {
        BirthdateCheck::Verified => return Ok(Ok(Ok(()))),
        BirthdateCheck::Invalid(errors) => return Ok(Ok(Err(errors))),
        BirthdateCheck::Mismatch => failure("invalid_birthdate"),
        BirthdateCheck::Locked(lock) => {
            let error = match lock {
                Lock::Temporary { .. } => "user_temporarily_disabled",
                Lock::Permanent => "user_disabled",
            };
            audit(state, realm, EventType::CustomRequiredActionError, failure(error)).await;
            let _ = auth_session::finish(&state.ephemeral, &tab.id).await;
            let status = StatusCode::FORBIDDEN;
            return Err(web::message(state, status, tab.locale, &realm.display_name, "login.locked"));
        }
    };
    audit(state, realm, EventType::CustomRequiredActionError, mismatch).await;
    Ok(Ok(Err(vec![FieldError::new("birthdate", "birthdate.mismatch")])))
}

/// The first-login notice from `webmaster@` (Q19), once the 仮ID flag clears.
async fn first_login_done(state: &AppState, realm: &Realm, user: &User, locale: Locale) {
    let Some(email) = &user.email else { return };
    let mail = Mail::FirstLoginDone { display_name: &user.display_name };
    match mail::enqueue(
        &state.db,
        &state.master_key,
        realm,
        &state.config.mail_domain,
        email,
        locale,
        mail,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => state.mail_outbox.notify_one(),
        Err(e) => tracing::warn!(error = %e, "first-login notice not queued"),
    }
}

/// Nothing left to do: the SSO session (started, or the one this login came from), the LOGIN
/// event, and the code.
pub(super) async fn finish(
    state: &AppState,
    realm: &Realm,
    tab: super::Tab,
    user: User,
    peer: &SocketAddr,
    headers: &HeaderMap,
    jar: CookieJar,
) -> Response {
    let locale = tab.locale;
    let Some(member) = tab.session.member.clone() else {
        return super::expired_page(state, realm, locale);
    };
    match auth_session::finish(&state.ephemeral, &tab.id).await {
        Ok(true) => {}
        Ok(false) => return super::expired_page(state, realm, locale),
        Err(e) => return web::server_error(state, locale, &e),
    }
    let now = state.clock.now();
    let existing = match web::current_session(state, realm, &jar).await {
        Ok(session) => session,
        Err(e) => return web::server_error(state, locale, &e),
    };
    let auth_time = OffsetDateTime::from_unix_timestamp(member.auth_time).unwrap_or(now);
    let (session, new_cookie) = match existing {
        // The session this login came from, or the same member signing in again: it stays
        // (and keeps its sid); a fresh password makes it freshly authenticated.
        Some(mut session) if session.user_id == user.id => {
            if member.session_id.as_deref() != Some(session.id.as_str()) {
                let amr = &member.amr;
                if let Err(e) =
                    state.db.reauthenticate_session(&session.id, auth_time, member.remember_me, amr).await
                {
                    return web::server_error(state, locale, &e);
                }
                session.auth_time = auth_time;
                session.amr = member.amr.clone();
            }
            (session, None)
        }
        other => {
            if let Some(old) = other {
                let issuer = state.config.issuer(realm.name.as_str());
                let _ = crate::flows::logout::end_session(state.ctx(realm, &issuer), &old).await;
                state.backchannel.notify_one();
            }
            let login = Login {
                remember_me: member.remember_me,
                amr: member.amr.clone(),
                ip_address: Some(peer.ip().to_string()),
                user_agent: headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(|ua| ua.chars().take(255).collect()),
            };
            match sessions::start(&state.db, realm, &user, login, auth_time).await {
                Ok(started) => (started.session, Some(started.cookie)),
                Err(e) => return web::server_error(state, locale, &e),
            }
        }
    };
    let mut done = event(peer, Some(&tab.session.request.client_id), Some(&user.id), None);
    done.session_id = Some(session.id.clone());
    audit(state, realm, EventType::Login, done).await;
    let status = tab.session.action_status();
    let response = super::issue_code(state, realm, &tab.session.request, &session, status).await;
    let jar = match new_cookie {
        Some(value) => {
            let mut cookie = Cookie::build((sessions::COOKIE, value.expose_secret().to_owned()))
                .path(web::cookie_path(realm))
                .http_only(true)
                .secure(web::secure(state))
                .same_site(SameSite::Lax);
            if member.remember_me {
                let (_, max) = sessions::lifetimes(realm, true);
                cookie = cookie.max_age(max);
            }
            jar.add(cookie.build())
        }
        None => jar,
    };
    (jar.remove(Cookie::build(super::BROWSER_COOKIE).path(web::cookie_path(realm))), response).into_response()
}
