//! Short-lived state: authorization codes, reset links, WebAuthn ceremonies, OTP replay marks and
//! lockout counters. On Redis in production, in process otherwise; both behind
//! [`EphemeralStore`]. Nothing here is the only record of a durable fact: losing it all costs
//! members a retry, never an account.

mod memory;
mod redis;

pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;

use std::future::Future;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EphemeralError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
}

/// Values with a time to live, taken atomically, and counters that expire.
pub trait EphemeralStore: Send + Sync {
    /// Stores `value` under `key` for `ttl`, replacing what was there.
    fn put(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> impl Future<Output = Result<(), EphemeralError>> + Send;
    /// Stores `value` only if `key` holds nothing; says whether it did. For "use once" marks.
    fn put_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, EphemeralError>> + Send;
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, EphemeralError>> + Send;
    /// Gets and deletes in one step: of two concurrent takers, exactly one gets the value.
    fn take(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, EphemeralError>> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), EphemeralError>> + Send;
    /// Adds one and returns the new count. The first increment starts a window of `ttl`, after
    /// which the counter disappears (fixed-window rate limiting and failure counting).
    fn incr(&self, key: &str, ttl: Duration) -> impl Future<Output = Result<u64, EphemeralError>> + Send;
    fn ping(&self) -> impl Future<Output = Result<(), EphemeralError>> + Send;
}

/// The store chosen at start-up: Redis when a URL is configured, memory otherwise.
#[derive(Debug, Clone)]
pub enum Ephemeral {
    Memory(MemoryStore),
    /// Boxed: the connection manager is large, and the enum is cloned into every handler.
    Redis(Box<RedisStore>),
}

impl Ephemeral {
    pub async fn connect(redis_url: Option<&str>, prefix: &str) -> Result<Self, EphemeralError> {
        Ok(match redis_url {
            Some(url) => Self::Redis(Box::new(RedisStore::connect(url, prefix).await?)),
            None => Self::Memory(MemoryStore::new()),
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            Self::Redis(_) => "redis",
        }
    }
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Ephemeral::Memory($store) => $call.await,
            Ephemeral::Redis($store) => $call.await,
        }
    };
}

impl EphemeralStore for Ephemeral {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), EphemeralError> {
        delegate!(self, s => s.put(key, value, ttl))
    }
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, EphemeralError> {
        delegate!(self, s => s.put_if_absent(key, value, ttl))
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        delegate!(self, s => s.get(key))
    }
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        delegate!(self, s => s.take(key))
    }
    async fn delete(&self, key: &str) -> Result<(), EphemeralError> {
        delegate!(self, s => s.delete(key))
    }
    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, EphemeralError> {
        delegate!(self, s => s.incr(key, ttl))
    }
    async fn ping(&self) -> Result<(), EphemeralError> {
        delegate!(self, s => s.ping())
    }
}
