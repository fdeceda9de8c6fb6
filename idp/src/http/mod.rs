//! HTTP: one `routes()` per concern, merged here. Handlers translate; flows decide.

pub mod account;
pub mod admin;
mod health;
pub mod login_actions;
mod oidc;
mod realm;
pub mod web;

use crate::app::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// Paths, shared by the router and the discovery document.
pub mod paths {
    /// Endpoint paths below a realm's issuer (`/realms/{realm}`).
    pub mod suffix {
        pub const AUTH: &str = "/protocol/openid-connect/auth";
        pub const TOKEN: &str = "/protocol/openid-connect/token";
        pub const USERINFO: &str = "/protocol/openid-connect/userinfo";
        pub const CERTS: &str = "/protocol/openid-connect/certs";
        pub const LOGOUT: &str = "/protocol/openid-connect/logout";
        pub const REVOKE: &str = "/protocol/openid-connect/revoke";
        pub const INTROSPECT: &str = "/protocol/openid-connect/token/introspect";
    }

    pub const HEALTH_LIVE: &str = "/health/live";
    pub const HEALTH_READY: &str = "/health/ready";
    pub const STYLESHEET: &str = "/resources/kenpo.css";
    /// The passkey pages' script (CSP allows scripts from 'self' only, never inline).
    pub const WEBAUTHN_SCRIPT: &str = "/resources/webauthn.js";
    pub const REALM: &str = "/realms/{realm}";
    pub const DISCOVERY: &str = "/realms/{realm}/.well-known/openid-configuration";
    pub const AS_METADATA: &str = "/realms/{realm}/.well-known/oauth-authorization-server";
    pub const AUTH: &str = "/realms/{realm}/protocol/openid-connect/auth";
    pub const TOKEN: &str = "/realms/{realm}/protocol/openid-connect/token";
    pub const USERINFO: &str = "/realms/{realm}/protocol/openid-connect/userinfo";
    pub const CERTS: &str = "/realms/{realm}/protocol/openid-connect/certs";
    pub const LOGOUT: &str = "/realms/{realm}/protocol/openid-connect/logout";
    pub const REVOKE: &str = "/realms/{realm}/protocol/openid-connect/revoke";
    pub const INTROSPECT: &str = "/realms/{realm}/protocol/openid-connect/token/introspect";
    pub const LOGIN_ACTION: &str = "/realms/{realm}/login-actions/authenticate";
    pub const REQUIRED_ACTION: &str = "/realms/{realm}/login-actions/required-action";
    pub const RESET_CREDENTIALS: &str = "/realms/{realm}/login-actions/reset-credentials";
    pub const FORGOT_USERNAME: &str = "/realms/{realm}/login-actions/forgot-username";
    pub const ACTION_TOKEN: &str = "/realms/{realm}/login-actions/action-token";
    /// The account console's pages (Keycloak's paths): プロフィール変更, ログイン方法変更, sessions.
    pub const ACCOUNT: &str = "/realms/{realm}/account";
    pub const ACCOUNT_SIGNING_IN: &str = "/realms/{realm}/account/signing-in";
    pub const ACCOUNT_DEVICE_ACTIVITY: &str = "/realms/{realm}/account/device-activity";
    /// Where the account console's logins come back with their code.
    pub const ACCOUNT_LOGIN_REDIRECT: &str = "/realms/{realm}/account/login-redirect";
    /// Starts a change (`kc_action`) from an account page.
    pub const ACCOUNT_ACTION: &str = "/realms/{realm}/account/action";
}

pub fn router(state: AppState) -> Router {
    let https = web::secure(&state);
    let routes = Router::new()
        .merge(health::routes())
        .merge(admin::routes())
        .merge(realm::routes())
        .merge(oidc::routes())
        .merge(login_actions::routes())
        .merge(account::routes())
        .route(paths::STYLESHEET, get(stylesheet))
        .route(paths::WEBAUTHN_SCRIPT, get(webauthn_script))
        .with_state(state);
    shared_runtime::pages::with_security_headers(
        routes,
        shared_runtime::pages::CSP_WITH_REDIRECTING_FORMS,
        https,
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/kenpo.css"),
    )
}

/// The script that runs a passkey ceremony on the pages that embed one (see its header).
async fn webauthn_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/webauthn.js"),
    )
}
