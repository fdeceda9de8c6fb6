//! Our port of the OpenID Foundation's conformance suite for OpenID Providers: one test per
//! module of four certification plans, named after the module (`oidcc-codereuse-30seconds` ->
//! `oidcc_codereuse_30seconds`), each run against a freshly spawned IdP on SQLite and on
//! PostgreSQL. See `shared/spec/oidc-conformance.md` for the plans and what each module checks.
//!
//! Where a module ends in the suite's REVIEW state (a screenshot for a person to judge), the
//! test asserts what that screenshot must show: the login page again, an error page, or the
//! logged-out page, and never a redirect.

mod accessibility;
mod account;
mod backchannel_op;
mod basic_op;
mod config_op;
mod first_login;
mod first_login_rules;
mod helpers;
mod login_page;
mod passkey_script;
mod passkeys;
mod portal;
mod portal_demo;
mod portal_kenpo_api;
mod portal_notices;
mod portal_notices_api;
mod portal_qualification;
mod portal_qualification_access;
mod portal_qualification_mails;
mod portal_settings;
mod portal_survey;
mod portal_survey_gaps;
mod portal_tenants;
mod portal_update_mails;
mod protocol;
mod recovery;
mod rp_initiated_op;
mod second_factor;
