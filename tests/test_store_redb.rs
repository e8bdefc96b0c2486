//! `RedbStore`: the conformance suite (with corrupt records planted in the file), then what is
//! particular to it: persistence across a reopen, one opener at a time, a file that is not a
//! database.
#![cfg(feature = "redb")]

mod store_conformance;

use idem::store::{ClaimOutcome, Completion, RecordKey, RecordState, RedbStore, Store, StoreError};
use store_conformance::LONG_TTL as TTL;
use store_conformance::file_stores::{self, claim_by};

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

/// The file's blocking I/O stays off the async threads on every kind of runtime, and works
/// without one.
#[test]
fn works_on_every_kind_of_runtime() {
    file_stores::works_on_every_kind_of_runtime::<RedbStore>();
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
