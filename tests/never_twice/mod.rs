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

/// The stores every test runs on, and what keeps them alive.
pub(super) struct Stores {
    pub(super) list: Vec<(&'static str, Arc<dyn Store>)>,
    pub(super) _dir: tempfile::TempDir,
}

/// Every store this build and environment can give, each fresh.
pub(super) async fn stores(test: &str) -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let redb = RedbStore::open(dir.path().join("idem.redb")).unwrap();
    #[allow(unused_mut)]
    let mut list: Vec<(&'static str, Arc<dyn Store>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        ("redb", Arc::new(redb)),
    ];
    let run = format!(
        "{test}-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    #[cfg(feature = "redis")]
    if let Some(url) = crate::support::servers::server_url("IDEM_REDIS_URL", test) {
        let options = idem::store::RedisOptions::new()
            .with_prefix(&format!("idem-test:t{run}"))
            .expect("a valid prefix");
        let store = idem::store::RedisStore::connect_with(&url, options)
            .await
            .expect("connect to IDEM_REDIS_URL");
        list.push(("redis", Arc::new(store)));
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = crate::support::servers::server_url("IDEM_POSTGRES_URL", test) {
        let table = format!("idem_test_{}", run.replace('-', "_"));
        let table = idem::store::PostgresTable::new(&table).expect("a valid table name");
        let options = idem::store::PostgresOptions::new().with_table(table);
        let store = idem::store::PostgresStore::connect_with(&url, options)
            .await
            .expect("connect to IDEM_POSTGRES_URL");
        list.push(("postgres", Arc::new(store)));
    }
    #[cfg(feature = "sqlite")]
    {
        let sqlite = idem::store::SqliteStore::open(dir.path().join("idem.sqlite")).unwrap();
        list.push(("sqlite", Arc::new(sqlite)));
    }
    let _ = run;
    Stores { list, _dir: dir }
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
