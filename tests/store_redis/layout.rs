//! The key layout and Redis TTLs: one key per record holding `Record::encode`'s bytes, living
//! lease + grace as a claim and its TTL as a result, and removed by Redis when it expires.

use std::time::Duration;

use idem::store::{ClaimOutcome, Completion, Store, StoreError};

use super::{
    LEASE, T0, assert_completed_value, claim_by, claimed_record, key, now_ms, reconnect, store,
};
use crate::store_conformance::{ClaimBy, LONG_TTL as TTL};

/// One key per record, as documented, holding `Record::encode`'s bytes; Redis TTLs: lease +
/// grace for a claim (set again by a renewal, the value unchanged), the TTL for a result;
/// release and delete remove the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_layout_and_redis_ttls() {
    let redis = crate::support::redis_fixture!();
    let store = store(&redis).await;
    let mut raw = redis.raw();
    let k = key("payment-processor-v1", "fb5f9548");
    let address = store.redis_key(k);
    assert_eq!(
        address,
        format!("{}:20:payment-processor-v1:fb5f9548", store.prefix()).into_bytes()
    );

    assert_eq!(
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let claimed = claimed_record("a", T0).encode("x").unwrap();
    assert_eq!(
        raw.get(&address).unwrap(),
        claimed,
        "the value is the record's documented encoding"
    );
    let claim_ttl = (LEASE + store.claim_grace()).as_millis() as i64;
    let pttl = raw.int(&[b"PTTL", &address]);
    assert!(
        pttl > claim_ttl - 5_000 && pttl <= claim_ttl,
        "a claim lives lease + grace in Redis: {pttl} ms"
    );

    // As if most of the lease had passed: a renewal gives it lease + grace again, and leaves
    // the value as it is.
    assert_eq!(raw.int(&[b"PEXPIRE", &address, b"1000000"]), 1);
    store.renew(k, &claim_by("a", T0).claim()).await.unwrap();
    let pttl = raw.int(&[b"PTTL", &address]);
    assert!(
        pttl > claim_ttl - 5_000 && pttl <= claim_ttl,
        "a renewed claim lives lease + grace again: {pttl} ms"
    );
    assert_eq!(
        raw.get(&address).unwrap(),
        claimed,
        "renewal keeps the bytes"
    );

    let done = Completion::Output(br#"{"ok":true}"#.to_vec());
    let before = now_ms();
    store
        .complete(k, &claim_by("a", T0).claim(), &done, TTL)
        .await
        .unwrap();
    let after = now_ms();
    assert_completed_value(
        &raw.get(&address).unwrap(),
        "a",
        T0,
        &done,
        TTL,
        (before, after),
    );
    let pttl = raw.int(&[b"PTTL", &address]);
    let ttl = TTL.as_millis() as i64;
    assert!(
        pttl > ttl - 5_000 && pttl <= ttl,
        "a result lives its TTL: {pttl} ms"
    );

    assert!(store.delete(k).await.unwrap());
    assert_eq!(raw.int(&[b"EXISTS", &address]), 0);
    assert_eq!(
        store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert!(store.release(k, &claim_by("b", T0).claim()).await.unwrap());
    assert_eq!(raw.int(&[b"EXISTS", &address]), 0, "released");
}

/// Redis removes an expired result by itself, and a claim then is a plain `Claimed`; a claim
/// abandoned past its lease is taken over within the grace, and forgotten after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_expiry_in_real_time() {
    let redis = crate::support::redis_fixture!();
    let store = store(&redis).await;
    let mut raw = redis.raw();

    // A result with a TTL of 100 ms.
    let k = key("tool", "result");
    assert_eq!(
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    store
        .complete(
            k,
            &claim_by("a", T0).claim(),
            &Completion::Marker,
            Duration::from_millis(100),
        )
        .await
        .unwrap();
    assert!(store.get(k).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        raw.int(&[b"EXISTS", &store.redis_key(k)]),
        0,
        "Redis removed it"
    );
    assert_eq!(store.get(k).await.unwrap(), None);
    assert_eq!(
        store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );

    // A claim of 100 ms abandoned, with a grace of 10 minutes: taken over.
    let short = |token: &str| ClaimBy {
        lease: Duration::from_millis(100),
        ..claim_by(token, T0)
    };
    let k = key("tool", "abandoned");
    assert_eq!(
        store.claim(k, &short("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.claim(k, &short("b").claim()).await.unwrap(),
        ClaimOutcome::TookOver {
            previous_token: "a".into()
        }
    );

    // With no grace, Redis removes the claim at the end of its lease: a plain claim then.
    let no_grace = reconnect(
        &redis,
        store.options().clone().with_claim_grace(Duration::ZERO),
    )
    .await;
    assert_eq!(no_grace.claim_grace(), Duration::ZERO);
    assert_eq!(no_grace.prefix(), store.prefix());
    let k = key("tool", "no-grace");
    assert_eq!(
        no_grace.claim(k, &short("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(raw.int(&[b"EXISTS", &store.redis_key(k)]), 0);
    assert_eq!(
        no_grace.claim(k, &short("b").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let late = no_grace
        .complete(k, &short("a").claim(), &Completion::Marker, TTL)
        .await;
    assert!(
        matches!(late, Err(StoreError::ClaimLost { .. })),
        "{late:?}"
    );
}
