//! `SqliteStore`: the conformance suite (with corrupt records planted in the file), then what is
//! particular to it: persistence across a reopen, several stores on one file, a file that is
//! not a database, a file locked past the busy timeout, the record size limit. Several
//! processes on one file: `tests/test_fleet_sqlite.rs`.
#![cfg(feature = "sqlite")]

mod store_conformance;

use std::sync::Arc;
use std::time::Duration;

use idem::store::{
    ClaimOutcome, Completion, RecordKey, SqliteOptions, SqliteStore, Store, StoreError,
};
use store_conformance::file_stores::{self, claim_by};
use store_conformance::{LONG_TTL as TTL, Shape};

/// The conformance suite, one test per check, each on a new file in a temporary directory,
/// removed at the end.
mod conformance {
    use super::*;
    use crate::store_conformance::Fixture;

    async fn make(_check: &'static str) -> Option<Fixture> {
        file_stores::make::<SqliteStore>().await
    }

    crate::store_conformance::suite!(make = make, corrupt);
}

#[tokio::test]
async fn records_survive_a_reopen() {
    file_stores::records_survive_a_reopen::<SqliteStore>().await;
}

/// Two stores of one process on one file (as two processes would be): each sees the other's
/// claims and results, and tasks of both racing on the same keys claim each key once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_claim_each_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.sqlite");
    let stores = [
        Arc::new(SqliteStore::open(&path).unwrap()),
        Arc::new(SqliteStore::open(&path).unwrap()),
    ];
    let key = RecordKey {
        tool: "pay",
        key: "seen",
    };
    assert_eq!(
        stores[0].claim(key, &claim_by("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let seen = store_conformance::existing(
        stores[1].claim(key, &claim_by("b").claim()).await.unwrap(),
        "the second store",
    );
    assert_eq!(seen, Shape::claimed("a"));
    let output = Completion::Output(br#"{"receipt":1}"#.to_vec());
    stores[0]
        .complete(key, &claim_by("a").claim(), &output, TTL)
        .await
        .unwrap();
    let replayed = store_conformance::existing(
        stores[1].claim(key, &claim_by("b").claim()).await.unwrap(),
        "the second store after the completion",
    );
    assert_eq!(replayed, Shape::done("a", &output));

    // 16 tasks, 8 on each store, claim the same 100 keys, each in its own order.
    const KEYS: usize = 100;
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let store = Arc::clone(&stores[t % 2]);
            tokio::spawn(async move {
                let mut won = Vec::new();
                for i in 0..KEYS {
                    let k = format!("race-{}", (i * 7 + t * 13) % KEYS);
                    let key = RecordKey {
                        tool: "pay",
                        key: &k,
                    };
                    let token = format!("task-{t}");
                    match store.claim(key, &claim_by(&token).claim()).await.unwrap() {
                        ClaimOutcome::Claimed => won.push(k),
                        ClaimOutcome::Existing(_) => {}
                        other => panic!("{k}: {other:?}"),
                    }
                }
                won
            })
        })
        .collect();
    let mut won: Vec<String> = Vec::new();
    for task in tasks {
        won.extend(task.await.unwrap());
    }
    won.sort();
    let mut expected: Vec<String> = (0..KEYS).map(|i| format!("race-{i}")).collect();
    expected.sort();
    assert_eq!(won, expected, "every key claimed exactly once");
}

/// Many stores opening one new file at the same moment (processes starting together): each
/// opens it, none fails, and each sees the same table.
#[test]
fn stores_opening_a_new_file_together_all_open_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.sqlite");
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (path, barrier) = (path.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                SqliteStore::open(&path)
            })
        })
        .collect();
    let stores: Vec<SqliteStore> = threads
        .into_iter()
        .map(|t| t.join().unwrap().expect("open the new file"))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = RecordKey {
            tool: "t",
            key: "k",
        };
        stores[0].claim(key, &claim_by("a").claim()).await.unwrap();
        for store in &stores {
            let found = store.get(key).await.unwrap();
            assert_eq!(found.as_ref().map(Shape::of), Some(Shape::claimed("a")));
        }
    });
}

/// The file is in WAL mode (readers and the writer do not wait for each other), as SQLite
/// itself reports it to another client.
#[test]
fn the_file_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.sqlite");
    let _store = SqliteStore::open(&path).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.sqlite");
    let bytes = b"these bytes are not a SQLite database, not at all".repeat(100);
    std::fs::write(&path, &bytes).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                store: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("is not a SQLite database") && message.contains("not.sqlite"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file is left alone"
    );

    let err = SqliteStore::open(dir.path().join("no/such/dir/idem.sqlite")).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                store: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

/// Without `create_schema`, opening creates nothing: no file where there is none, no table (nor
/// WAL journal) in another program's database; a store's existing file opens.
#[test]
fn without_create_schema_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions::new().with_create_schema(false);
    let missing = dir.path().join("missing.sqlite");
    let err = SqliteStore::open_with(&missing, options.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                store: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!missing.exists(), "no file was created");

    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
        .unwrap();
    let err = SqliteStore::open_with(&other, options.clone()).unwrap_err();
    assert!(err.to_string().contains("no table `idem_records`"), "{err}");
    let raw = rusqlite::Connection::open(&other).unwrap();
    let tables: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, ["accounts"]);
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "the other database's journal is left alone");

    let existing = dir.path().join("idem.sqlite");
    drop(SqliteStore::open(&existing).unwrap());
    SqliteStore::open_with(&existing, options).expect("a store's file opens");
}

/// Another client holds the file's write lock longer than the busy timeout: the claim fails
/// closed (`Unavailable`, saying so), writes nothing, and works once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_locked_past_the_busy_timeout_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.sqlite");
    let options = SqliteOptions::new().with_busy_timeout(Duration::from_millis(100));
    let store = SqliteStore::open_with(&path, options).unwrap();
    let mut raw = rusqlite::Connection::open(&path).unwrap();
    let writer = raw
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let key = RecordKey {
        tool: "t",
        key: "locked",
    };
    let err = store.claim(key, &claim_by("a").claim()).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                store: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("busy timeout"), "{err}");
    writer.rollback().unwrap();
    assert_eq!(store.get(key).await.unwrap(), None, "nothing was written");
    assert_eq!(
        store.claim(key, &claim_by("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
}

/// Records over `max_record_bytes` are refused before anything is written.
#[tokio::test]
async fn records_over_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions::new().with_max_record_bytes(1_000);
    let store = SqliteStore::open_with(dir.path().join("idem.sqlite"), options).unwrap();
    let key = RecordKey {
        tool: "t",
        key: "big",
    };
    let claim = claim_by("a");
    assert_eq!(
        store.claim(key, &claim.claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let big = Completion::Output(store_conformance::large_json(2_000));
    let err = store
        .complete(key, &claim.claim(), &big, TTL)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { limit: 1_000, .. }),
        "{err:?}"
    );
    let held = store.get(key).await.unwrap();
    assert_eq!(held.as_ref().map(Shape::of), Some(Shape::claimed("a")));
    let small = Completion::Output(b"[1]".to_vec());
    store
        .complete(key, &claim.claim(), &small, TTL)
        .await
        .unwrap();
}

/// The file's blocking I/O stays off the async threads on every kind of runtime, and works
/// without one.
#[test]
fn works_on_every_kind_of_runtime() {
    file_stores::works_on_every_kind_of_runtime::<SqliteStore>();
}
