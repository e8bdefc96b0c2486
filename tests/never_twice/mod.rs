//! What the never-twice tests share: every store the suite runs on, the tool's spec, a host
//! whose clock is skewed, and a count of the tool's runs.

mod callers_that_give_up;
mod dead_holders;
mod long_tools;
mod outputs;
mod shared_fate;
mod skewed_clocks;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idem::Context;
use idem::clock::ManualClock;
use idem::executor::{ExecuteError, Executor, Holder, Outcome};
use idem::spec::{IdempotencyConfig, InProgressPolicy, ToolSpec};
use idem::store::{
    BoxFuture, Claim, ClaimOutcome, Completion, MemoryStore, Record, RecordKey, RedbStore, Store,
    StoreError, StoredRecord, UnixMillis,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The stores every test runs on, and what keeps them alive: the server stores' fixtures
/// remove the test's prefix and table when this drops (after the stores, declared first).
pub(super) struct Stores {
    pub(super) list: Vec<(&'static str, Arc<dyn Store>)>,
    _dir: tempfile::TempDir,
    #[cfg(feature = "redis")]
    _redis: Option<crate::support::fixture::RedisFixture>,
    #[cfg(feature = "postgres")]
    _postgres: Option<crate::support::fixture::PostgresFixture>,
}

/// Every store this build and environment can give, each fresh; `test` is the test's name
/// ([`test_name!`](crate::support::test_name)), which names its namespaces on the servers.
pub(super) async fn stores(test: &str) -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let redb = RedbStore::open(dir.path().join("idem.redb")).unwrap();
    #[allow(unused_mut)]
    let mut list: Vec<(&'static str, Arc<dyn Store>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        ("redb", Arc::new(redb)),
    ];
    #[cfg(feature = "redis")]
    let redis = crate::support::fixture::RedisFixture::open(test);
    #[cfg(feature = "redis")]
    if let Some(fixture) = &redis {
        list.push(("redis", Arc::new(fixture.connect(fixture.options()).await)));
    }
    #[cfg(feature = "postgres")]
    let postgres = crate::support::fixture::PostgresFixture::open(test);
    #[cfg(feature = "postgres")]
    if let Some(fixture) = &postgres {
        let store: Arc<dyn Store> = fixture.store(idem::store::PostgresOptions::new()).await;
        list.push(("postgres", store));
    }
    #[cfg(feature = "sqlite")]
    {
        let sqlite = idem::store::SqliteStore::open(dir.path().join("idem.sqlite")).unwrap();
        list.push(("sqlite", Arc::new(sqlite)));
    }
    let _ = test;
    Stores {
        list,
        _dir: dir,
        #[cfg(feature = "redis")]
        _redis: redis,
        #[cfg(feature = "postgres")]
        _postgres: postgres,
    }
}

/// A tool spec with this lease and in-progress policy.
pub(super) fn spec(lease: Duration, on_in_progress: InProgressPolicy) -> ToolSpec {
    ToolSpec::function("never-twice-v1", "never_twice")
        .configure(|c| c.in_progress_ttl(lease).on_in_progress(on_in_progress))
        .build()
        .unwrap()
}

pub(super) fn wait(timeout: Duration) -> InProgressPolicy {
    InProgressPolicy::Wait { timeout }
}

/// The arguments of a call: one per test and store, so that stores shared between tests (Redis,
/// PostgreSQL) never mix them.
pub(super) fn args(test: &str, store: &str) -> Value {
    json!({"test": test, "store": store})
}

/// A hosted executor: on `store`, with a clock of its own `skew` ahead of the true time.
pub(super) fn host(store: &Arc<dyn Store>, skew: Duration) -> Executor {
    let clock = ManualClock::at_unix_seconds(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    clock.advance(now + skew);
    Executor::with_store(Arc::clone(store)).with_clock(Arc::new(clock))
}

/// How many times a tool ran.
#[derive(Clone, Default)]
pub(super) struct Runs(Arc<AtomicUsize>);

impl Runs {
    pub(super) fn add(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    pub(super) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
