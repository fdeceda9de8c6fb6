//! HTTP: one `routes()` per concern, merged here, with the security headers every response
//! carries (`shared_runtime::pages`). Handlers translate; `flows` decide; `store` persists.

mod auth;
mod benefits;
mod checkups;
mod etax;
mod health;
mod import_api;
mod inbox;
pub mod kenpo_api;
mod medical;
pub mod member;
mod messages_api;
mod notices;
mod notices_api;
mod pages;
mod preferences;
mod prescriptions;
mod qualification;
mod qualification_api;
mod records;
pub mod survey;
mod survey_api;

use crate::app::AppState;
use axum::Router;

pub fn router(state: AppState) -> Router {
    let https = state.config.public_url.starts_with("https://");
    // The logout form answers with a redirect to the IdP's end-session endpoint, which a
    // `form-action 'self'` policy would block.
    shared_runtime::pages::with_security_headers(
        Router::new()
            .merge(health::routes())
            .merge(auth::routes())
            .merge(medical::routes())
            .merge(benefits::routes())
            .merge(checkups::routes())
            .merge(etax::routes())
            .merge(prescriptions::routes())
            .merge(import_api::routes())
            .merge(kenpo_api::routes())
            .merge(notices::routes())
            .merge(inbox::routes())
            .merge(notices_api::routes())
            .merge(pages::routes())
            .merge(preferences::routes())
            .merge(qualification::routes())
            .merge(qualification_api::routes())
            .merge(survey::routes(state.config.upload_max_bytes))
            .merge(survey_api::routes())
            .with_state(state),
        shared_runtime::pages::CSP_WITH_REDIRECTING_FORMS,
        https,
    )
}
