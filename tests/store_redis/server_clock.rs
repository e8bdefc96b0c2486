//! Leases on the server's clock (`PTTL`), whatever the claimers' clocks say, and renewals that
//! keep a claim alive.

use std::time::{Duration, Instant};

use idem::store::{ClaimOutcome, Completion, RecordKey, RedisStore, Store, StoreError, UnixMillis};

use super::{T0, both_stores, claim_by, key, now_ms, path};
use crate::store_conformance::{ClaimBy, LONG_TTL as TTL, Shape, existing};

/// Claimers whose clocks run 5 minutes ahead of or behind the server's change nothing: a live
/// claim stays `Existing` for every one of them whatever its holder's clock, a claim whose
/// holder's clock runs ahead is taken over once its lease has passed on the server, and a
/// result stays until its TTL has passed on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_clock_decides() {
    let redis = crate::support::redis_fixture!();
    const SKEW: u64 = 5 * 60 * 1000;
    for store in both_stores(&redis).await {
        let path = path(&store);
        let offsets = [("behind", -1), ("exact", 0), ("ahead", 1)];
        let skewed = |token: &str, offset: i64, lease: Duration| ClaimBy {
            lease,
            ..claim_by(
                token,
                UnixMillis((now_ms().0 as i64 + offset * SKEW as i64) as u64),
            )
        };
        let live = Duration::from_secs(5);
        for (holder, holder_offset) in offsets {
            let k = key("tool", holder);
            let claim = skewed("a", holder_offset, live);
            assert_eq!(
                store.claim(k, &claim.claim()).await.unwrap(),
                ClaimOutcome::Claimed,
                "{path}: holder {holder}"
            );
            for (claimer, claimer_offset) in offsets {
                let outcome = store
                    .claim(k, &skewed("b", claimer_offset, live).claim())
                    .await
                    .unwrap();
                assert_eq!(
                    existing(
                        outcome,
                        &format!("{path}: holder {holder}, claimer {claimer}")
                    ),
                    Shape::claimed("a"),
                );
            }
            // The holder's record, with its own clock's instants (informational).
            let record = store.get(k).await.unwrap().unwrap();
            assert_eq!(record.created_at, claim.now, "{path}: {holder}");
            store
                .complete(
                    k,
                    &claim.claim(),
                    &Completion::Marker,
                    Duration::from_secs(5),
                )
                .await
                .unwrap();
            for (claimer, claimer_offset) in offsets {
                let outcome = store
                    .claim(k, &skewed("c", claimer_offset, live).claim())
                    .await
                    .unwrap();
                assert_eq!(
                    existing(
                        outcome,
                        &format!("{path}: result of {holder}, claimer {claimer}")
                    ),
                    Shape::done("a", &Completion::Marker),
                );
                assert!(store.get(k).await.unwrap().is_some(), "{path}: {claimer}");
            }
        }

        // A holder ahead with a lease of 1 s: live for 1 s on the server, whatever the
        // claimer's clock, and taken over after it.
        let short = Duration::from_secs(1);
        let k = key("tool", "short-ahead");
        assert_eq!(
            store
                .claim(k, &skewed("a", 1, short).claim())
                .await
                .unwrap(),
            ClaimOutcome::Claimed
        );
        let outcome = store
            .claim(k, &skewed("b", 1, short).claim())
            .await
            .unwrap();
        existing(
            outcome,
            &format!("{path}: a claimer ahead, within the lease"),
        );
        tokio::time::sleep(short + Duration::from_millis(300)).await;
        assert_eq!(
            store
                .claim(k, &skewed("b", -1, short).claim())
                .await
                .unwrap(),
            ClaimOutcome::TookOver {
                previous_token: "a".into()
            },
            "{path}: a claimer behind, after the lease"
        );
    }
}

/// Renews the claim of "a" on `k` (its lease `lease`) every 100 ms for a second, checking after
/// each renewal that a claim by "b" gets `Existing`. `Err` with the time a renewal and the claim
/// after it took when that was the lease or longer and the claim was not `Existing`: the host
/// stalled, and the round proves nothing.
async fn renew_ten_times(
    store: &RedisStore,
    k: RecordKey<'_>,
    lease: Duration,
) -> Result<(), Duration> {
    let claim = |token: &str| ClaimBy {
        lease,
        ..claim_by(token, T0)
    };
    let path = path(store);
    for round in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let window = Instant::now();
        store
            .renew(k, &claim("a").claim())
            .await
            .unwrap_or_else(|e| panic!("{path}: renewal {round}: {e}"));
        let outcome = store.claim(k, &claim("b").claim()).await.unwrap();
        let took = window.elapsed();
        if took >= lease && !matches!(outcome, ClaimOutcome::Existing(_)) {
            return Err(took);
        }
        assert_eq!(
            existing(outcome, &format!("{path}: after renewal {round}")),
            Shape::claimed("a")
        );
    }
    Ok(())
}

/// A claim renewed every 100 ms for a second stays live far past its lease of 300 ms (another
/// claimer gets `Existing` throughout), keeps its bytes, and is taken over once the renewals
/// stop and the lease passes; its former holder can then neither renew nor complete. A claim
/// renewed several times still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_keeps_a_claim_alive() {
    let redis = crate::support::redis_fixture!();
    let mut raw = redis.raw();
    for store in both_stores(&redis).await {
        let path = path(&store);
        let lease = Duration::from_millis(300);
        let claim = |token: &str| ClaimBy {
            lease,
            ..claim_by(token, T0)
        };
        // A machine that stalls for a lease between a renewal and the claim after it (a
        // loaded test host) makes that round prove nothing: the scenario starts again on a
        // fresh key, at most 3 times.
        let mut attempt = 0;
        let (name, bytes, started) = loop {
            attempt += 1;
            let name = format!("renewed-{attempt}");
            let k = key("tool", &name);
            assert_eq!(
                store.claim(k, &claim("a").claim()).await.unwrap(),
                ClaimOutcome::Claimed
            );
            let bytes = raw.get(&store.redis_key(k)).unwrap();
            let started = Instant::now();
            match renew_ten_times(&store, k, lease).await {
                Ok(()) => break (name, bytes, started),
                Err(stall) => assert!(attempt < 3, "{path}: stalled 3 times: {stall:?}"),
            }
        };
        let k = key("tool", &name);
        let address = store.redis_key(k);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(raw.get(&address).unwrap(), bytes, "{path}: same bytes");

        tokio::time::sleep(lease + Duration::from_millis(200)).await;
        assert_eq!(
            store.claim(k, &claim("b").claim()).await.unwrap(),
            ClaimOutcome::TookOver {
                previous_token: "a".into()
            },
            "{path}: the renewals stopped"
        );
        let r = store.renew(k, &claim("a").claim()).await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        let r = store
            .complete(k, &claim("a").claim(), &Completion::Marker, TTL)
            .await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        assert_eq!(
            store.get(k).await.unwrap().as_ref().map(Shape::of),
            Some(Shape::claimed("b"))
        );

        let k = key("tool", "renewed-then-completed");
        store.claim(k, &claim("c").claim()).await.unwrap();
        for _ in 0..3 {
            store.renew(k, &claim("c").claim()).await.unwrap();
        }
        let done = Completion::Output(b"[1,2]".to_vec());
        store
            .complete(k, &claim("c").claim(), &done, TTL)
            .await
            .unwrap();
        assert_eq!(
            store.get(k).await.unwrap().as_ref().map(Shape::of),
            Some(Shape::done("c", &done)),
            "{path}"
        );
        let r = store.renew(k, &claim("c").claim()).await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        let r = store
            .renew(key("tool", "absent"), &claim("c").claim())
            .await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        assert_eq!(
            raw.int(&[b"EXISTS", &store.redis_key(key("tool", "absent"))]),
            0
        );
    }
}
