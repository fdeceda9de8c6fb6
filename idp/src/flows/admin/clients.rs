//! Clients through the admin API (Keycloak's `/clients`). A client secret is kept only as a
//! keyed hash, so it is shown once, in the answer that made it (create, regenerate), and never
//! read back.

use super::repr::{ClientRepresentation, ClientSecret, client_attribute};
use super::{AdminError, Caller, Resource, perform};
use crate::domain::{AdminRole, ClientId};
use crate::flows::clients::{self, ClientSpec};
use crate::flows::keys;
use crate::flows::tokens::Ctx;
use crate::store::{Client, ClientStore, GrantType, OperationType};
use secrecy::{ExposeSecret, SecretString};
use shared_crypto::keys::Algorithm;

const CLIENT: &str = "CLIENT";

fn resource(path: impl Into<String>) -> Resource {
    Resource::new(CLIENT, path)
}

/// Clients the realm provides itself (the account pages): not editable through the API.
const BUILT_IN: [&str; 1] = ["account-console"];

/// The spec a representation asks for, starting from `base` (an existing client's, or none).
fn spec_of(rep: &ClientRepresentation, base: Option<&Client>) -> Result<ClientSpec, AdminError> {
    use client_attribute as a;
    let attribute = |name: &str| rep.attributes.as_ref().and_then(|m| m.get(name)).map(String::as_str);
    let client_id = match (&rep.client_id, base) {
        (Some(id), _) => id.trim().to_owned(),
        (None, Some(client)) => client.client_id.as_str().to_owned(),
        (None, None) => return Err(AdminError::invalid("clientId is required")),
    };
    let confidential = match (rep.public_client, base) {
        (Some(public), _) => !public,
        (None, Some(client)) => client.confidential,
        (None, None) => true,
    };
    let had = |grant: GrantType| base.is_some_and(|c| c.grant_types.contains(&grant));
    let code = rep.standard_flow_enabled.unwrap_or(base.is_none() || had(GrantType::AuthorizationCode));
    let service = rep.service_accounts_enabled.unwrap_or(had(GrantType::ClientCredentials));
    let refresh = attribute(a::USE_REFRESH_TOKENS)
        .map(|v| v == "true")
        .unwrap_or(base.is_none() || had(GrantType::RefreshToken));
    if rep.implicit_flow_enabled == Some(true) || rep.direct_access_grants_enabled == Some(true) {
        return Err(AdminError::invalid(
            "the implicit flow and the password grant are not offered (RFC 9700 §2.1.2, §2.4)",
        ));
    }
    let mut grant_types = Vec::new();
    if code {
        grant_types.push(GrantType::AuthorizationCode);
        if refresh {
            grant_types.push(GrantType::RefreshToken);
        }
    }
    if service {
        grant_types.push(GrantType::ClientCredentials);
    }
    let uris =
        |list: &str| list.split("##").map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect();
    let post_logout = match attribute(a::POST_LOGOUT_REDIRECT_URIS) {
        Some(list) => uris(list),
        None => base
            .map(|c| c.post_logout_redirect_uris.iter().map(|u| u.as_str().to_owned()).collect())
            .unwrap_or_default(),
    };
    let backchannel = match attribute(a::BACKCHANNEL_LOGOUT_URL) {
        Some(uri) => Some(uri.trim().to_owned()).filter(|u| !u.is_empty()),
        None => base.and_then(|c| c.backchannel_logout_uri.clone()),
    };
    let signing_alg = match attribute(a::ID_TOKEN_ALG) {
        Some(alg) => {
            alg.parse::<Algorithm>().map_err(|e| AdminError::invalid(format!("{}: {e}", a::ID_TOKEN_ALG)))?
        }
        None => base.map_or(Algorithm::ES256, |c| c.id_token_signing_alg),
    };
    let pkce_required = match attribute(a::PKCE_METHOD) {
        Some("S256") => true,
        Some("") => false,
        Some(other) => {
            return Err(AdminError::invalid(format!("{}: only S256, not {other}", a::PKCE_METHOD)));
        }
        None => base.is_none_or(|c| c.pkce_required),
    };
    Ok(ClientSpec {
        client_id,
        name: rep.name.clone().or_else(|| base.and_then(|c| c.name.clone())),
        confidential,
        secret: rep.secret.clone().map(SecretString::from),
        redirect_uris: match &rep.redirect_uris {
            Some(list) => list.clone(),
            None => base
                .map(|c| c.redirect_uris.iter().map(|u| u.as_str().to_owned()).collect())
                .unwrap_or_default(),
        },
        post_logout_redirect_uris: post_logout,
        backchannel_logout_uri: backchannel,
        grant_types,
        pkce_required,
        signing_alg,
        jwks: base.and_then(|c| c.jwks.clone()),
        rotate_refresh_tokens: attribute(a::REFRESH_ROTATION)
            .map(|v| v == "true")
            .unwrap_or(base.is_none_or(|c| c.rotate_refresh_tokens)),
        audiences: match &rep.protocol_mappers {
            Some(mappers) => {
                let mut audiences = Vec::new();
                for mapper in mappers {
                    if let Some(audience) = mapper.access_token_audience().map_err(AdminError::invalid)? {
                        audiences.push(audience.to_owned());
                    }
                }
                audiences
            }
            None => base.map(|c| c.audiences.clone()).unwrap_or_default(),
        },
    })
}

/// The representation for an admin event, without the secret.
fn logged(rep: &ClientRepresentation) -> Option<String> {
    let mut shown = rep.clone();
    shown.secret = None;
    serde_json::to_string(&shown).ok()
}

async fn find(ctx: Ctx<'_>, id: &str) -> Result<Client, AdminError> {
    ctx.db.client_by_id(&ctx.realm.id, id).await?.ok_or(AdminError::NotFound("Client"))
}

fn editable(client: &Client) -> Result<(), AdminError> {
    if BUILT_IN.contains(&client.client_id.as_str()) {
        return Err(AdminError::invalid("this client is built in and cannot be changed"));
    }
    Ok(())
}

/// `GET /clients?clientId=&first=&max=`.
pub async fn list(
    ctx: Ctx<'_>,
    caller: &Caller,
    client_id: Option<&str>,
    first: Option<u32>,
    max: Option<u32>,
) -> Result<Vec<ClientRepresentation>, AdminError> {
    let (first, max) = super::page(first, max);
    perform(ctx, caller, AdminRole::ViewClients, OperationType::Read, resource("clients"), None, async {
        let all = ctx.db.list_clients(&ctx.realm.id).await?;
        Ok(all
            .iter()
            .filter(|c| client_id.is_none_or(|wanted| c.client_id.as_str() == wanted))
            .skip(first as usize)
            .take(max as usize)
            .map(ClientRepresentation::of)
            .collect())
    })
    .await
}

/// `GET /clients/{id}`.
pub async fn get(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<ClientRepresentation, AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ViewClients,
        OperationType::Read,
        resource(format!("clients/{id}")),
        None,
        async { Ok(ClientRepresentation::of(&find(ctx, id).await?)) },
    )
    .await
}

/// `POST /clients`: returns the new client with its secret, shown this once.
pub async fn create(
    ctx: Ctx<'_>,
    caller: &Caller,
    rep: &ClientRepresentation,
) -> Result<ClientRepresentation, AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ManageClients,
        OperationType::Create,
        resource("clients"),
        logged(rep),
        async {
            let spec = spec_of(rep, None)?;
            if BUILT_IN.contains(&spec.client_id.as_str()) {
                return Err(AdminError::Conflict("Client already exists".to_owned()));
            }
            let (client, secret) = clients::create(ctx.db, ctx.master, ctx.realm, spec, ctx.now)
                .await
                .map_err(super::bad_input)?;
            let mut shown = ClientRepresentation::of(&client);
            shown.secret = secret.map(|s| s.expose_secret().to_owned());
            Ok(shown)
        },
    )
    .await
}

/// `PUT /clients/{id}`: changes what the representation names. A client made public loses its
/// secret; one made confidential gets a new secret, returned this once.
pub async fn update(
    ctx: Ctx<'_>,
    caller: &Caller,
    id: &str,
    rep: &ClientRepresentation,
) -> Result<Option<String>, AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ManageClients,
        OperationType::Update,
        resource(format!("clients/{id}")),
        logged(rep),
        async {
            let existing = find(ctx, id).await?;
            editable(&existing)?;
            let spec = spec_of(rep, Some(&existing))?;
            let keep_secret = spec.confidential && existing.confidential && spec.secret.is_none();
            let (new, secret) = clients::prepare(ctx.master, spec).map_err(super::bad_input)?;
            keys::ensure(ctx.db, ctx.master, &ctx.realm.id, new.id_token_signing_alg, ctx.now).await?;
            let updated = Client {
                id: existing.id.clone(),
                realm_id: existing.realm_id.clone(),
                client_id: new.client_id,
                name: new.name,
                enabled: rep.enabled.unwrap_or(existing.enabled),
                confidential: new.secret_hash.is_some(),
                secret_hash: if keep_secret { existing.secret_hash.clone() } else { new.secret_hash },
                redirect_uris: new.redirect_uris,
                post_logout_redirect_uris: new.post_logout_redirect_uris,
                backchannel_logout_uri: new.backchannel_logout_uri,
                grant_types: new.grant_types,
                pkce_required: new.pkce_required,
                id_token_signing_alg: new.id_token_signing_alg,
                jwks: new.jwks,
                rotate_refresh_tokens: new.rotate_refresh_tokens,
                audiences: new.audiences,
                created_at: existing.created_at,
            };
            ctx.db.update_client(&updated).await?;
            ctx.lookups.forget_client(&ctx.realm.id, existing.client_id.as_str());
            ctx.lookups.forget_client(&ctx.realm.id, updated.client_id.as_str());
            Ok(if keep_secret { None } else { secret.map(|s| s.expose_secret().to_owned()) })
        },
    )
    .await
}

/// `DELETE /clients/{id}`: the client and every grant it holds; its tokens stop working.
pub async fn delete(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<(), AdminError> {
    perform(
        ctx,
        caller,
        AdminRole::ManageClients,
        OperationType::Delete,
        resource(format!("clients/{id}")),
        None,
        async {
            let client = find(ctx, id).await?;
            editable(&client)?;
            ctx.db.delete_client(&ctx.realm.id, &client.id).await?;
            ctx.lookups.forget_client(&ctx.realm.id, client.client_id.as_str());
            Ok(())
        },
    )
    .await
}

/// `GET /clients/{id}/client-secret`: the secret's type only; its value was shown when made.
pub async fn secret(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<ClientSecret, AdminError> {
    let path = format!("clients/{id}/client-secret");
    perform(ctx, caller, AdminRole::ViewClients, OperationType::Read, resource(path), None, async {
        let client = find(ctx, id).await?;
        if !client.confidential {
            return Err(AdminError::invalid("a public client has no secret"));
        }
        Ok(ClientSecret { kind: "secret", value: None })
    })
    .await
}

/// `POST /clients/{id}/client-secret`: a new secret replaces the old at once.
pub async fn regenerate_secret(ctx: Ctx<'_>, caller: &Caller, id: &str) -> Result<ClientSecret, AdminError> {
    let path = format!("clients/{id}/client-secret");
    perform(ctx, caller, AdminRole::ManageClients, OperationType::Action, resource(path), None, async {
        let mut client = find(ctx, id).await?;
        editable(&client)?;
        if !client.confidential {
            return Err(AdminError::invalid("a public client has no secret"));
        }
        let secret = shared_crypto::random::token();
        client.secret_hash = Some(clients::secret_hasher(ctx.master).hash(&secret));
        ctx.db.update_client(&client).await?;
        ctx.lookups.forget_client(&ctx.realm.id, client.client_id.as_str());
        Ok(ClientSecret { kind: "secret", value: Some(secret) })
    })
    .await
}

/// The client a `client_id` names, for the role commands.
pub async fn by_client_id(ctx: Ctx<'_>, client_id: &str) -> Result<Client, AdminError> {
    let parsed = ClientId::parse(client_id).map_err(|e| AdminError::invalid(format!("clientId: {e}")))?;
    ctx.db.client_by_client_id(&ctx.realm.id, &parsed).await?.ok_or(AdminError::NotFound("Client"))
}
