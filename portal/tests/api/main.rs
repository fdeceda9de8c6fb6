//! The portal's integration tests: one binary, a real server per test, every backend.

mod admin;
mod helpers;
mod import;
mod pages;
mod update_mails;
