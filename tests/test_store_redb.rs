//! `RedbStore`: the conformance suite (with corrupt records planted in the file), then what is
//! particular to it: persistence across a reopen, one opener at a time, a file that is not a
//! database.
#![cfg(feature = "redb")]

mod store_conformance;

use std::sync::Arc;

use idem::store::{ClaimOutcome, Completion, RecordKey, RecordState, RedbStore, Store, StoreError};
use store_conformance::file_stores::{self, claim_by};
use store_conformance::{LONG_TTL as TTL, Shape};

/// The conformance suite, one test per check, each on a new file in a temporary directory,
/// removed at the end.
mod conformance {
    use super::*;
    use crate::store_conformance::Fixture;

    async fn make(_check: &'static str) -> Option<Fixture> {
        file_stores::make::<RedbStore>().await
    }

    crate::store_conformance::suite!(make = make, corrupt);
}

#[tokio::test]
async fn records_survive_a_reopen() {
    file_stores::records_survive_a_reopen::<RedbStore>().await;
}

#[tokio::test]
async fn one_opener_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.redb");
    let first = RedbStore::open(&path).unwrap();
    let err = RedbStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { store: "redb", .. }),
        "{err:?}"
    );
    drop(first);
    RedbStore::open(&path).unwrap();
}

#[test]
fn not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.redb");
    std::fs::write(
        &path,
        b"these bytes are not a redb database, not at all".repeat(100),
    )
    .unwrap();
    let err = RedbStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { store: "redb", .. }),
        "{err:?}"
    );
    let err = RedbStore::open(dir.path().join("no/such/dir/idem.redb")).unwrap_err();
    assert!(
        matches!(err, StoreError::Unavailable { store: "redb", .. }),
        "{err:?}"
    );
}

#[test]
fn works_outside_a_runtime() {
    // Without a Tokio runtime the operations run on the calling thread.
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("idem.redb")).unwrap();
    let key = RecordKey {
        tool: "t",
        key: "k",
    };
    let outcome = futures_lite_block_on(store.claim(key, &claim_by("a").claim())).unwrap();
    assert_eq!(outcome, ClaimOutcome::Claimed);
    let found = futures_lite_block_on(store.get(key)).unwrap();
    assert_eq!(found.as_ref().map(Shape::of), Some(Shape::claimed("a")));
}

/// On a current-thread runtime each operation goes to the blocking pool; on a multi-thread
/// runtime it runs in place, from a task or from `block_on`; and with a multi-thread runtime's
/// handle entered inside a current-thread runtime, where Tokio forbids blocking in place, it
/// still works (on the blocking pool), without a panic.
#[test]
fn works_on_every_kind_of_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path().join("idem.redb")).unwrap());
    let round = |store: Arc<RedbStore>, k: &'static str| async move {
        let key = RecordKey { tool: "t", key: k };
        let claim = claim_by("a");
        assert_eq!(
            store.claim(key, &claim.claim()).await.unwrap(),
            ClaimOutcome::Claimed
        );
        store
            .complete(key, &claim.claim(), &Completion::Marker, TTL)
            .await
            .unwrap();
        let found = store.get(key).await.unwrap().unwrap();
        assert!(matches!(found.state, RecordState::Completed { .. }));
    };
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    current.block_on(round(Arc::clone(&store), "current-thread"));
    multi.block_on(round(Arc::clone(&store), "multi-thread block_on"));
    let task = round(Arc::clone(&store), "multi-thread task");
    multi.block_on(async { tokio::spawn(task).await.unwrap() });
    current.block_on(async {
        let _entered = multi.handle().enter();
        round(Arc::clone(&store), "multi-thread handle in current-thread").await;
    });
}

/// A minimal executor: polls a future on this thread until it is ready.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// An empty file at the store's path is not a store idem made: refused (it used to open as an
/// empty store, forgetting every call).
#[test]
fn an_empty_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.redb");
    std::fs::write(&path, b"").unwrap();
    let err = RedbStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::Damaged { store: "redb", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("the file is empty"), "{err}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");
}

/// A file held by another opener: the message says why and what to use instead.
#[test]
fn a_file_held_by_another_opener_names_the_alternatives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.redb");
    let _first = RedbStore::open(&path).unwrap();
    let err = RedbStore::open(&path).unwrap_err();
    let StoreError::Unavailable { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(source.is::<idem::store::AlreadyOpen>(), "{err}");
    let message = err.to_string();
    for part in [
        "already open",
        "Arc<RedbStore>",
        "several processes on one host",
        "SqliteStore",
        "RedisStore",
        "PostgresStore",
    ] {
        assert!(message.contains(part), "{part} missing: {message}");
    }
}

/// Bytes flipped anywhere in the file: the store never panics, and never loses a completed
/// record (which would let its call run again). Either the open refuses the file as damaged,
/// or every record reads back whole, or reads as corrupt.
#[test]
fn flipped_bytes_never_panic_nor_lose_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine.redb");
    let keys: Vec<String> = (0..12).map(|i| format!("key-{i:02}")).collect();
    let output = |i: usize| Completion::Output(format!("{{\"receipt\":{i}}}").into_bytes());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = RedbStore::open(&pristine).unwrap();
        for (i, k) in keys.iter().enumerate() {
            let key = RecordKey {
                tool: "pay",
                key: k,
            };
            let claim = claim_by("a");
            store.claim(key, &claim.claim()).await.unwrap();
            store
                .complete(key, &claim.claim(), &output(i), TTL)
                .await
                .unwrap();
        }
    });
    let bytes = std::fs::read(&pristine).unwrap();
    let damaged = dir.path().join("damaged.redb");
    // Every 211th byte, and a spread of pseudo-random ones (a fixed seed: the run is repeatable).
    let mut positions: Vec<usize> = (0..bytes.len()).step_by(211).collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..100 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        positions.push((seed >> 33) as usize % bytes.len());
    }
    let (mut refused, mut intact) = (0, 0);
    for position in positions {
        let mut copy = bytes.clone();
        copy[position] ^= 0x5a;
        std::fs::write(&damaged, &copy).unwrap();
        let checked = std::panic::catch_unwind(|| {
            let store = match RedbStore::open(&damaged) {
                Ok(store) => store,
                Err(StoreError::Damaged { .. } | StoreError::Unavailable { .. }) => return false,
                Err(other) => panic!("byte {position}: open: {other:?}"),
            };
            runtime.block_on(async {
                for (i, k) in keys.iter().enumerate() {
                    let key = RecordKey {
                        tool: "pay",
                        key: k,
                    };
                    match store.get(key).await {
                        Ok(Some(record)) => assert_eq!(
                            record.state,
                            RecordState::Completed {
                                output: match output(i) {
                                    Completion::Output(o) => Some(o),
                                    _ => None,
                                },
                                expires_at: record.expires_at(),
                            },
                            "byte {position}: {k}"
                        ),
                        Ok(None) => panic!("byte {position}: {k} was lost"),
                        Err(_) => {}
                    }
                    if let Ok(outcome) = store.claim(key, &claim_by("b").claim()).await {
                        assert!(
                            matches!(outcome, ClaimOutcome::Existing(_)),
                            "byte {position}: {k} claimed afresh: {outcome:?}"
                        );
                    }
                }
            });
            true
        });
        match checked {
            Ok(true) => intact += 1,
            Ok(false) => refused += 1,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    println!(
        "{} bytes: {refused} flips refused at open, {intact} harmless",
        bytes.len()
    );
    assert!(refused > 0, "some flips hit live pages");
}
