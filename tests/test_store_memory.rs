//! `MemoryStore`: the conformance suite, then what is particular to it: the capacity bound,
//! eviction order, and expired records removed when met.

mod store_conformance;

use std::sync::Arc;
use std::time::Duration;

use idem::store::{ClaimOutcome, Completion, MemoryStore, RecordKey, Store, StoreError};
use store_conformance::{ClaimBy, T0, TTL, at, claim_by};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    store_conformance::run_all(Arc::new(MemoryStore::new()), None).await;
}

fn key(key: &str) -> RecordKey<'_> {
    RecordKey {
        tool: "memory",
        key,
    }
}

async fn claim(
    store: &MemoryStore,
    k: &str,
    now: idem::store::UnixMillis,
) -> Result<ClaimOutcome, StoreError> {
    store.claim(key(k), &claim_by(k, now).claim()).await
}

async fn finish(store: &MemoryStore, k: &str, now: idem::store::UnixMillis, ttl: Duration) {
    assert_eq!(claim(store, k, now).await.unwrap(), ClaimOutcome::Claimed);
    store
        .complete(
            key(k),
            &claim_by(k, now).claim(),
            &Completion::Marker,
            now,
            ttl,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn defaults() {
    let store = MemoryStore::new();
    assert_eq!(store.capacity(), MemoryStore::DEFAULT_CAPACITY);
    assert_eq!(MemoryStore::DEFAULT_CAPACITY, 100_000);
    assert!(store.is_empty());
    assert_eq!(MemoryStore::with_capacity(0).capacity(), 1);
    assert!(format!("{store:?}").contains("capacity"));
}

#[tokio::test]
async fn full_of_live_claims() {
    let store = MemoryStore::with_capacity(3);
    for k in ["a", "b", "c"] {
        assert_eq!(claim(&store, k, T0).await.unwrap(), ClaimOutcome::Claimed);
    }
    let err = claim(&store, "d", T0).await.unwrap_err();
    assert!(matches!(err, StoreError::Full { capacity: 3 }), "{err:?}");
    assert_eq!(store.len(), 3);
    // Keys already there are still answered.
    assert!(matches!(
        claim(&store, "a", T0).await.unwrap(),
        ClaimOutcome::Existing(_)
    ));
    // Once their leases have ended, the claims are abandoned: making room removes them all.
    let later = T0.plus(store_conformance::LEASE);
    assert_eq!(
        claim(&store, "d", later).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn expired_records_go_before_live_ones() {
    let store = MemoryStore::with_capacity(3);
    finish(&store, "live", T0, TTL).await;
    finish(&store, "short", T0, Duration::from_secs(1)).await;
    assert_eq!(
        claim(&store, "claim", T0).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let now = at(T0, 1_000);
    assert_eq!(
        claim(&store, "new", now).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(store.len(), 3);
    assert!(store.get(key("live"), now).await.unwrap().is_some());
    assert!(store.get(key("claim"), now).await.unwrap().is_some());
    assert!(store.get(key("short"), now).await.unwrap().is_none());
}

#[tokio::test]
async fn eviction_takes_the_result_that_expires_first_never_a_live_claim() {
    let store = MemoryStore::with_capacity(4);
    finish(&store, "late", T0, TTL * 2).await;
    finish(&store, "soon", T0, TTL).await;
    assert_eq!(
        claim(&store, "claim-1", T0).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        claim(&store, "claim-2", T0).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let now = at(T0, 1);

    assert_eq!(
        claim(&store, "x", now).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert!(
        store.get(key("soon"), now).await.unwrap().is_none(),
        "evicted"
    );
    assert!(store.get(key("late"), now).await.unwrap().is_some());

    assert_eq!(
        claim(&store, "y", now).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert!(
        store.get(key("late"), now).await.unwrap().is_none(),
        "evicted"
    );

    // Only live claims are left.
    let err = claim(&store, "z", now).await.unwrap_err();
    assert!(matches!(err, StoreError::Full { capacity: 4 }), "{err:?}");
    for k in ["claim-1", "claim-2", "x", "y"] {
        assert!(store.get(key(k), now).await.unwrap().is_some(), "{k} kept");
    }
}

#[tokio::test]
async fn expired_records_are_removed_when_met() {
    let store = MemoryStore::new();
    finish(&store, "a", T0, Duration::from_secs(1)).await;
    finish(&store, "b", T0, Duration::from_secs(1)).await;
    assert_eq!(store.len(), 2);
    assert!(store.get(key("a"), at(T0, 999)).await.unwrap().is_some());
    assert_eq!(store.len(), 2);
    assert!(store.get(key("a"), at(T0, 1_000)).await.unwrap().is_none());
    assert_eq!(store.len(), 1, "get removed the expired record");
    // A claim replaces the expired record in place.
    assert_eq!(
        claim(&store, "b", at(T0, 1_000)).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(store.len(), 1);
    assert_eq!(store.purge(at(T0, 1_000), true).await.unwrap(), 1);
    assert!(store.is_empty());
}

#[tokio::test]
async fn replacing_a_record_keeps_the_count_and_the_bound() {
    // Takeovers and re-claims after expiry do not need room.
    let store = MemoryStore::with_capacity(1);
    let lease = Duration::from_secs(10);
    let first = ClaimBy {
        lease,
        ..claim_by("a", T0)
    };
    assert_eq!(
        store.claim(key("k"), &first.claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let second = ClaimBy {
        lease,
        ..claim_by("b", at(T0, 10_000))
    };
    assert_eq!(
        store.claim(key("k"), &second.claim()).await.unwrap(),
        ClaimOutcome::TookOver {
            previous_token: "a".into()
        }
    );
    assert_eq!(store.len(), 1);
    let err = store
        .claim(key("other"), &claim_by("c", at(T0, 10_001)).claim())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Full { capacity: 1 }));
}

#[tokio::test]
async fn output_is_kept_as_the_record_format_keeps_it() {
    // Surrounding whitespace is not part of the JSON value: every store drops it.
    let store = MemoryStore::new();
    assert_eq!(claim(&store, "k", T0).await.unwrap(), ClaimOutcome::Claimed);
    let output = Completion::Output(b" \n{\"a\": 1}\t ".to_vec());
    store
        .complete(key("k"), &claim_by("k", T0).claim(), &output, T0, TTL)
        .await
        .unwrap();
    let record = store.get(key("k"), T0).await.unwrap().unwrap();
    assert!(matches!(
        record.state,
        idem::store::RecordState::Completed { output: Some(ref o), .. } if o == b"{\"a\": 1}"
    ));
}
