//! Granting `realm-management` roles (the operator's `kenpo-idp admin grant-role`): to a staff
//! member by user ID, or to a client's service account.

use super::AdminError;
use crate::domain::{AdminRole, Principal, Username};
use crate::flows::tokens::Ctx;
use crate::store::{AdminStore, GrantType, UserStore};

/// Who an operator names.
#[derive(Debug, Clone)]
pub enum Named {
    User(String),
    Client(String),
}

/// The principal `named` stands for, which must exist: a user of the realm, or a client that
/// can get tokens of its own (`client_credentials`).
pub async fn principal(ctx: Ctx<'_>, named: &Named) -> Result<Principal, AdminError> {
    match named {
        Named::User(name) => {
            let username =
                Username::parse_issued(name.trim()).map_err(|e| AdminError::invalid(format!("user: {e}")))?;
            let user = ctx
                .db
                .user_by_id_or_issued(&ctx.realm.id, &username)
                .await?
                .ok_or(AdminError::NotFound("User"))?;
            Ok(Principal::User(user.id))
        }
        Named::Client(client_id) => {
            let client = super::clients::by_client_id(ctx, client_id).await?;
            if !client.grant_types.contains(&GrantType::ClientCredentials) {
                return Err(AdminError::invalid(
                    "the client has no service account: it needs the client_credentials grant",
                ));
            }
            Ok(Principal::ServiceAccount(client.client_id.as_str().to_owned()))
        }
    }
}

pub async fn grant(ctx: Ctx<'_>, named: &Named, role: AdminRole) -> Result<Principal, AdminError> {
    let principal = principal(ctx, named).await?;
    ctx.db.grant_role(&ctx.realm.id, &principal, role).await?;
    Ok(principal)
}

/// Whether the role was held.
pub async fn revoke(ctx: Ctx<'_>, named: &Named, role: AdminRole) -> Result<bool, AdminError> {
    let principal = principal(ctx, named).await?;
    Ok(ctx.db.revoke_role(&ctx.realm.id, &principal, role).await?)
}

pub async fn roles(ctx: Ctx<'_>, named: &Named) -> Result<Vec<AdminRole>, AdminError> {
    let principal = principal(ctx, named).await?;
    Ok(ctx.db.roles_of(&ctx.realm.id, &principal).await?)
}
