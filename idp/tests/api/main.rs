//! The IdP's integration tests: one binary, a real server per test, every backend.

mod account;
mod admin;
mod admin_clients;
mod admin_users;
mod birthdate_lockout;
mod demo;
mod email_otp;
mod ephemeral;
mod health;
mod helpers;
mod import;
mod import_keycloak;
mod lockout;
mod login_browser;
mod mail;
mod operator;
mod outbox;
mod passkey;
mod smtp;
mod soft_passkey;
mod store;
mod totp;
