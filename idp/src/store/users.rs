//! Members of a realm (被保険者 and 被扶養者).

use super::credentials::insert_credential;
use super::{Db, NewCredential, StoreError, flag, from_json, is_set, meaning_of, to_json};
use crate::domain::{AuthMethod, BirthDate, Email, Relationship, RequiredAction, Username};
use shared_runtime::db::{from_millis, to_millis};
use sqlx::AnyConnection;
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Stable per realm: the OIDC `sub`.
    pub id: String,
    pub realm_id: String,
    /// ユーザID, lower case.
    pub username: Username,
    /// The 仮ID the kenpo issued, if the member came from a member list.
    pub issued_username: Option<Username>,
    pub email: Option<Email>,
    pub email_verified: bool,
    /// ユーザー名: only the kenpo changes it (Q13).
    pub display_name: String,
    pub birthdate: Option<BirthDate>,
    pub relationship: Option<Relationship>,
    /// 仮IDフラグ: the member still uses the ID and password the kenpo issued.
    pub temporary_id: bool,
    pub enabled: bool,
    /// Steps owed at the next login, in the order they will run.
    pub required_actions: Vec<RequiredAction>,
    pub locale: Option<String>,
    /// 認証方法: the second factor the member chose.
    pub auth_method: Option<AuthMethod>,
    /// The terms-of-use version the member last accepted.
    pub terms_accepted_version: Option<i64>,
    pub created_at: OffsetDateTime,
}

impl User {
    pub fn owes(&self, action: RequiredAction) -> bool {
        self.required_actions.contains(&action)
    }

    /// Adds `action` (kept in the manual's order, at most once).
    pub fn require(&mut self, action: RequiredAction) {
        if !self.owes(action) {
            self.required_actions.push(action);
            self.required_actions.sort();
        }
    }

    pub fn complete(&mut self, action: RequiredAction) {
        self.required_actions.retain(|a| *a != action);
    }
}

/// What creating a member takes.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub issued_username: Option<Username>,
    pub email: Option<Email>,
    pub email_verified: bool,
    pub display_name: String,
    pub birthdate: Option<BirthDate>,
    pub relationship: Option<Relationship>,
    pub temporary_id: bool,
    pub required_actions: Vec<RequiredAction>,
    pub locale: Option<String>,
}

/// The fields the kenpo owns and may change by re-importing its member list.
#[derive(Debug, Clone, PartialEq)]
pub struct UserUpdate {
    pub display_name: String,
    pub birthdate: Option<BirthDate>,
    pub relationship: Option<Relationship>,
}

pub trait UserStore {
    fn create_user(
        &self,
        realm_id: &str,
        user: NewUser,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;
    fn user_by_id(
        &self,
        realm_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    fn user_by_username(
        &self,
        realm_id: &str,
        username: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    fn user_by_issued_username(
        &self,
        realm_id: &str,
        issued: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    /// The member who signs in as `name`: their user ID, or else the 仮ID the kenpo issued
    /// (recovery pages, the operator's commands).
    fn user_by_id_or_issued(
        &self,
        realm_id: &str,
        name: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    fn user_by_email(
        &self,
        realm_id: &str,
        email: &Email,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    fn count_users(&self, realm_id: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn update_user(
        &self,
        realm_id: &str,
        id: &str,
        update: &UserUpdate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Saves what the member changes about themselves at login and in the account pages: user ID,
    /// email and its verification, 仮ID flag, owed actions, method, accepted terms, language.
    /// A user ID or email another member holds is `UsernameTaken` / `EmailTaken`.
    fn save_member(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The kenpo turns the member's account off (Q6: the member is told to contact the kenpo)
    /// or on again.
    fn set_enabled(
        &self,
        realm_id: &str,
        id: &str,
        enabled: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates and updates members in one transaction: all of it happens, or none.
    fn import_members(
        &self,
        realm_id: &str,
        creates: Vec<(NewUser, NewCredential)>,
        updates: Vec<(String, UserUpdate)>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: String,
    realm_id: String,
    username: String,
    issued_username: Option<String>,
    email: Option<String>,
    email_verified: i16,
    display_name: String,
    birthdate: Option<String>,
    relationship: Option<String>,
    temporary_id: i16,
    enabled: i16,
    required_actions: String,
    locale: Option<String>,
    auth_method: Option<String>,
    terms_accepted_version: Option<i64>,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        let username = |raw: &str| Username::parse_issued(raw).map_err(StoreError::corrupt);
        Ok(Self {
            username: username(&row.username)?,
            issued_username: row.issued_username.as_deref().map(username).transpose()?,
            email: row.email.as_deref().map(|e| Email::parse(e).map_err(StoreError::corrupt)).transpose()?,
            birthdate: row
                .birthdate
                .as_deref()
                .map(|d| BirthDate::parse_iso(d).map_err(StoreError::corrupt))
                .transpose()?,
            relationship: row
                .relationship
                .as_deref()
                .map(|r| r.parse().map_err(|()| StoreError::corrupt("users.relationship")))
                .transpose()?,
            required_actions: from_json("users.required_actions", &row.required_actions)?,
            id: row.id,
            realm_id: row.realm_id,
            email_verified: is_set(row.email_verified),
            display_name: row.display_name,
            temporary_id: is_set(row.temporary_id),
            enabled: is_set(row.enabled),
            locale: row.locale,
            auth_method: row
                .auth_method
                .as_deref()
                .map(|m| AuthMethod::parse(m).ok_or_else(|| StoreError::corrupt("users.auth_method")))
                .transpose()?,
            terms_accepted_version: row.terms_accepted_version,
            created_at: from_millis(row.created_at),
        })
    }
}

pub(super) const SELECT: &str = "SELECT id, realm_id, username, issued_username, email, email_verified, \
     display_name, birthdate, relationship, temporary_id, enabled, required_actions, locale, \
     auth_method, terms_accepted_version, created_at FROM users";

/// Unique violations, most specific first: `issued_username` contains `username`.
fn user_conflict(err: sqlx::Error) -> StoreError {
    meaning_of(
        err,
        &[
            ("issued_username", || StoreError::IssuedUsernameTaken),
            ("username", || StoreError::UsernameTaken),
            ("email", || StoreError::EmailTaken),
        ],
    )
}

async fn insert_user(
    conn: &mut AnyConnection,
    realm_id: &str,
    new: NewUser,
    now: OffsetDateTime,
) -> Result<User, StoreError> {
    insert_user_as(conn, Uuid::new_v4().to_string(), realm_id, new, (true, None), now).await
}

/// Inserts a member under a given `id` (a migrated member keeps their `sub`), enabled or not
/// and with their second-factor method already chosen.
pub(super) async fn insert_user_as(
    conn: &mut AnyConnection,
    id: String,
    realm_id: &str,
    new: NewUser,
    (enabled, auth_method): (bool, Option<AuthMethod>),
    now: OffsetDateTime,
) -> Result<User, StoreError> {
    let user = User {
        id,
        realm_id: realm_id.to_owned(),
        username: new.username,
        issued_username: new.issued_username,
        email: new.email,
        email_verified: new.email_verified,
        display_name: new.display_name,
        birthdate: new.birthdate,
        relationship: new.relationship,
        temporary_id: new.temporary_id,
        enabled,
        required_actions: new.required_actions,
        locale: new.locale,
        auth_method,
        terms_accepted_version: None,
        created_at: now,
    };
    sqlx::query(
        "INSERT INTO users (id, realm_id, username, issued_username, email, email_verified, \
         display_name, birthdate, relationship, temporary_id, enabled, required_actions, locale, \
         auth_method, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&user.id)
    .bind(&user.realm_id)
    .bind(user.username.as_str())
    .bind(user.issued_username.as_ref().map(Username::as_str))
    .bind(user.email.as_ref().map(Email::as_str))
    .bind(flag(user.email_verified))
    .bind(&user.display_name)
    .bind(user.birthdate.map(|d| d.to_string()))
    .bind(user.relationship.map(Relationship::as_str))
    .bind(flag(user.temporary_id))
    .bind(flag(user.enabled))
    .bind(to_json(&user.required_actions))
    .bind(&user.locale)
    .bind(user.auth_method.map(AuthMethod::as_str))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await
    .map_err(user_conflict)?;
    Ok(user)
}

async fn write_update(
    conn: &mut AnyConnection,
    realm_id: &str,
    id: &str,
    update: &UserUpdate,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE users SET display_name = $1, birthdate = $2, relationship = $3 \
         WHERE realm_id = $4 AND id = $5",
    )
    .bind(&update.display_name)
    .bind(update.birthdate.map(|d| d.to_string()))
    .bind(update.relationship.map(Relationship::as_str))
    .bind(realm_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("user"));
    }
    Ok(())
}

impl Db {
    async fn one_user(&self, filter: &str, realm_id: &str, value: &str) -> Result<Option<User>, StoreError> {
        sqlx::query_as::<_, UserRow>(&format!("{SELECT} WHERE realm_id = $1 AND {filter}"))
            .bind(realm_id)
            .bind(value)
            .fetch_optional(self.pool())
            .await?
            .map(User::try_from)
            .transpose()
    }
}

impl UserStore for Db {
    async fn create_user(
        &self,
        realm_id: &str,
        new: NewUser,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let mut conn = self.pool().acquire().await?;
        insert_user(&mut conn, realm_id, new, now).await
    }

    async fn user_by_id(&self, realm_id: &str, id: &str) -> Result<Option<User>, StoreError> {
        self.one_user("id = $2", realm_id, id).await
    }

    async fn user_by_username(
        &self,
        realm_id: &str,
        username: &Username,
    ) -> Result<Option<User>, StoreError> {
        self.one_user("username = $2", realm_id, username.as_str()).await
    }

    async fn user_by_issued_username(
        &self,
        realm_id: &str,
        issued: &Username,
    ) -> Result<Option<User>, StoreError> {
        self.one_user("issued_username = $2", realm_id, issued.as_str()).await
    }

    async fn user_by_id_or_issued(
        &self,
        realm_id: &str,
        name: &Username,
    ) -> Result<Option<User>, StoreError> {
        match self.user_by_username(realm_id, name).await? {
            Some(user) => Ok(Some(user)),
            None => self.user_by_issued_username(realm_id, name).await,
        }
    }

    async fn user_by_email(&self, realm_id: &str, email: &Email) -> Result<Option<User>, StoreError> {
        self.one_user("lower(email) = $2", realm_id, &email.key()).await
    }

    async fn count_users(&self, realm_id: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE realm_id = $1")
            .bind(realm_id)
            .fetch_one(self.pool())
            .await?;
        u64::try_from(count).map_err(StoreError::corrupt)
    }

    async fn update_user(&self, realm_id: &str, id: &str, update: &UserUpdate) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await?;
        write_update(&mut conn, realm_id, id, update).await
    }

    async fn save_member(&self, user: &User) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE users SET username = $1, email = $2, email_verified = $3, temporary_id = $4, \
             required_actions = $5, auth_method = $6, terms_accepted_version = $7, locale = $8 \
             WHERE realm_id = $9 AND id = $10",
        )
        .bind(user.username.as_str())
        .bind(user.email.as_ref().map(Email::as_str))
        .bind(flag(user.email_verified))
        .bind(flag(user.temporary_id))
        .bind(to_json(&user.required_actions))
        .bind(user.auth_method.map(AuthMethod::as_str))
        .bind(user.terms_accepted_version)
        .bind(&user.locale)
        .bind(&user.realm_id)
        .bind(&user.id)
        .execute(self.pool())
        .await
        .map_err(user_conflict)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn set_enabled(&self, realm_id: &str, id: &str, enabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET enabled = $1 WHERE realm_id = $2 AND id = $3")
            .bind(flag(enabled))
            .bind(realm_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn import_members(
        &self,
        realm_id: &str,
        creates: Vec<(NewUser, NewCredential)>,
        updates: Vec<(String, UserUpdate)>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (user, password) in creates {
            let user = insert_user(&mut tx, realm_id, user, now).await?;
            insert_credential(&mut tx, &user.id, password, now).await?;
        }
        for (id, update) in &updates {
            write_update(&mut tx, realm_id, id, update).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
