//! `MemoryStore`: the conformance suite, then what is particular to it: the capacity bound,
//! eviction order, and expired records removed when met. The stores run on a manual clock:
//! `at(ms)` sets it to `ms` milliseconds after the start.

mod store_conformance;

use std::sync::Arc;
use std::time::Duration;

use idem::clock::ManualClock;
use idem::store::{
    ClaimOutcome, Completion, MemoryStore, RecordKey, Store, StoreError, UnixMillis,
};
use store_conformance::{ClaimBy, LONG_TTL as TTL, TestTime};

/// The conformance suite, one test per check, each on a new store.
mod conformance {
    use super::*;
    use crate::store_conformance::Fixture;

    /// A new store on a manual clock (the memory store has no raw bytes to corrupt).
    async fn make(_check: &'static str) -> Option<Fixture> {
        let (clock, time) = TestTime::manual();
        let store = MemoryStore::new().with_clock(clock);
        Some(Fixture::new(Arc::new(store), time))
    }

    crate::store_conformance::suite!(make = make);
}

/// The suite's lease.
const LEASE: Duration = Duration::from_secs(30);

/// A store of `capacity` records on a manual clock, and the clock.
fn store(capacity: usize) -> (MemoryStore, Arc<ManualClock>) {
    let (clock, _) = TestTime::manual();
    (
        MemoryStore::with_capacity(capacity).with_clock(clock.clone()),
        clock,
    )
}

/// Sets `clock` to `ms` milliseconds after its start (it only moves forward).
fn at(clock: &ManualClock, ms: u64) {
    let start = 1_700_000_000_000;
    let now = UnixMillis::now(clock).0;
    clock.advance(Duration::from_millis((start + ms).saturating_sub(now)));
}

fn key(key: &str) -> RecordKey<'_> {
    RecordKey {
        tool: "memory",
        key,
    }
}

fn claim_by(token: &str) -> ClaimBy {
    ClaimBy {
        token: token.to_owned(),
        fingerprint: format!("fp-{token}"),
        now: UnixMillis(0),
        lease: LEASE,
    }
}

async fn claim(store: &MemoryStore, k: &str) -> Result<ClaimOutcome, StoreError> {
    store.claim(key(k), &claim_by(k).claim()).await
}

async fn finish(store: &MemoryStore, k: &str, ttl: Duration) {
    assert_eq!(claim(store, k).await.unwrap(), ClaimOutcome::Claimed);
    store
        .complete(key(k), &claim_by(k).claim(), &Completion::Marker, ttl)
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
    let (store, clock) = store(3);
    for k in ["a", "b", "c"] {
        assert_eq!(claim(&store, k).await.unwrap(), ClaimOutcome::Claimed);
    }
    let err = claim(&store, "d").await.unwrap_err();
    assert!(matches!(err, StoreError::Full { capacity: 3 }), "{err:?}");
    assert_eq!(store.len(), 3);
    // Keys already there are still answered.
    assert!(matches!(
        claim(&store, "a").await.unwrap(),
        ClaimOutcome::Existing(_)
    ));
    // Once their leases have ended, the claims are abandoned: making room removes them all.
    clock.advance(LEASE);
    assert_eq!(claim(&store, "d").await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn expired_records_go_before_live_ones() {
    let (store, clock) = store(3);
    finish(&store, "live", TTL).await;
    finish(&store, "short", Duration::from_secs(1)).await;
    assert_eq!(claim(&store, "claim").await.unwrap(), ClaimOutcome::Claimed);
    at(&clock, 1_000);
    assert_eq!(claim(&store, "new").await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.len(), 3);
    assert!(store.get(key("live")).await.unwrap().is_some());
    assert!(store.get(key("claim")).await.unwrap().is_some());
    assert!(store.get(key("short")).await.unwrap().is_none());
}

#[tokio::test]
async fn eviction_takes_the_result_that_expires_first_never_a_live_claim() {
    let (store, clock) = store(4);
    finish(&store, "late", TTL * 2).await;
    finish(&store, "soon", TTL).await;
    assert_eq!(
        claim(&store, "claim-1").await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        claim(&store, "claim-2").await.unwrap(),
        ClaimOutcome::Claimed
    );
    at(&clock, 1);

    assert_eq!(claim(&store, "x").await.unwrap(), ClaimOutcome::Claimed);
    assert!(store.get(key("soon")).await.unwrap().is_none(), "evicted");
    assert!(store.get(key("late")).await.unwrap().is_some());

    assert_eq!(claim(&store, "y").await.unwrap(), ClaimOutcome::Claimed);
    assert!(store.get(key("late")).await.unwrap().is_none(), "evicted");

    // Only live claims are left.
    let err = claim(&store, "z").await.unwrap_err();
    assert!(matches!(err, StoreError::Full { capacity: 4 }), "{err:?}");
    for k in ["claim-1", "claim-2", "x", "y"] {
        assert!(store.get(key(k)).await.unwrap().is_some(), "{k} kept");
    }
}

#[tokio::test]
async fn expired_records_are_removed_when_met() {
    let (store, clock) = store(MemoryStore::DEFAULT_CAPACITY);
    finish(&store, "a", Duration::from_secs(1)).await;
    finish(&store, "b", Duration::from_secs(1)).await;
    assert_eq!(store.len(), 2);
    at(&clock, 999);
    assert!(store.get(key("a")).await.unwrap().is_some());
    assert_eq!(store.len(), 2);
    at(&clock, 1_000);
    assert!(store.get(key("a")).await.unwrap().is_none());
    assert_eq!(store.len(), 1, "get removed the expired record");
    // A claim replaces the expired record in place.
    assert_eq!(claim(&store, "b").await.unwrap(), ClaimOutcome::Claimed);
    assert_eq!(store.len(), 1);
    assert_eq!(store.purge(true).await.unwrap(), 1);
    assert!(store.is_empty());
}

#[tokio::test]
async fn replacing_a_record_keeps_the_count_and_the_bound() {
    // Takeovers and re-claims after expiry do not need room.
    let (store, clock) = store(1);
    let lease = Duration::from_secs(10);
    let first = ClaimBy {
        lease,
        ..claim_by("a")
    };
    assert_eq!(
        store.claim(key("k"), &first.claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    at(&clock, 10_000);
    let second = ClaimBy {
        lease,
        ..claim_by("b")
    };
    assert_eq!(
        store.claim(key("k"), &second.claim()).await.unwrap(),
        ClaimOutcome::TookOver {
            previous_token: "a".into()
        }
    );
    assert_eq!(store.len(), 1);
    at(&clock, 10_001);
    let err = store
        .claim(key("other"), &claim_by("c").claim())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Full { capacity: 1 }));
}

#[tokio::test]
async fn output_is_kept_as_the_record_format_keeps_it() {
    // Surrounding whitespace is not part of the JSON value: every store drops it.
    let store = MemoryStore::new();
    assert_eq!(claim(&store, "k").await.unwrap(), ClaimOutcome::Claimed);
    let output = Completion::Output(b" \n{\"a\": 1}\t ".to_vec());
    store
        .complete(key("k"), &claim_by("k").claim(), &output, TTL)
        .await
        .unwrap();
    let record = store.get(key("k")).await.unwrap().unwrap();
    assert!(matches!(
        record.state,
        idem::store::RecordState::Completed { output: Some(ref o), .. } if o == b"{\"a\": 1}"
    ));
}
