//! The embedded demo kenpo.

use crate::helpers::{Backend, spawn_app_with};
use kenpo_idp::demo;
use kenpo_idp::domain::{ClientId, RequiredAction, Username};
use kenpo_idp::flows::{clients, realms};
use kenpo_idp::store::{ClientStore, UserStore};
use secrecy::ExposeSecret;

#[tokio::test]
async fn first_start_creates_the_demo_kenpo_once() {
    let Some(app) = spawn_app_with(Backend::Sqlite, &[("KENPO_IDP_DEMO", "true")]).await else { return };
    let realm = realms::find(&app.state.db, demo::REALM).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(realm.display_name, "デモ健康保険組合加入者ページ");
    let members = app.state.db.count_users(&realm.id).await.ok();
    assert_eq!(members, Some(3));
    let taro = Username::parse_issued("k00000001").unwrap_or_else(|e| panic!("{e}"));
    let taro = app
        .state
        .db
        .user_by_username(&realm.id, &taro)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("taro"));
    assert!(taro.temporary_id);
    assert_eq!(taro.required_actions, RequiredAction::FIRST_LOGIN.to_vec());

    let client_id = ClientId::parse(demo::CLIENT_ID).unwrap_or_else(|e| panic!("{e}"));
    let client = app
        .state
        .db
        .client_by_client_id(&realm.id, &client_id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("client"));
    assert_eq!(client.redirect_uris[0].as_str(), "http://127.0.0.1:3000/auth/callback");
    let secret = demo::client_secret(&app.state.master_key);
    let hash = client.secret_hash.clone().unwrap_or_default();
    assert!(clients::secret_hasher(&app.state.master_key).verify(secret.expose_secret(), &hash));

    // A second start (same data) reads what is there and duplicates nothing.
    let again = demo::ensure(&app.state).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.members.len(), 3);
    assert_eq!(again.client_secret.expose_secret(), secret.expose_secret());
    assert_eq!(app.state.db.count_users(&realm.id).await.ok(), Some(3));
    // The portal's client and the realm's built-in account console (the account pages).
    let client_ids = app.state.db.list_clients(&realm.id).await.unwrap_or_else(|e| panic!("{e}"));
    let client_ids: Vec<_> = client_ids.iter().map(|c| c.client_id.as_str().to_owned()).collect();
    assert_eq!(client_ids, ["account-console", "portal"]);
}
