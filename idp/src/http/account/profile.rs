//! プロフィール変更 (3-1, Q13, Q18): 言語, ユーザID, メールアドレス with 「Eメール変更」,
//! ユーザー名 (read-only), 仮IDフラグ, 認証方法; 「変更」, 「戻る」, 「ポータルに戻る」.

use super::{Chrome, Member, Page, PageQuery, chrome, forbidden, to_login};
use crate::app::AppState;
use crate::domain::{AuthMethod, Username};
use crate::flows::account::{self, ProfileForm, ProfileSaved};
use crate::flows::mfa;
use crate::flows::required_actions::FieldError;
use crate::http::login_actions::{audit, by_field, event, required::DISALLOWED, see_other};
use crate::http::web;
use crate::store::EventType;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

#[derive(Serialize)]
struct ProfilePage<'a> {
    #[serde(flatten)]
    chrome: Chrome,
    action: String,
    errors: BTreeMap<&'static str, Vec<&'a FieldError>>,
    /// The language, user ID and method shown: the member's, or what they just sent.
    chosen_locale: &'a str,
    username: &'a str,
    chosen_method: &'a str,
    email: Option<&'a str>,
    email_verified: bool,
    email_change_url: String,
    display_name: &'a str,
    temporary_id: bool,
    methods: Vec<&'static str>,
    disallowed: &'static [(&'static str, &'static str)],
    allowed_symbols: String,
    back_url: String,
}

/// What the form showed: the member's values, or what they sent (kept after a refusal).
struct Shown<'a> {
    locale: &'a str,
    username: &'a str,
    method: &'a str,
}

async fn render(
    state: &AppState,
    member: &Member,
    query: &PageQuery,
    shown: Shown<'_>,
    errors: &[FieldError],
) -> Response {
    let chrome = match chrome(state, member, Page::Profile, query).await {
        Ok(chrome) => chrome,
        Err(response) => return response,
    };
    let issuer = state.config.issuer(member.realm.name.as_str());
    let methods = mfa::offered(&state.ctx(&member.realm, &issuer));
    let here = format!("{}{}", Page::Profile.path(&member.realm), query.carried());
    let page = ProfilePage {
        chrome,
        action: here.clone(),
        errors: by_field(errors),
        chosen_locale: shown.locale,
        username: shown.username,
        chosen_method: shown.method,
        email: member.user.email.as_ref().map(|e| e.as_str()),
        email_verified: member.user.email_verified,
        email_change_url: action_url(member, "UPDATE_EMAIL", &here),
        display_name: &member.user.display_name,
        temporary_id: member.user.temporary_id,
        methods: methods.into_iter().map(AuthMethod::as_str).collect(),
        disallowed: DISALLOWED,
        allowed_symbols: Username::ALLOWED_SYMBOLS.iter().map(char::to_string).collect::<Vec<_>>().join(" "),
        back_url: here,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    web::page(state, status, member.locale, &member.realm.display_name, "account_profile.html", page)
}

/// The link that starts a change (`kc_action`) and comes back to `return_to`.
pub fn action_url(member: &Member, kc_action: &str, return_to: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("kc_action", kc_action)
        .append_pair("return", return_to)
        .finish();
    format!("/realms/{}/account/action?{query}", member.realm.name)
}

pub async fn show(State(state): State<AppState>, member: Member, Query(query): Query<PageQuery>) -> Response {
    let shown = Shown {
        locale: member.locale.code(),
        username: member.user.username.as_str(),
        method: member.user.auth_method.map(AuthMethod::as_str).unwrap_or_default(),
    };
    render(&state, &member, &query, shown, &[]).await
}

pub async fn save(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<PageQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    let form = web::FormFields::parse(&body);
    let mut member = member;
    if !account::csrf_ok(&state.master_key, &member.session, form.get("csrf_token")) {
        return forbidden(&state, &member);
    }
    let issuer = state.config.issuer(member.realm.name.as_str());
    let ctx = state.ctx(&member.realm, &issuer);
    let sent = ProfileForm {
        locale: form.get("locale"),
        username: form.get("username"),
        auth_method: form.get("authMethod"),
    };
    let previous_username = member.user.username.to_string();
    let outcome = account::update_profile(&ctx, &mut member.user, sent).await;
    let user_id = member.user.id.clone();
    match outcome {
        Ok(Ok(saved)) => {
            let mut done = event(&peer, Some(account::CONSOLE_CLIENT_ID), Some(&user_id), None);
            done.session_id = Some(member.session.id.clone());
            if previous_username != member.user.username.as_str() {
                done.details.insert("previous_username".to_owned(), previous_username);
                done.details.insert("updated_username".to_owned(), member.user.username.to_string());
            }
            audit(&state, &member.realm, EventType::UpdateProfile, done).await;
            member.locale =
                member.user.locale.as_deref().and_then(crate::i18n::Locale::parse).unwrap_or(member.locale);
            let here = Page::Profile.path(&member.realm);
            match saved {
                // A method with nothing registered leads into its setup (Q18).
                ProfileSaved::SetUp(action) => {
                    let back = format!("{here}{}", query.carried());
                    to_login(&state, &member.realm, &back, Some(action.alias()), member.locale).await
                }
                ProfileSaved::Done => {
                    let carried = query.carried();
                    let separator = if carried.is_empty() { '?' } else { '&' };
                    see_other(&format!("{here}{carried}{separator}notice=saved"))
                }
            }
        }
        Ok(Err(errors)) => {
            let code = errors.first().map(|e| e.message).unwrap_or_default();
            let failed = event(&peer, Some(account::CONSOLE_CLIENT_ID), Some(&user_id), Some(code));
            audit(&state, &member.realm, EventType::UpdateProfileError, failed).await;
            let shown = Shown { locale: sent.locale, username: sent.username, method: sent.auth_method };
            render(&state, &member, &query, shown, &errors).await
        }
        Err(e) => web::server_error(&state, member.locale, &e),
    }
}
