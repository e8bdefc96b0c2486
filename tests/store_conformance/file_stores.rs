//! What the stores kept in one file (redb, SQLite) share in their tests: a [`FileStore`] opened
//! on a new file per conformance check ([`make`]), the [`Corruptor`] that writes raw bytes into
//! the file, persistence across a reopen ([`records_survive_a_reopen`]), and their blocking
//! I/O kept off the async threads on every kind of runtime ([`works_on_every_kind_of_runtime`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use idem::clock::Clock;
use idem::store::{
    BoxFuture, ClaimOutcome, Completion, RecordKey, RecordState, Store, StoreError, UnixMillis,
};

use super::{ClaimBy, Corruptor, Fixture, LONG_TTL, Shape, TestTime};

/// A store kept in one file.
pub trait FileStore: Store + Sized + 'static {
    /// The name of its file in a test's temporary directory.
    const FILE: &'static str;
    /// Opens (or creates) the store in `path`.
    fn open(path: &Path) -> Result<Self, StoreError>;
    /// The store on `clock`.
    fn with_clock(self, clock: Arc<dyn Clock>) -> Self;
    /// Its file.
    fn path(&self) -> &Path;
    /// Writes `bytes` as the stored value of `key`, bypassing the record encoding.
    fn write_raw<'a>(
        &'a self,
        key: RecordKey<'a>,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

#[cfg(feature = "redb")]
impl FileStore for idem::store::RedbStore {
    const FILE: &'static str = "idem.redb";
    fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open(path)
    }
    fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.with_clock(clock)
    }
    fn path(&self) -> &Path {
        self.path()
    }
    fn write_raw<'a>(
        &'a self,
        key: RecordKey<'a>,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write_raw(key, bytes))
    }
}

#[cfg(feature = "sqlite")]
impl FileStore for idem::store::SqliteStore {
    const FILE: &'static str = "idem.sqlite";
    fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open(path)
    }
    fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.with_clock(clock)
    }
    fn path(&self) -> &Path {
        self.path()
    }
    fn write_raw<'a>(
        &'a self,
        key: RecordKey<'a>,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.write_raw(key, bytes))
    }
}

/// A claim by `token` (the time it carries is the caller's, which the store ignores).
pub fn claim_by(token: &str) -> ClaimBy {
    ClaimBy::new(token, UnixMillis(0), Duration::from_secs(30))
}

/// Plants raw bytes in the store's file.
pub struct RawWriter<S>(pub Arc<S>);

impl<S: FileStore> Corruptor for RawWriter<S> {
    fn write_raw<'a>(&'a self, key: RecordKey<'a>, bytes: &'a [u8]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .write_raw(key, bytes.to_vec())
                .await
                .expect("write raw bytes");
        })
    }
}

/// A store on a new file in a temporary directory (removed after the check), on a manual
/// clock, with corrupt records planted in the file: the `make` of the conformance suite.
pub async fn make<S: FileStore>() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let (clock, time) = TestTime::manual();
    let store = S::open(&dir.path().join(S::FILE)).unwrap();
    let store = Arc::new(store.with_clock(clock));
    let fixture = Fixture::new(Arc::clone(&store) as Arc<dyn Store>, time)
        .with_corruptor(RawWriter(store))
        .with_cleanup(move || async move {
            dir.close().expect("remove the temporary directory");
        });
    Some(fixture)
}

/// Records of every kind of tool id, completed and claimed, read back after the store is
/// reopened, and listed.
pub async fn records_survive_a_reopen<S: FileStore>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(S::FILE);
    let tools = ["tool", "tool:with:colons", "5:tool", "t\u{0}ol"];
    let output = Completion::Output(super::TRICKY_OUTPUT.to_vec());
    {
        let store = S::open(&path).unwrap();
        assert_eq!(store.path(), path);
        for tool in tools {
            let done = RecordKey { tool, key: "done" };
            assert_eq!(
                store.claim(done, &claim_by("a").claim()).await.unwrap(),
                ClaimOutcome::Claimed
            );
            store
                .complete(done, &claim_by("a").claim(), &output, LONG_TTL)
                .await
                .unwrap();
            let running = RecordKey {
                tool,
                key: "running",
            };
            assert_eq!(
                store.claim(running, &claim_by("b").claim()).await.unwrap(),
                ClaimOutcome::Claimed
            );
        }
    }
    let store = S::open(&path).unwrap();
    for tool in tools {
        let done = store
            .get(RecordKey { tool, key: "done" })
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            done.state,
            RecordState::Completed { output: Some(ref o), .. } if o == super::TRICKY_OUTPUT
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

/// A claim, a completion and a read on every kind of runtime: a current-thread runtime (each
/// operation goes to the blocking pool), a multi-thread runtime from `block_on` and from a task
/// (in place), a multi-thread runtime's handle entered inside a current-thread runtime, where
/// Tokio forbids blocking in place (the blocking pool, without a panic), and no runtime at all
/// (the calling thread).
pub fn works_on_every_kind_of_runtime<S: FileStore + Send + Sync>() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(S::open(&dir.path().join(S::FILE)).unwrap());
    let round = |store: Arc<S>, k: &'static str| async move {
        let key = RecordKey { tool: "t", key: k };
        let claim = claim_by("a");
        assert_eq!(
            store.claim(key, &claim.claim()).await.unwrap(),
            ClaimOutcome::Claimed,
            "{k}"
        );
        store
            .complete(key, &claim.claim(), &Completion::Marker, LONG_TTL)
            .await
            .unwrap();
        let found = store.get(key).await.unwrap().unwrap();
        assert!(matches!(found.state, RecordState::Completed { .. }), "{k}");
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
    block_on_here(round(Arc::clone(&store), "no runtime"));
}

/// A minimal executor: polls a future on this thread until it is ready.
fn block_on_here<F: std::future::Future>(future: F) -> F::Output {
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
