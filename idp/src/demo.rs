//! The demo kenpo of the embedded mode: a realm, the portal's client and a few members with
//! temporary IDs, so a newcomer's first command gives something to log in to.

use crate::app::AppState;
use crate::domain::ClientId;
use crate::flows::FlowError;
use crate::flows::clients::{self, ClientSpec};
use crate::flows::import_members::{self, ImportError};
use crate::flows::realms::{self, RealmSpec};
use crate::import::members;
use crate::store::{ClientStore, GrantType, TermsStore, UserStore};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use shared_crypto::MasterKey;
use shared_crypto::keys::Algorithm;

pub const REALM: &str = "demo";
pub const DISPLAY_NAME: &str = "デモ健康保険組合加入者ページ";
pub const CLIENT_ID: &str = "portal";
const DEMO_TERMS_JA: &str = "第1条（目的）\nこの規約は、デモ健康保険組合加入者ページ（以下「本サービス」）の利用条件を定めるものです。\n\n\
第2条（ユーザIDとパスワードの管理）\n加入者は、自己のユーザIDとパスワードを適切に管理し、第三者に利用させてはなりません。\n\n\
第3条（個人情報の取扱い）\n本サービスで取り扱う医療費等の情報は、健康保険組合が法令に従い適切に管理します。";
const DEMO_TERMS_EN: &str = "Article 1 (Purpose)\nThese terms set out the conditions for using the Demo Health Insurance Society member pages (the Service).\n\n\
Article 2 (User ID and password)\nMembers keep their user ID and password safe and do not let anyone else use them.\n\n\
Article 3 (Personal information)\nThe society handles medical-cost and other information in the Service properly and as the law requires.";
/// Public demo data: these temporary passwords are printed at start-up on purpose.
const MEMBERS_CSV: &str = include_str!("demo_members.csv");

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Flow(#[from] FlowError),
    #[error(transparent)]
    Import(#[from] ImportError),
}

/// What the launcher prints and hands the portal.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub members: Vec<DemoMember>,
}

#[derive(Debug, Clone)]
pub struct DemoMember {
    /// The IdP user's id: the `sub` the portal's demo data is tied to.
    pub id: String,
    pub username: String,
    pub temporary_password: String,
    pub display_name: String,
}

/// The demo client's secret, derived from the master key: the same on every start, so the
/// launcher can hand it to the portal without storing it anywhere.
pub fn client_secret(master: &MasterKey) -> SecretString {
    let bytes = master.derive("demo-portal-client-secret/v1");
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Creates what is missing of the demo kenpo; on later starts it only reads.
pub async fn ensure(state: &AppState) -> Result<DemoInfo, DemoError> {
    let now = state.clock.now();
    let master = &state.master_key;
    let realm = match realms::find(&state.db, REALM).await {
        Ok(realm) => realm,
        Err(FlowError::UnknownRealm(_)) => {
            let spec =
                RealmSpec { name: REALM.to_owned(), display_name: DISPLAY_NAME.to_owned(), host: None };
            realms::create(&state.db, master, spec, now).await?
        }
        Err(e) => return Err(e.into()),
    };
    let secret = client_secret(master);
    let client_id = ClientId::parse(CLIENT_ID).map_err(|e| FlowError::invalid("client_id", e))?;
    if state.db.client_by_client_id(&realm.id, &client_id).await.map_err(FlowError::from)?.is_none() {
        let portal = &state.config.demo_portal_url;
        let spec = ClientSpec {
            client_id: CLIENT_ID.to_owned(),
            name: Some("加入者ポータル".to_owned()),
            confidential: true,
            secret: Some(secret.clone()),
            redirect_uris: vec![format!("{portal}/auth/callback")],
            post_logout_redirect_uris: vec![format!("{portal}/")],
            backchannel_logout_uri: Some(format!("{portal}/auth/backchannel-logout")),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            pkce_required: true,
            signing_alg: Algorithm::ES256,
            jwks: None,
            rotate_refresh_tokens: true,
            audiences: vec![],
        };
        clients::create(&state.db, master, &realm, spec, now).await?;
    }
    if state.db.current_terms(&realm.id).await.map_err(FlowError::from)?.is_none() {
        crate::flows::terms::publish(&state.db, &realm, DEMO_TERMS_JA, DEMO_TERMS_EN, now).await?;
    }
    let report = import_members::import(&state.db, &realm, MEMBERS_CSV.as_bytes(), now).await?;
    if report.created > 0 {
        tracing::info!(created = report.created, "created the demo kenpo's members");
    }
    let lines = members::parse(MEMBERS_CSV.as_bytes())
        .map_err(|e| FlowError::invalid("demo members", format!("{e:?}")))?;
    let mut members = Vec::with_capacity(lines.len());
    for m in lines {
        // Found by the ID the kenpo issued: a member who chose their own since keeps the same id.
        let user = state.db.user_by_issued_username(&realm.id, &m.username).await.map_err(FlowError::from)?;
        members.push(DemoMember {
            id: user.map(|u| u.id).unwrap_or_default(),
            username: m.username.to_string(),
            temporary_password: m.temporary_password.expose_secret().to_owned(),
            display_name: m.display_name,
        });
    }
    Ok(DemoInfo {
        issuer: state.config.issuer(REALM),
        client_id: CLIENT_ID.to_owned(),
        client_secret: secret,
        members,
    })
}
