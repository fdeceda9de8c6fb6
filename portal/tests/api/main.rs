//! The portal's integration tests: one binary, a real server per test, every backend.

mod helpers;
mod import;
mod pages;
