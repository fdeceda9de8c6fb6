//! RP-Initiated Logout (GET or POST): ends the session, then redirects to a vouched-for
//! post-logout URI or shows the logged-out page.

use crate::app::AppState;
use crate::flows::authorize::collect_params;
use crate::flows::logout::{self, After, LogoutRequest};
use crate::flows::sessions;
use crate::http::{paths, web};
use crate::i18n;
use crate::store::{EventType, NewEvent};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::{Cookie, CookieJar};

pub fn routes() -> Router<AppState> {
    Router::new().route(paths::LOGOUT, get(end_session).post(end_session))
}

async fn end_session(
    State(state): State<AppState>,
    Path(realm_name): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let params = collect_params(web::get_or_post_pairs(&method, query, &body)).unwrap_or_default();
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let locale = i18n::for_request(params.get("ui_locales").map(String::as_str), accept);
    let realm = match web::realm(&state, &realm_name, locale).await {
        Ok(realm) => realm,
        Err(page) => return page,
    };
    let issuer = state.config.issuer(realm.name.as_str());
    let ctx = state.ctx(&realm, &issuer);
    let session = match web::current_session(&state, &realm, &jar).await {
        Ok(session) => session,
        Err(e) => return web::server_error(&state, locale, &e),
    };
    let user_id = session.as_ref().map(|s| s.user_id.clone());
    let request = LogoutRequest {
        id_token_hint: params.get("id_token_hint").cloned(),
        post_logout_redirect_uri: params.get("post_logout_redirect_uri").cloned(),
        state: params.get("state").cloned(),
        client_id: params.get("client_id").cloned(),
    };
    let after = match logout::logout(ctx, &request, session).await {
        Ok(after) => after,
        Err(e) => return web::server_error(&state, locale, &e),
    };
    state.backchannel.notify_one();
    if user_id.is_some() {
        let event = NewEvent { user_id, client_id: request.client_id.clone(), ..NewEvent::default() };
        crate::http::login_actions::audit(&state, &realm, EventType::Logout, event).await;
    }
    let jar = jar.remove(Cookie::build(sessions::COOKIE).path(web::cookie_path(&realm)));
    let response = match after {
        After::Redirect(target) => {
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response();
            web::no_store(&mut response);
            response
        }
        After::LoggedOut => web::message(&state, StatusCode::OK, locale, &realm.display_name, "logout.done"),
    };
    (jar, response).into_response()
}
