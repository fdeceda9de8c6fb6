//! Which of a member's claims a client receives: by scope (OIDC Core §5.4), plus any asked for
//! by the `claims` parameter. Address and phone are standard scopes whose claims we do not hold.

use crate::store::User;
use serde_json::{Map, Value};

/// The claims each scope releases.
const PROFILE: [&str; 4] = ["name", "preferred_username", "birthdate", "locale"];
const EMAIL: [&str; 2] = ["email", "email_verified"];

/// The member's claims for `scopes`, plus the individually requested ones.
pub fn for_user(user: &User, scopes: &[&str], requested: &[String]) -> Map<String, Value> {
    let mut wanted: Vec<&str> = Vec::new();
    if scopes.contains(&"profile") {
        wanted.extend(PROFILE);
    }
    if scopes.contains(&"email") {
        wanted.extend(EMAIL);
    }
    wanted.extend(requested.iter().map(String::as_str));
    let mut claims = Map::new();
    for name in wanted {
        if let Some(value) = claim(user, name) {
            claims.insert(name.to_owned(), value);
        }
    }
    claims
}

fn claim(user: &User, name: &str) -> Option<Value> {
    Some(match name {
        "name" => user.display_name.clone().into(),
        "preferred_username" => user.username.to_string().into(),
        "birthdate" => user.birthdate?.to_string().into(),
        "locale" => user.locale.clone()?.into(),
        "email" => user.email.as_ref()?.to_string().into(),
        "email_verified" => {
            user.email.as_ref()?;
            user.email_verified.into()
        }
        _ => return None,
    })
}
