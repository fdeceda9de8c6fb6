//! `/settings` (個人設定・通知設定): the update mails a member wants, among those the kenpo sends,
//! and for a dependant with their own login, non-disclosure to the insured. The login ID,
//! password and address are the IdP's (プロフィール変更 in the menu).

use super::member::Signed;
use crate::app::AppState;
use crate::error::AppError;
use crate::flows::preferences::{self, Preferences};
use crate::store::PreferenceStore;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

pub const SETTINGS: &str = "/settings";

pub fn routes() -> Router<AppState> {
    Router::new().route(SETTINGS, get(show).post(save))
}

#[derive(Debug, Deserialize)]
struct ShowQuery {
    saved: Option<String>,
}

#[derive(Serialize)]
struct Page {
    mails: Vec<MailRow>,
    hidden_from_household: Option<bool>,
    saved: bool,
    refused: bool,
}

#[derive(Serialize)]
struct MailRow {
    key: &'static str,
    on: bool,
}

impl Page {
    fn of(p: Preferences, saved: bool, refused: bool) -> Self {
        let mails = p.mails.into_iter().map(|(c, on)| MailRow { key: c.key(), on }).collect();
        Self { mails, hidden_from_household: p.hidden_from_household, saved, refused }
    }
}

async fn show(State(state): State<AppState>, signed: Signed, Query(q): Query<ShowQuery>) -> Response {
    let stored = match state.db.mail_opt_ins(&signed.who.member.id).await {
        Ok(stored) => stored,
        Err(e) => return AppError::from(e).render(signed.locale, &signed.kenpo.display_name),
    };
    let page = preferences::view(&signed.kenpo.settings, &signed.who.member, &stored);
    render(&state, &signed, Page::of(page, q.saved.is_some(), false))
}

fn render(state: &AppState, signed: &Signed, page: Page) -> Response {
    match state.templates.render("settings.html", signed.locale, &signed.chrome(), page) {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::from(e).render(signed.locale, &signed.kenpo.display_name),
    }
}

/// The form: `csrf`, `mail` once per chosen category, `hide` when the box is ticked. Read by
/// hand because a field may come any number of times.
async fn save(State(state): State<AppState>, signed: Signed, body: Bytes) -> Response {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let value = |name: &'static str| fields.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str());
    // Exactly one token, this session's: a second one is as good as a wrong one.
    let tokens: Vec<&str> = value("csrf").collect();
    let [token] = tokens[..] else { return AppError::Csrf.render(signed.locale, &signed.kenpo.display_name) };
    if !signed.holds_csrf(token) {
        return AppError::Csrf.render(signed.locale, &signed.kenpo.display_name);
    }
    let mails: Vec<&str> = value("mail").collect();
    let hide = value("hide").any(|v| v == "1");
    let member = &signed.who.member;
    let choice = match preferences::decide(&signed.kenpo.settings, member, &mails, hide) {
        Ok(choice) => choice,
        Err(e) => {
            // A stale or forged form: say so, and show what is stored, untouched.
            tracing::info!(error = %e, "settings form refused");
            let stored = state.db.mail_opt_ins(&member.id).await.unwrap_or_default();
            let page = preferences::view(&signed.kenpo.settings, member, &stored);
            return render(&state, &signed, Page::of(page, false, true));
        }
    };
    let keys: Vec<&str> = choice.opt_ins.iter().map(|c| c.key()).collect();
    let now_ms = state.clock.unix() * 1000;
    if let Err(e) = state.db.save_preferences(&member.id, &keys, choice.hidden_from_household, now_ms).await {
        return AppError::from(e).render(signed.locale, &signed.kenpo.display_name);
    }
    Redirect::to(&format!("{SETTINGS}?saved=1&lang={}", signed.locale.code())).into_response()
}
