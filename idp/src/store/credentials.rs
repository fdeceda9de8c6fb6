//! Credentials: Keycloak's model of what proves who a member is (password, OTP app, passkey).

use super::filter::{Bind, Filtered};
use super::{Db, StoreError, meaning_of, to_json};
use crate::domain::{OtpAlgorithm, OtpPolicy};
use serde::{Deserialize, Serialize};
use shared_crypto::password::StoredPassword;
use shared_runtime::db::{from_millis, to_millis};
use sqlx::AnyConnection;
use std::fmt;
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

/// Keycloak's credential type names, so exports and the admin API read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CredentialType {
    #[serde(rename = "password")]
    Password,
    #[serde(rename = "otp")]
    Otp,
    #[serde(rename = "webauthn")]
    Webauthn,
    #[serde(rename = "webauthn-passwordless")]
    WebauthnPasswordless,
}

impl CredentialType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Otp => "otp",
            Self::Webauthn => "webauthn",
            Self::WebauthnPasswordless => "webauthn-passwordless",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Password, Self::Otp, Self::Webauthn, Self::WebauthnPasswordless]
            .into_iter()
            .find(|t| t.as_str() == raw)
    }
}

/// A stored credential. `secret_data` holds the secret part (a password hash, a sealed TOTP
/// seed), so `Debug` leaves it out.
#[derive(Clone, PartialEq)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub kind: CredentialType,
    /// The device name the member gave (OTP app, passkey); unique per member and type.
    pub user_label: Option<String>,
    pub secret_data: String,
    pub credential_data: String,
    /// A passkey's WebAuthn credential id (base64url): what a passwordless sign-in names it by.
    pub webauthn_id: Option<String>,
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("user_label", &self.user_label)
            .field("webauthn_id", &self.webauthn_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// The password hash, if this is a password credential.
    pub fn password(&self) -> Result<StoredPassword, StoreError> {
        super::from_json("credentials.secret_data", &self.secret_data)
    }

    /// What an OTP credential records about its codes.
    pub fn otp(&self) -> Result<OtpData, StoreError> {
        super::from_json("credentials.credential_data", &self.credential_data)
    }
}

/// An OTP credential's `credential_data`: Keycloak's (`subType`, `digits`, `period`,
/// `algorithm`), plus the last time step a code was accepted for, so none is accepted twice.
/// The seed itself is `secret_data`, sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpData {
    pub sub_type: String,
    pub digits: u8,
    pub period: u32,
    pub algorithm: OtpAlgorithm,
    #[serde(default)]
    pub last_used_step: Option<u64>,
}

impl OtpData {
    /// A new TOTP credential's data under `policy`, its setup code's step already used.
    pub fn totp(policy: &OtpPolicy, setup_step: u64) -> Self {
        Self {
            sub_type: "totp".to_owned(),
            digits: policy.digits,
            period: policy.period,
            algorithm: policy.algorithm,
            last_used_step: Some(setup_step),
        }
    }

    /// The policy the credential was made under (a realm may change its policy later; existing
    /// apps keep making codes the old way).
    pub fn policy(&self, look_around: u8) -> OtpPolicy {
        OtpPolicy { algorithm: self.algorithm, digits: self.digits, period: self.period, look_around }
    }
}

/// What creating a credential takes.
#[derive(Clone)]
pub struct NewCredential {
    pub kind: CredentialType,
    pub user_label: Option<String>,
    pub secret_data: String,
    pub credential_data: String,
    /// A passkey's WebAuthn credential id (base64url), unique across realms; `None` otherwise.
    pub webauthn_id: Option<String>,
}

impl fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCredential")
            .field("kind", &self.kind)
            .field("user_label", &self.user_label)
            .field("webauthn_id", &self.webauthn_id)
            .finish_non_exhaustive()
    }
}

impl NewCredential {
    /// An authenticator app: its sealed seed and the device name the member gave.
    pub fn otp(sealed_seed: String, label: String, data: &OtpData) -> Self {
        Self {
            kind: CredentialType::Otp,
            user_label: Some(label),
            secret_data: sealed_seed,
            credential_data: to_json(data),
            webauthn_id: None,
        }
    }

    /// A passkey: no secret (the server holds only its public key), its data as JSON and its
    /// WebAuthn credential id, under the label the member gave.
    pub fn webauthn(webauthn_id: String, label: String, credential_data: String) -> Self {
        Self {
            kind: CredentialType::Webauthn,
            user_label: Some(label),
            secret_data: String::new(),
            credential_data,
            webauthn_id: Some(webauthn_id),
        }
    }

    pub fn password(hash: &StoredPassword) -> Self {
        Self {
            kind: CredentialType::Password,
            user_label: None,
            secret_data: to_json(hash),
            credential_data: "{}".to_owned(),
            webauthn_id: None,
        }
    }
}

pub trait CredentialStore {
    fn create_credential(
        &self,
        user_id: &str,
        credential: NewCredential,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Credential, StoreError>> + Send;
    fn credentials_of(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<Credential>, StoreError>> + Send;
    /// Which of `user_ids` hold at least one credential of `kind`, in one query (a search
    /// page's `totp` flags).
    fn holders_of(
        &self,
        user_ids: &[String],
        kind: CredentialType,
    ) -> impl Future<Output = Result<std::collections::HashSet<String>, StoreError>> + Send;
    fn password_of(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;
    /// Replaces the member's password (its 作成日 becomes `now`).
    fn set_password(
        &self,
        user_id: &str,
        hash: &StoredPassword,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces the stored hash of the same password (a stronger algorithm or parameters): the
    /// password's 作成日 stays, since the member did not change it.
    fn rehash_password(
        &self,
        user_id: &str,
        hash: &StoredPassword,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete_credential(
        &self,
        user_id: &str,
        credential_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records that an OTP credential accepted a code for `step`, if its stored data is still
    /// what `credential` holds (read before the code was checked): of two requests with the
    /// same code, one wins.
    fn use_otp_step(
        &self,
        credential: &Credential,
        step: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The passkey whose WebAuthn credential id is `webauthn_id`, if a member of `realm_id`
    /// holds it: a passwordless sign-in names nothing else.
    fn webauthn_credential(
        &self,
        realm_id: &str,
        webauthn_id: &str,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;
    /// Replaces a credential's `credential_data` (a passkey's sign counter and backup flags
    /// after a sign-in) if it still holds what `credential` read: of two sign-ins that both
    /// checked against the same counter, one wins.
    fn replace_credential_data(
        &self,
        credential: &Credential,
        credential_data: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    id: String,
    user_id: String,
    #[sqlx(rename = "type")]
    kind: String,
    user_label: Option<String>,
    secret_data: String,
    credential_data: String,
    webauthn_credential_id: Option<String>,
    created_at: i64,
}

impl TryFrom<CredentialRow> for Credential {
    type Error = StoreError;
    fn try_from(row: CredentialRow) -> Result<Self, StoreError> {
        Ok(Self {
            kind: CredentialType::parse(&row.kind)
                .ok_or_else(|| StoreError::corrupt(format!("credentials.type {:?}", row.kind)))?,
            id: row.id,
            user_id: row.user_id,
            user_label: row.user_label,
            secret_data: row.secret_data,
            credential_data: row.credential_data,
            webauthn_id: row.webauthn_credential_id,
            created_at: from_millis(row.created_at),
        })
    }
}

const SELECT: &str = "SELECT id, user_id, type, user_label, secret_data, credential_data, \
     webauthn_credential_id, created_at FROM credentials";

pub(super) async fn insert_credential(
    conn: &mut AnyConnection,
    user_id: &str,
    new: NewCredential,
    now: OffsetDateTime,
) -> Result<Credential, StoreError> {
    let credential = Credential {
        id: Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        kind: new.kind,
        user_label: new.user_label,
        secret_data: new.secret_data,
        credential_data: new.credential_data,
        webauthn_id: new.webauthn_id,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO credentials (id, user_id, type, user_label, secret_data, credential_data, \
         webauthn_credential_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&credential.id)
    .bind(&credential.user_id)
    .bind(credential.kind.as_str())
    .bind(&credential.user_label)
    .bind(&credential.secret_data)
    .bind(&credential.credential_data)
    .bind(&credential.webauthn_id)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        meaning_of(
            e,
            &[
                ("one_password", || StoreError::PasswordExists),
                ("webauthn_credential_id", || StoreError::WebauthnCredentialTaken),
                ("user_label", || StoreError::CredentialLabelTaken),
                // SQLite names the columns of a partial index rather than the index.
                ("credentials.user_id", || StoreError::PasswordExists),
            ],
        )
    })?;
    Ok(credential)
}

impl CredentialStore for Db {
    async fn create_credential(
        &self,
        user_id: &str,
        new: NewCredential,
        now: OffsetDateTime,
    ) -> Result<Credential, StoreError> {
        let mut conn = self.pool().acquire().await?;
        insert_credential(&mut conn, user_id, new, now).await
    }

    async fn credentials_of(&self, user_id: &str) -> Result<Vec<Credential>, StoreError> {
        sqlx::query_as::<_, CredentialRow>(&format!("{SELECT} WHERE user_id = $1 ORDER BY created_at"))
            .bind(user_id)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(Credential::try_from)
            .collect()
    }

    async fn holders_of(
        &self,
        user_ids: &[String],
        kind: CredentialType,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if user_ids.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        let marks = vec!["?"; user_ids.len()].join(", ");
        let mut binds = vec![Bind::Text(kind.as_str().to_owned())];
        binds.extend(user_ids.iter().cloned().map(Bind::Text));
        let sql = Filtered::new(
            &format!("SELECT DISTINCT user_id FROM credentials WHERE type = ? AND user_id IN ({marks})"),
            binds,
        );
        let rows: Vec<(String,)> = sql.query_as().fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn password_of(&self, user_id: &str) -> Result<Option<Credential>, StoreError> {
        sqlx::query_as::<_, CredentialRow>(&format!("{SELECT} WHERE user_id = $1 AND type = 'password'"))
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?
            .map(Credential::try_from)
            .transpose()
    }

    async fn set_password(
        &self,
        user_id: &str,
        hash: &StoredPassword,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM credentials WHERE user_id = $1 AND type = 'password'")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        insert_credential(&mut tx, user_id, NewCredential::password(hash), now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rehash_password(&self, user_id: &str, hash: &StoredPassword) -> Result<(), StoreError> {
        sqlx::query("UPDATE credentials SET secret_data = $1 WHERE user_id = $2 AND type = 'password'")
            .bind(to_json(hash))
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn use_otp_step(&self, credential: &Credential, step: u64) -> Result<bool, StoreError> {
        let mut data = credential.otp()?;
        data.last_used_step = Some(step);
        let done =
            sqlx::query("UPDATE credentials SET credential_data = $1 WHERE id = $2 AND credential_data = $3")
                .bind(to_json(&data))
                .bind(&credential.id)
                .bind(&credential.credential_data)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn webauthn_credential(
        &self,
        realm_id: &str,
        webauthn_id: &str,
    ) -> Result<Option<Credential>, StoreError> {
        sqlx::query_as::<_, CredentialRow>(&format!(
            "{SELECT} WHERE webauthn_credential_id = $1 AND type = 'webauthn' \
             AND user_id IN (SELECT id FROM users WHERE realm_id = $2)"
        ))
        .bind(webauthn_id)
        .bind(realm_id)
        .fetch_optional(self.pool())
        .await?
        .map(Credential::try_from)
        .transpose()
    }

    async fn replace_credential_data(&self, credential: &Credential, data: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE credentials SET credential_data = $1 WHERE id = $2 AND credential_data = $3")
                .bind(data)
                .bind(&credential.id)
                .bind(&credential.credential_data)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_credential(&self, user_id: &str, credential_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM credentials WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(credential_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
