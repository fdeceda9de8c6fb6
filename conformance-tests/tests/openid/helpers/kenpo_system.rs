//! One of the kenpo's own systems calling the portal's kenpo API: a confidential client with the
//! client_credentials grant at the suite's realm, holding roles at the portal as an operator
//! would grant them (`kenpo-portal api-client grant`).

use super::{ClientAuth, Idp, Portal, TestClient};
use kenpo_idp::flows::clients::{self, ClientSpec};
use kenpo_idp::store::GrantType;
use kenpo_portal::flows::kenpo_api::ApiRole;
use kenpo_portal::store::ApiGrantStore;
use secrecy::SecretString;
use shared_crypto::keys::Algorithm;

#[derive(Debug, Clone)]
pub struct KenpoSystem {
    pub client: TestClient,
}

impl Idp {
    /// Registers `client_id` (client_credentials only, its tokens for the portal) and grants it
    /// `roles` at `portal`.
    pub async fn kenpo_system(&self, portal: &Portal, client_id: &str, roles: &[ApiRole]) -> KenpoSystem {
        // Its tokens are for the portal: the portal checks `aud` and may introspect them.
        let audiences = vec![portal.state.config.client_id.clone()];
        self.kenpo_system_for(portal, client_id, roles, audiences).await
    }

    /// Like [`Self::kenpo_system`], its tokens for `audiences`.
    pub async fn kenpo_system_for(
        &self,
        portal: &Portal,
        client_id: &str,
        roles: &[ApiRole],
        audiences: Vec<String>,
    ) -> KenpoSystem {
        let secret = shared_crypto::random::token();
        let spec = ClientSpec {
            client_id: client_id.to_owned(),
            name: Some(format!("健保基幹システム {client_id}")),
            confidential: true,
            secret: Some(SecretString::from(secret.clone())),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![GrantType::ClientCredentials],
            pkce_required: false,
            signing_alg: Algorithm::ES256,
            jwks: None,
            rotate_refresh_tokens: false,
            audiences,
        };
        clients::create(&self.state.db, &self.state.master_key, &self.realm, spec, self.now())
            .await
            .unwrap_or_else(|e| panic!("registering {client_id}: {e}"));
        let kenpo = &portal.state.kenpo_id;
        for role in roles {
            portal
                .state
                .db
                .grant_api_role(kenpo, client_id, role.as_str(), 0)
                .await
                .unwrap_or_else(|e| panic!("granting {role}: {e}"));
        }
        let client = TestClient {
            client_id: client_id.to_owned(),
            secret,
            redirect_uri: String::new(),
            post_logout_redirect_uri: String::new(),
            alg: Algorithm::ES256,
        };
        KenpoSystem { client }
    }

    /// A fresh access token of `system` from the token endpoint.
    pub async fn system_token(&self, system: &KenpoSystem) -> String {
        let response = self
            .token_request(&system.client, ClientAuth::Basic, &[("grant_type", "client_credentials")])
            .await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_else(|e| panic!("token response: {e}"));
        assert!(status.is_success(), "client_credentials for {}: {body}", system.client.client_id);
        body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token: {body}")).to_owned()
    }
}
