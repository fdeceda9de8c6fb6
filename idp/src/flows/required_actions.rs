//! The required-action engine: what a member still owes before a login finishes, in the
//! manual's first-login order (生年月日 → 利用規約 → メールアドレスの更新 → メール認証 →
//! ユーザIDの設定・認証方法の選択 → パスワードの変更, 2-1 steps 4–10), and each step's rules.
//!
//! What is owed lives on the member (`users.required_actions`), and each step removes itself
//! when done, so a member who closes the browser halfway resumes at the right step on the next
//! login. Terms are owed also when the realm has published a version the member has not
//! accepted (3-9). A realm may switch actions off; a switched-off action is skipped, not
//! forgotten.

use super::FlowError;
use super::action_tokens;
use super::brute_force::Lock;
use super::hashing::HashPool;
use super::lockout::{self, FailureKey, IdentityCheck};
use super::logout;
use super::mail::{self, Mail};
use super::mfa::passkey::{self, RegistrationCeremony};
use super::mfa::totp::{self, Setup};
use super::mfa::{self, Registered};
use super::tokens::Ctx;
use crate::domain::totp::TotpSeed;
use crate::domain::{
    AuthMethod, BirthDate, Email, EmailError, PasswordError, RequiredAction, Username, UsernameError,
};
use crate::i18n::Locale;
use crate::store::{ActionKind, CredentialStore, Realm, StoreError, Terms, TermsStore, User, UserStore};
use serde::Serialize;
use shared_crypto::password::{self, PasswordCheck};
use std::net::IpAddr;
use time::Duration;

/// The actions this server has pages for.
const HANDLED: [RequiredAction; 8] = [
    RequiredAction::VerifyBirthdate,
    RequiredAction::TermsAndConditions,
    RequiredAction::UpdateEmail,
    RequiredAction::VerifyEmail,
    RequiredAction::UpdateUserId,
    RequiredAction::UpdatePassword,
    RequiredAction::ConfigureTotp,
    RequiredAction::WebauthnRegister,
];

/// A refused input: which field, and the catalogue key of the message shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: &'static str,
    /// A value the message names (the refused character).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl FieldError {
    pub fn new(field: &'static str, message: &'static str) -> Self {
        Self { field, message, detail: None }
    }
}

/// A step's answer: done, or the messages to show on its page again.
pub type StepResult = Result<Result<(), Vec<FieldError>>, FlowError>;

/// What the member owes now, in order. A member whose chosen method has nothing registered
/// owes its setup (2-1 step 10, FAQ Q18; again after the kenpo reset a lost phone, 3-8).
pub fn pending(
    user: &User,
    realm: &Realm,
    terms: Option<&Terms>,
    registered: Registered,
) -> Vec<RequiredAction> {
    let enabled = |a: &RequiredAction| realm.settings.required_actions.contains(a) && HANDLED.contains(a);
    let mut owed: Vec<RequiredAction> = user.required_actions.iter().copied().filter(enabled).collect();
    let terms_outdated = terms.is_some_and(|t| user.terms_accepted_version.is_none_or(|v| v < t.version));
    owed.retain(|a| match a {
        // Nothing to accept until the realm publishes terms.
        RequiredAction::TermsAndConditions => terms.is_some(),
        // The kenpo's list always carries a birth date; without one there is nothing to check.
        RequiredAction::VerifyBirthdate => user.birthdate.is_some(),
        _ => true,
    });
    if terms_outdated && enabled(&RequiredAction::TermsAndConditions) {
        owed.push(RequiredAction::TermsAndConditions);
    }
    let setup = match user.auth_method {
        Some(AuthMethod::Otp) if !registered.apps => Some(RequiredAction::ConfigureTotp),
        Some(AuthMethod::Webauthn) if !registered.passkeys => Some(RequiredAction::WebauthnRegister),
        // Codes go only to an address the member proved to hold.
        Some(AuthMethod::EmailOtp) if !user.email_verified => Some(RequiredAction::VerifyEmail),
        _ => None,
    };
    owed.extend(setup.filter(enabled));
    // A link can only be mailed to an address: without one, the member gives one first.
    if owed.contains(&RequiredAction::VerifyEmail) && user.email.is_none() {
        owed.push(RequiredAction::UpdateEmail);
    }
    owed.sort();
    owed.dedup();
    owed
}

/// The changes a client may ask a member to make (Keycloak's application-initiated actions,
/// `kc_action`): the sensitive ones, each after a recent authentication (see
/// `RealmSettings::reauthentication_window_seconds`).
pub const ON_REQUEST: [RequiredAction; 4] = [
    RequiredAction::UpdateEmail,
    RequiredAction::UpdatePassword,
    RequiredAction::ConfigureTotp,
    RequiredAction::WebauthnRegister,
];

/// The member's next step: what they owe, then the change the client asked for (`requested`,
/// unless already made in this login).
pub async fn next_with(
    ctx: &Ctx<'_>,
    user: &User,
    requested: Option<RequiredAction>,
) -> Result<Option<RequiredAction>, FlowError> {
    if let Some(owed) = next(ctx, user).await? {
        return Ok(Some(owed));
    }
    let passkeys = passkey::available(ctx);
    let runs = |a: &RequiredAction| {
        ctx.realm.settings.required_actions.contains(a)
            && HANDLED.contains(a)
            && (*a != RequiredAction::WebauthnRegister || passkeys)
    };
    Ok(requested.filter(runs))
}

/// The member's next step, if any. Passkey setup waits where passkeys cannot work (the IdP
/// reached by an IP address): no browser could answer its page.
pub async fn next(ctx: &Ctx<'_>, user: &User) -> Result<Option<RequiredAction>, FlowError> {
    let terms = ctx.db.current_terms(&ctx.realm.id).await?;
    let registered = Registered::of(ctx, user).await?;
    let passkeys = passkey::available(ctx);
    let mut owed = pending(user, ctx.realm, terms.as_ref(), registered).into_iter();
    Ok(owed.find(|a| *a != RequiredAction::WebauthnRegister || passkeys))
}

/// What the birth-date step came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BirthdateCheck {
    Verified,
    /// Empty or not a date: shown again, not counted.
    Invalid(Vec<FieldError>),
    /// A date, but not the member's: counted on the member's lockout record.
    Mismatch,
    /// The record is locked (perhaps by this answer): the member must contact the kenpo.
    Locked(Lock),
}

/// 生年月日の入力: `YYYYMMDD`, as on the kenpo's list. A wrong date counts like a wrong
/// password on the member's birth-date record ([`FailureKey::birthdate`]), so the realm's
/// lockout policy bounds the guesses of whoever holds the member's 仮ID and password.
pub async fn verify_birthdate(
    ctx: &Ctx<'_>,
    user: &mut User,
    raw: &str,
    ip: IpAddr,
) -> Result<BirthdateCheck, FlowError> {
    let Ok(given) = BirthDate::parse_compact(raw) else {
        let key = if raw.trim().is_empty() { "birthdate.empty" } else { "birthdate.format" };
        return Ok(BirthdateCheck::Invalid(vec![FieldError::new("birthdate", key)]));
    };
    let key = FailureKey::birthdate(&user.id);
    let passes = user.birthdate == Some(given);
    match lockout::check_identity(ctx.db, ctx.ephemeral, ctx.realm, key, passes, ip, ctx.now).await? {
        IdentityCheck::Passed => {}
        IdentityCheck::Failed => return Ok(BirthdateCheck::Mismatch),
        IdentityCheck::Locked(lock) => return Ok(BirthdateCheck::Locked(lock)),
    }
    user.complete(RequiredAction::VerifyBirthdate);
    ctx.db.save_member(user).await?;
    Ok(BirthdateCheck::Verified)
}

/// 利用規約への同意: accepts the version in force.
pub async fn accept_terms(ctx: &Ctx<'_>, user: &mut User) -> Result<Option<i64>, FlowError> {
    let version = ctx.db.current_terms(&ctx.realm.id).await?.map(|t| t.version);
    if version.is_some() {
        user.terms_accepted_version = version;
    }
    user.complete(RequiredAction::TermsAndConditions);
    ctx.db.save_member(user).await?;
    Ok(version)
}

/// Whether an email update changed the address (and so asks for verification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailChange {
    Unchanged,
    Changed,
}

/// The manual's message table for an address (2-1 step 6, 3-5).
pub fn email_errors(error: EmailError) -> Vec<FieldError> {
    match error {
        EmailError::Empty => vec![FieldError::new("email", "email.empty")],
        EmailError::Invalid => vec![FieldError::new("email", "email.invalid")],
        // "※上記No.3も同時に表示されます"
        EmailError::TooLong => {
            vec![FieldError::new("email", "email.invalid"), FieldError::new("email", "email.too_long")]
        }
    }
}

/// メールアドレスの更新: keeps or replaces the address. A new address must be verified.
pub async fn update_email(
    ctx: &Ctx<'_>,
    user: &mut User,
    raw: &str,
) -> Result<Result<EmailChange, Vec<FieldError>>, FlowError> {
    let email = match Email::parse(raw) {
        Ok(email) => email,
        Err(e) => return Ok(Err(email_errors(e))),
    };
    let same = user.email.as_ref().is_some_and(|current| current.key() == email.key());
    let change = if same {
        EmailChange::Unchanged
    } else {
        user.email = Some(email);
        user.email_verified = false;
        user.require(RequiredAction::VerifyEmail);
        EmailChange::Changed
    };
    user.complete(RequiredAction::UpdateEmail);
    match ctx.db.save_member(user).await {
        Ok(()) => Ok(Ok(change)),
        Err(StoreError::EmailTaken) => Ok(Err(vec![FieldError::new("email", "email.taken")])),
        Err(e) => Err(e.into()),
    }
}

/// メール認証: mails a 「メールアドレスの確認」 link for the member's current address.
pub async fn send_verification(ctx: &Ctx<'_>, user: &User, locale: Locale) -> Result<bool, FlowError> {
    let Some(email) = &user.email else { return Ok(false) };
    mail_verification_link(ctx, user, ActionKind::VerifyEmail, email, locale).await?;
    Ok(true)
}

/// Mails a 「メールアドレスの確認」 link of `kind` to `email`, valid the realm's
/// `verifyEmailLinkSeconds`: the member's own address (メール認証) or a new one they asked
/// for (`flows::email_change`).
pub async fn mail_verification_link(
    ctx: &Ctx<'_>,
    user: &User,
    kind: ActionKind,
    email: &Email,
    locale: Locale,
) -> Result<(), FlowError> {
    let seconds = ctx.realm.settings.verify_email_link_seconds;
    let valid_for = Duration::seconds(i64::from(seconds));
    let token =
        action_tokens::issue(ctx.db, ctx.realm, &user.id, kind, Some(email.as_str()), valid_for, ctx.now)
            .await?;
    let link = action_tokens::link(ctx.issuer, &token);
    let mail = Mail::VerifyEmail { link: &link, minutes: seconds / 60 };
    mail::enqueue(ctx.db, ctx.master, ctx.realm, ctx.mail_domain, email, locale, mail, ctx.now).await?;
    Ok(())
}

/// Follows a 「メールアドレスの確認」 link: verifies the address it was sent to, if the member
/// still has it. Returns the member, or `None` for a used, expired or unknown link.
pub async fn follow_verification_link(ctx: &Ctx<'_>, key: &str) -> Result<Option<User>, FlowError> {
    let Some(token) = action_tokens::redeem(ctx.db, ctx.realm, ActionKind::VerifyEmail, key, ctx.now).await?
    else {
        return Ok(None);
    };
    let Some(mut user) = ctx.db.user_by_id(&ctx.realm.id, &token.user_id).await? else { return Ok(None) };
    let current = user.email.as_ref().map(Email::key);
    if current.is_none() || current != token.email.as_deref().map(str::to_lowercase) {
        return Ok(None);
    }
    user.email_verified = true;
    user.complete(RequiredAction::VerifyEmail);
    ctx.db.save_member(&user).await?;
    Ok(Some(user))
}

/// ユーザIDの設定・認証方法の選択: a user ID of the member's own (8–13 allowed characters,
/// stored lower case, unique in the realm, not the 仮ID) and one of the realm's methods.
pub async fn choose_user_id(ctx: &Ctx<'_>, user: &mut User, raw_id: &str, raw_method: &str) -> StepResult {
    let mut errors = Vec::new();
    let username = parse_user_id(user, raw_id).map_err(|e| errors.push(e)).ok();
    let method = AuthMethod::parse(raw_method).filter(|m| mfa::offered(ctx).contains(m));
    if method.is_none() {
        errors.push(FieldError::new("authMethod", "method.required"));
    }
    let (Some(username), Some(method), true) = (username, method, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let previous = user.clone();
    user.username = username;
    user.auth_method = Some(method);
    user.complete(RequiredAction::UpdateUserId);
    if !user.owes(RequiredAction::UpdatePassword) {
        user.temporary_id = false;
    }
    match ctx.db.save_member(user).await {
        Ok(()) => Ok(Ok(())),
        Err(StoreError::UsernameTaken) => {
            *user = previous;
            Ok(Err(vec![FieldError::new("username", "userid.taken")]))
        }
        Err(e) => Err(e.into()),
    }
}

/// A user ID of the member's own (2-1 step 9, 3-1): 8–13 allowed characters, stored lower
/// case, not the 仮ID the kenpo issued. Uniqueness is the store's to say.
pub fn parse_user_id(user: &User, raw: &str) -> Result<Username, FieldError> {
    match Username::parse_chosen(raw.trim()) {
        Ok(name) if user.issued_username.as_ref() == Some(&name) => {
            Err(FieldError::new("username", "userid.same_as_temporary"))
        }
        Ok(name) => Ok(name),
        Err(UsernameError::Empty) => Err(FieldError::new("username", "userid.empty")),
        Err(UsernameError::Length { .. }) => Err(FieldError::new("username", "userid.length")),
        Err(UsernameError::Character(c)) => {
            Err(FieldError { field: "username", message: "userid.character", detail: Some(c.to_string()) })
        }
    }
}

/// ワンタイムパスワードの設定: registers the app whose `seed` the page showed (see
/// [`totp::finish_setup`]) and clears the step if the kenpo had asked for it. With
/// `sign_out_elsewhere` (「全てのデバイスからサインアウトする」) the member's other sessions end.
pub async fn configure_totp(
    ctx: &Ctx<'_>,
    user: &mut User,
    seed: &TotpSeed,
    answer: TotpAnswer<'_>,
    current_session: Option<&str>,
) -> Result<Setup, FlowError> {
    let setup = totp::finish_setup(ctx, user, seed, answer.code, answer.label).await?;
    if matches!(setup, Setup::Registered(_)) {
        if user.owes(RequiredAction::ConfigureTotp) {
            user.complete(RequiredAction::ConfigureTotp);
            ctx.db.save_member(user).await?;
        }
        if answer.sign_out_elsewhere {
            logout::end_other_sessions(*ctx, &user.id, current_session).await?;
        }
    }
    Ok(setup)
}

/// セキュリティキーの登録: registers the passkey of the browser's `response` under `label` (see
/// [`passkey::finish_registration`]) and clears the step if it was owed.
pub async fn register_passkey(
    ctx: &Ctx<'_>,
    user: &mut User,
    ceremony: &RegistrationCeremony,
    response: &str,
    label: &str,
) -> Result<passkey::Setup, FlowError> {
    let setup = passkey::finish_registration(ctx, user, ceremony, response, label).await?;
    if matches!(setup, passkey::Setup::Registered(_)) && user.owes(RequiredAction::WebauthnRegister) {
        user.complete(RequiredAction::WebauthnRegister);
        ctx.db.save_member(user).await?;
    }
    Ok(setup)
}

/// What the member sent from the app setup page.
#[derive(Debug, Clone, Copy)]
pub struct TotpAnswer<'a> {
    pub code: &'a str,
    pub label: &'a str,
    pub sign_out_elsewhere: bool,
}

/// Whether the member now signs in with a user ID of their own, not the kenpo's 仮ID.
fn chose_own_id(user: &User) -> bool {
    !user.owes(RequiredAction::UpdateUserId) && user.issued_username.as_ref() != Some(&user.username)
}

/// The messages for a refused new password.
pub fn password_errors(error: PasswordError) -> Vec<FieldError> {
    let (field, key) = match error {
        PasswordError::Empty => ("password-new", "password.empty"),
        PasswordError::TooShort | PasswordError::TooLong => ("password-new", "password.length"),
        PasswordError::Character => ("password-new", "password.character"),
        PasswordError::SameAsUsername => ("password-new", "password.same_as_username"),
        PasswordError::Mismatch => ("password-confirm", "password.mismatch"),
    };
    vec![FieldError::new(field, key)]
}

/// パスワードの変更: the policy, "not the current password", then the new hash.
pub async fn set_password(
    ctx: &Ctx<'_>,
    hashing: &HashPool,
    user: &mut User,
    new: String,
    confirmation: &str,
) -> StepResult {
    match check_new_password(ctx, hashing, user, new, confirmation).await? {
        Ok(new) => {
            store_password(ctx, hashing, user, new).await?;
            Ok(Ok(()))
        }
        Err(errors) => Ok(Err(errors)),
    }
}

/// Checks a new password against the realm's policy and the member's current password, and
/// hands it back if it may be used.
pub async fn check_new_password(
    ctx: &Ctx<'_>,
    hashing: &HashPool,
    user: &User,
    new: String,
    confirmation: &str,
) -> Result<Result<String, Vec<FieldError>>, FlowError> {
    if let Err(e) = ctx.realm.settings.password_policy.check(&new, confirmation, user.username.as_str()) {
        return Ok(Err(password_errors(e)));
    }
    let current = ctx.db.password_of(&user.id).await?.map(|c| c.password()).transpose()?;
    let (same, new) = hashing
        .run(move || {
            let same = current.as_ref().is_some_and(|hash| {
                matches!(password::verify_password(hash, &new), PasswordCheck::Match { .. })
            });
            (same, new)
        })
        .await?;
    if same {
        return Ok(Err(vec![FieldError::new("password-new", "password.same_as_current")]));
    }
    Ok(Ok(new))
}

/// Stores a checked password (its 作成日 is now) and clears the 仮ID flag once the member's own
/// user ID is set too.
pub async fn store_password(
    ctx: &Ctx<'_>,
    hashing: &HashPool,
    user: &mut User,
    new: String,
) -> Result<(), FlowError> {
    let hash = hashing.run(move || password::hash_password(&new)).await??;
    ctx.db.set_password(&user.id, &hash, ctx.now).await?;
    user.complete(RequiredAction::UpdatePassword);
    if chose_own_id(user) {
        user.temporary_id = false;
    }
    ctx.db.save_member(user).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RealmSettings;
    use time::OffsetDateTime;

    fn realm() -> Realm {
        Realm {
            id: "r".to_owned(),
            name: crate::domain::RealmName::parse("demo").unwrap_or_else(|e| panic!("{e}")),
            display_name: "デモ".to_owned(),
            host: None,
            enabled: true,
            settings: RealmSettings::default(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn member(actions: &[RequiredAction]) -> User {
        User {
            id: "u".to_owned(),
            realm_id: "r".to_owned(),
            username: Username::parse_issued("k0001").unwrap_or_else(|e| panic!("{e}")),
            issued_username: None,
            email: Email::parse("taro@example.jp").ok(),
            email_verified: false,
            display_name: "健保 太郎".to_owned(),
            birthdate: BirthDate::parse_compact("19790822").ok(),
            relationship: None,
            temporary_id: true,
            enabled: true,
            required_actions: actions.to_vec(),
            locale: None,
            auth_method: None,
            terms_accepted_version: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    const NONE: Registered = Registered { apps: false, passkeys: false };

    fn terms(version: i64) -> Terms {
        Terms {
            version,
            body_ja: String::new(),
            body_en: String::new(),
            published_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn first_login_runs_in_the_manuals_order() {
        let user = member(&RequiredAction::FIRST_LOGIN);
        assert_eq!(pending(&user, &realm(), Some(&terms(1)), NONE), RequiredAction::FIRST_LOGIN.to_vec());
    }

    #[test]
    fn a_new_terms_version_is_owed_by_members_who_accepted_an_older_one() {
        let mut user = member(&[]);
        user.terms_accepted_version = Some(1);
        assert_eq!(pending(&user, &realm(), Some(&terms(1)), NONE), vec![]);
        assert_eq!(pending(&user, &realm(), Some(&terms(2)), NONE), vec![RequiredAction::TermsAndConditions]);
        user.terms_accepted_version = None;
        assert_eq!(pending(&user, &realm(), None, NONE), vec![], "nothing to accept before terms exist");
    }

    #[test]
    fn switched_off_actions_are_skipped_but_kept() {
        let user = member(&[RequiredAction::VerifyBirthdate, RequiredAction::UpdatePassword]);
        let mut realm = realm();
        realm.settings.required_actions.retain(|a| *a != RequiredAction::VerifyBirthdate);
        assert_eq!(pending(&user, &realm, None, NONE), vec![RequiredAction::UpdatePassword]);
        assert!(user.owes(RequiredAction::VerifyBirthdate));
    }

    #[test]
    fn verification_without_an_address_asks_for_one_first() {
        let mut user = member(&[RequiredAction::VerifyEmail]);
        user.email = None;
        assert_eq!(
            pending(&user, &realm(), None, NONE),
            vec![RequiredAction::UpdateEmail, RequiredAction::VerifyEmail]
        );
    }

    #[test]
    fn a_member_who_chose_the_app_sets_one_up_after_the_password() {
        let mut user = member(&[RequiredAction::UpdateUserId, RequiredAction::UpdatePassword]);
        user.auth_method = Some(AuthMethod::Otp);
        assert_eq!(
            pending(&user, &realm(), None, NONE),
            [RequiredAction::UpdateUserId, RequiredAction::UpdatePassword, RequiredAction::ConfigureTotp]
        );
        let has_app = Registered { apps: true, passkeys: false };
        assert_eq!(
            pending(&user, &realm(), None, has_app),
            [RequiredAction::UpdateUserId, RequiredAction::UpdatePassword]
        );
    }

    #[test]
    fn an_app_setup_the_kenpo_asked_for_runs_even_with_an_app() {
        let user = member(&[RequiredAction::ConfigureTotp]);
        let has_app = Registered { apps: true, passkeys: false };
        assert_eq!(pending(&user, &realm(), None, has_app), [RequiredAction::ConfigureTotp]);
    }

    #[test]
    fn a_member_who_chose_passkeys_registers_one_until_they_have_one() {
        let mut user = member(&[]);
        user.auth_method = Some(AuthMethod::Webauthn);
        assert_eq!(pending(&user, &realm(), None, NONE), [RequiredAction::WebauthnRegister]);
        let has_passkey = Registered { apps: false, passkeys: true };
        assert_eq!(pending(&user, &realm(), None, has_passkey), vec![]);
        // The kenpo may ask for one more, as Keycloak's admin can.
        user.required_actions = vec![RequiredAction::WebauthnRegister];
        assert_eq!(pending(&user, &realm(), None, has_passkey), [RequiredAction::WebauthnRegister]);
    }

    #[test]
    fn an_over_long_address_shows_both_messages() {
        let keys: Vec<_> = email_errors(EmailError::TooLong).into_iter().map(|e| e.message).collect();
        assert_eq!(keys, ["email.invalid", "email.too_long"]);
    }
}
