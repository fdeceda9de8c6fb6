//! The ephemeral store, in memory and on Redis: the same behaviour from both.

use crate::helpers::redis_url;
use kenpo_idp::ephemeral::{Ephemeral, EphemeralStore};
use std::time::Duration;

async fn memory() -> Option<Ephemeral> {
    Ephemeral::connect(None, "test:").await.ok()
}

async fn redis() -> Option<Ephemeral> {
    let url = redis_url()?;
    // A prefix per test keeps parallel tests apart on the shared server.
    let prefix = format!("kenpo-test:{}:", uuid::Uuid::new_v4().simple());
    match Ephemeral::connect(Some(&url), &prefix).await {
        Ok(store) => Some(store),
        Err(e) => {
            crate::helpers::unavailable("Redis", &format!("{url} is unreachable: {e}"));
            None
        }
    }
}

macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                if let Some(store) = super::memory().await { super::$test(store).await }
            })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                if let Some(store) = super::redis().await { super::$test(store).await }
            })*
        }
    };
}

on_every_store!(
    values_expire_after_their_ttl,
    take_hands_a_value_to_exactly_one_of_many_takers,
    put_if_absent_refuses_a_second_writer,
    counters_count_within_a_window_then_restart,
    the_store_answers_a_ping,
);

async fn values_expire_after_their_ttl(store: Ephemeral) {
    assert!(store.put("code", b"abc", Duration::from_millis(300)).await.is_ok());
    assert_eq!(store.get("code").await.ok().flatten(), Some(b"abc".to_vec()));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(store.get("code").await.ok().flatten(), None);
    assert!(store.put("code", b"x", Duration::from_secs(60)).await.is_ok());
    assert!(store.delete("code").await.is_ok());
    assert_eq!(store.get("code").await.ok().flatten(), None);
}

async fn take_hands_a_value_to_exactly_one_of_many_takers(store: Ephemeral) {
    assert!(store.put("auth-code", b"grant", Duration::from_secs(60)).await.is_ok());
    let takers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take("auth-code").await.ok().flatten() })
        })
        .collect();
    let mut winners = 0;
    for taker in takers {
        if let Ok(Some(value)) = taker.await {
            assert_eq!(value, b"grant");
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(store.take("auth-code").await.ok().flatten(), None);
}

async fn put_if_absent_refuses_a_second_writer(store: Ephemeral) {
    assert_eq!(store.put_if_absent("otp-used:123456", b"1", Duration::from_secs(60)).await.ok(), Some(true));
    assert_eq!(store.put_if_absent("otp-used:123456", b"1", Duration::from_secs(60)).await.ok(), Some(false));
}

async fn counters_count_within_a_window_then_restart(store: Ephemeral) {
    for expected in 1..=3 {
        assert_eq!(store.incr("failures", Duration::from_millis(300)).await.ok(), Some(expected));
    }
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(store.incr("failures", Duration::from_millis(300)).await.ok(), Some(1), "a new window");
}

async fn the_store_answers_a_ping(store: Ephemeral) {
    assert!(store.ping().await.is_ok());
}
