//! The production store: Redis, through a multiplexed connection that reconnects by itself.

use super::{EphemeralError, EphemeralStore};
use redis::aio::ConnectionManager;
use redis::{Script, cmd};
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// INCR, and set the expiry on the first increment only, atomically: a fixed window.
static INCR_WITH_WINDOW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "local n = redis.call('INCR', KEYS[1]) \
         if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
         return n",
    )
});

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    /// Every key is prefixed, so the IdP and the portal can share one Redis.
    prefix: Arc<str>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection holds the URL, which may carry a password.
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, EphemeralError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client).await?;
        Ok(Self { conn, prefix: Arc::from(prefix) })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl EphemeralStore for RedisStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, EphemeralError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        let mut conn = self.conn.clone();
        Ok(cmd("GET").arg(self.key(key)).query_async(&mut conn).await?)
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        let mut conn = self.conn.clone();
        Ok(cmd("GETDEL").arg(self.key(key)).query_async(&mut conn).await?)
    }

    async fn delete(&self, key: &str) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        cmd("DEL").arg(self.key(key)).query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, EphemeralError> {
        let mut conn = self.conn.clone();
        Ok(INCR_WITH_WINDOW.key(self.key(key)).arg(millis(ttl)).invoke_async(&mut conn).await?)
    }

    async fn ping(&self) -> Result<(), EphemeralError> {
        let mut conn = self.conn.clone();
        cmd("PING").query_async::<()>(&mut conn).await?;
        Ok(())
    }
}
