//! `RedbStore`: the conformance suite (with corrupt records planted in the file), then what is
//! particular to it: persistence across a reopen, one opener at a time, a file that is not a
//! database.
#![cfg(feature = "redb")]

mod store_conformance;

use std::sync::Arc;

use idem::store::{
    BoxFuture, ClaimOutcome, Completion, RecordKey, RecordState, RedbStore, Store, StoreError,
};
use store_conformance::{ClaimBy, Corruptor, LONG_TTL as TTL, Shape, TestTime};

/// A claim by `token` (the time it carries is the caller's, which the store ignores).
fn claim_by(token: &str) -> ClaimBy {
    ClaimBy {
        token: token.to_owned(),
        fingerprint: format!("fp-{token}"),
        now: idem::store::UnixMillis(0),
        lease: std::time::Duration::from_secs(30),
    }
}

struct RedbCorruptor(Arc<RedbStore>);

impl Corruptor for RedbCorruptor {
    fn write_raw<'a>(&'a self, key: RecordKey<'a>, bytes: &'a [u8]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .write_raw(key, bytes.to_vec())
                .await
                .expect("write raw bytes");
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, time) = TestTime::manual();
    let store = RedbStore::open(dir.path().join("idem.redb")).unwrap();
    let store = Arc::new(store.with_clock(clock));
    let corruptor = RedbCorruptor(Arc::clone(&store));
    store_conformance::run_all(store, time, Some(&corruptor)).await;
}

#[tokio::test]
async fn records_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.redb");
    let tools = ["tool", "tool:with:colons", "5:tool", "t\u{0}ol"];
    let output = Completion::Output(store_conformance::TRICKY_OUTPUT.to_vec());
    {
        let store = RedbStore::open(&path).unwrap();
        assert_eq!(store.path(), path);
        for tool in tools {
            let done = RecordKey { tool, key: "done" };
            assert_eq!(
                store.claim(done, &claim_by("a").claim()).await.unwrap(),
                ClaimOutcome::Claimed
            );
            store
                .complete(done, &claim_by("a").claim(), &output, TTL)
                .await
                .unwrap();
            let running = RecordKey {
                tool,
                key: "running",
            };
            assert_eq!(
                store
                    .claim(running, &claim_by("b").claim())
                    .await
                    .unwrap(),
                ClaimOutcome::Claimed
            );
        }
    }
    let store = RedbStore::open(&path).unwrap();
    for tool in tools {
        let done = store
            .get(RecordKey { tool, key: "done" })
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            done.state,
            RecordState::Completed { output: Some(ref o), .. } if o == store_conformance::TRICKY_OUTPUT
        ));
        let running = store
            .get(RecordKey {
                tool,
                key: "running",
            })
            .await
            .unwrap();
        assert_eq!(running.as_ref().map(Shape::of), Some(Shape::claimed("b")));
    }
    let mut listed: Vec<(String, String)> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.tool, r.key))
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = tools
        .iter()
        .flat_map(|t| {
            [
                (t.to_string(), "done".into()),
                (t.to_string(), "running".into()),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
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
