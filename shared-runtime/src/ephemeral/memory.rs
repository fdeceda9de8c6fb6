//! The in-process store of the embedded mode: a map guarded by a mutex, swept as it grows.

use super::{EphemeralError, EphemeralStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Expired entries are dropped by a sweep every this many writes, so memory stays bounded by
/// what is live rather than by what was ever written.
const SWEEP_EVERY: u64 = 1024;

#[derive(Debug)]
enum Value {
    Bytes(Vec<u8>),
    Counter(u64),
}

#[derive(Debug)]
struct Entry {
    value: Value,
    expires_at: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    writes: u64,
}

impl Inner {
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|e| e.expires_at <= now) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn insert(&mut self, key: &str, value: Value, expires_at: Instant, now: Instant) {
        self.writes += 1;
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.entries.retain(|_, e| e.expires_at > now);
        }
        self.entries.insert(key.to_owned(), Entry { value, expires_at });
    }
}

#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-written: every operation
        // is a single insert or remove.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn bytes(entry: &Entry) -> Vec<u8> {
    match &entry.value {
        Value::Bytes(b) => b.clone(),
        Value::Counter(n) => n.to_string().into_bytes(),
    }
}

impl EphemeralStore for MemoryStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), EphemeralError> {
        let now = Instant::now();
        self.lock().insert(key, Value::Bytes(value.to_vec()), now + ttl, now);
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, EphemeralError> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.live(key, now).is_some() {
            return Ok(false);
        }
        inner.insert(key, Value::Bytes(value.to_vec()), now + ttl, now);
        Ok(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        Ok(self.lock().live(key, Instant::now()).map(|e| bytes(e)))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        let now = Instant::now();
        let mut inner = self.lock();
        let live = inner.live(key, now).is_some();
        Ok(if live { inner.entries.remove(key).map(|e| bytes(&e)) } else { None })
    }

    async fn delete(&self, key: &str) -> Result<(), EphemeralError> {
        self.lock().entries.remove(key);
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, EphemeralError> {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(entry) = inner.live(key, now)
            && let Value::Counter(n) = &mut entry.value
        {
            *n += 1;
            return Ok(*n);
        }
        // Absent, or holding bytes: start a new window, as Redis would after the key expired.
        inner.insert(key, Value::Counter(1), now + ttl, now);
        Ok(1)
    }

    async fn ping(&self) -> Result<(), EphemeralError> {
        Ok(())
    }
}
