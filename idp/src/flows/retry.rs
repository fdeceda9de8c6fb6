//! Retrying durable deliveries (back-channel logouts, mail): shared with the portal's outbox, see
//! `shared_runtime::mail::retry`.

pub use shared_runtime::mail::retry::{MAX_ATTEMPTS, backoff, next_attempt};
