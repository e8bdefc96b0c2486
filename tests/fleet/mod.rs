//! The fleet harness: idempotency across many worker *processes* that share one Redis or
//! PostgreSQL server, or one SQLite file, through crashes, stalls and outages.
//!
//! A store's fleet test file (`tests/test_fleet_redis.rs`, `tests/test_fleet_postgres.rs`,
//! `tests/test_fleet_sqlite.rs`) implements [`Backend`] for its store and runs the scenarios of
//! [`scenarios`]:
//!
//! ```ignore
//! mod fleet;
//!
//! struct Redis { /* ... */ }
//! impl fleet::Backend for Redis { /* open a store, keep a ledger, clean up */ }
//!
//! #[test]
//! fn fleet_worker() {
//!     fleet::worker::main::<Redis>(); // a no-op unless the parent test started this process
//! }
//!
//! #[test]
//! fn exactly_once_across_processes() {
//!     fleet::scenarios::exactly_once::<Redis>("exactly_once_across_processes");
//! }
//! ```
//!
//! - **Workers are processes.** The parent test re-executes its own binary, running only the
//!   test `fleet_worker` ([`WORKER_TEST`]), with a [`job::Job`] in the environment variable
//!   [`JOB_VAR`]; the worker reads commands on its standard input (`go`, `finish`, ...) and
//!   reports on its standard output, one `@fleet <kind> <json>` line per fact (libtest may
//!   prefix a line with `test fleet_worker ... `, so lines are split at the marker).
//!   [`proc::Proc`] is the parent's handle: a child is killed when its handle drops.
//! - **The tool's side effect is a ledger kept in the server itself** (a Redis list, a
//!   PostgreSQL table; for SQLite, a file beside the store's, appended line by line),
//!   appended at the *end* of the tool: `(order, call id)`. A call id names
//!   the process and the call (`w3#17`); the tool's output is its call id, so that a replay
//!   says which execution it replays, and the ledger says how many executions there were.
//! - **Every test works in a namespace of its own** (a Redis prefix, a PostgreSQL table and
//!   ledger table, a temporary directory), removed at the end, whether the test passed or not. Nothing here flushes,
//!   stops or reconfigures a server: outages are made by a TCP proxy of the test's own
//!   ([`proxy::Proxy`]).
//! - **One fleet test at a time** in a test binary ([`run`] holds a lock): each one starts up to
//!   8 processes on a machine that may have 2 cores.

// A store's fleet file runs the scenarios that apply to it (a file has no outage scenario: no
// network, no proxy), so some of the harness goes unused in it.
#![allow(dead_code)]

pub mod job;
pub mod proc;
pub use crate::support::proxy;
pub mod scenarios;
pub mod worker;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use idem::executor::{ExecuteError, Execution, Executor, Outcome};
use idem::spec::{InProgressPolicy, ToolSpec};
use idem::store::{RecordKey, Store, StoreError};
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// The test a worker process runs: every fleet test file has a `#[test] fn fleet_worker()` that
/// calls [`worker::main`].
pub const WORKER_TEST: &str = "fleet_worker";
/// The environment variable that makes `fleet_worker` a worker, holding its [`job::Job`].
pub const JOB_VAR: &str = "IDEM_FLEET_JOB";

/// The arguments of the fleet's tool: a charge, keyed by its order id.
#[derive(Idempotent, Serialize, Deserialize, Clone, Debug)]
#[idem(tool = "fleet-charge-v1", strategy = "fields")]
pub struct Charge {
    /// The order: the idempotency key's only field.
    #[idem(key)]
    pub order: String,
    /// The amount, in cents.
    pub amount: u64,
}

impl Charge {
    pub fn new(order: &str) -> Charge {
        Charge {
            order: order.to_owned(),
            amount: 1_000,
        }
    }

    /// The idempotency key of this charge, as the executor computes it.
    pub fn key(&self) -> String {
        self.idempotency_key(&Context::new())
            .expect("a key")
            .as_str()
            .to_owned()
    }
}

/// The tool spec of [`Charge`]: a lease of `lease`; duplicates wait up to `wait` for a running
/// execution, or fail at once (`None`).
pub fn spec(lease: Duration, wait: Option<Duration>) -> ToolSpec {
    let policy = match wait {
        Some(timeout) => InProgressPolicy::Wait { timeout },
        None => InProgressPolicy::Fail,
    };
    ToolSpec::for_args::<Charge>()
        .configure(|c| c.in_progress_ttl(lease).on_in_progress(policy))
        .build()
        .expect("a valid spec")
}

/// How a store is tuned for a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tuning {
    /// The store's default timeouts.
    Normal,
    /// Short timeouts (a few hundred ms), for outages: no call may hang.
    Short,
}

/// One side effect of the tool: the order it charged, and the call that ran.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub order: String,
    pub call: String,
}

/// A store as the fleet uses it: the store itself, a ledger of side effects in the same server,
/// corrupt records planted by hand, and the namespace's removal.
///
/// One value per process and namespace: the parent opens it with `setup` (creating what the
/// namespace needs), each worker opens it again without.
pub trait Backend: Sized + Send + Sync + 'static {
    /// The store's name, as its [`StoreError::Unavailable`] says it (`"redis"`, `"postgres"`).
    const NAME: &'static str;
    /// The environment variable with the server's URL.
    const URL_VAR: &'static str;

    /// Where the store of `test` is: the server's URL from [`Backend::URL_VAR`], or `None` after
    /// saying that the test skips. A store without a server (a file) gives a place of its own.
    fn locate(test: &str) -> Option<String> {
        crate::support::servers::server_url(Self::URL_VAR, test)
    }

    /// The server's `host:port` in `url`, for a proxy to forward to; `None` when the URL has
    /// another form (then the outage test skips).
    fn upstream(url: &str) -> Option<String>;

    /// The namespace `ns` on the server at `url`; `setup`: create what it needs (once, in the
    /// parent).
    fn open(url: String, ns: String, setup: bool) -> impl Future<Output = Self> + Send;

    /// A store of the namespace, through the proxy at `via` (`host:port`) or directly.
    fn store(
        &self,
        via: Option<&str>,
        tuning: Tuning,
    ) -> impl Future<Output = Result<Arc<dyn Store>, StoreError>> + Send;

    /// The namespace's store, connected directly: for the parent's checks.
    fn admin(&self) -> Arc<dyn Store>;

    /// Appends `(order, call)` to the ledger, directly on the server (never through a proxy).
    fn append(&self, order: &str, call: &str) -> impl Future<Output = Result<(), String>> + Send;

    /// The whole ledger, in the order it was appended.
    fn ledger(&self) -> impl Future<Output = Vec<Entry>> + Send;

    /// Writes a value that is not a record at `key`'s address.
    fn plant_corrupt(&self, key: RecordKey<'_>) -> impl Future<Output = ()> + Send;

    /// Removes everything of the namespace: records, ledger, tables.
    fn cleanup(&self) -> impl Future<Output = ()> + Send;
}

/// What a scenario knows of its test.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The test's name, for messages.
    pub test: String,
    /// The server's URL.
    pub url: String,
    /// The namespace: the Redis prefix or the PostgreSQL table.
    pub ns: String,
}

impl Fleet {
    /// A job for a worker named `name` in this test.
    pub fn job(&self, name: &str, role: job::Role) -> job::Job {
        job::Job {
            url: self.url.clone(),
            ns: self.ns.clone(),
            name: name.to_owned(),
            via: None,
            tuning: Tuning::Normal,
            lease_ms: 30_000,
            wait_ms: Some(30_000),
            role,
        }
    }
}

/// Fleet tests of one binary run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs the scenario `body` on backend `B` in a fresh namespace, then removes the namespace
/// (even when `body` panics, whose panic is then passed on). Without the server's URL
/// ([`Backend::locate`]), says that the test is skipped, and why.
pub fn run<B, F, Fut>(test: &str, tag: &str, body: F)
where
    B: Backend,
    F: FnOnce(Arc<B>, Fleet) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = B::locate(test) else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let ns = namespace(tag);
        let fleet = Fleet {
            test: format!("{test}[{}]", B::NAME),
            url: url.clone(),
            ns: ns.clone(),
        };
        let started = Instant::now();
        let backend = Arc::new(B::open(url, ns, true).await);
        let outcome = tokio::spawn(body(Arc::clone(&backend), fleet.clone())).await;
        if tokio::time::timeout(Duration::from_secs(30), backend.cleanup())
            .await
            .is_err()
        {
            eprintln!("{}: the clean-up of {} timed out", fleet.test, fleet.ns);
        }
        println!("{}: {:.1?} in all", fleet.test, started.elapsed());
        match outcome {
            Ok(()) => {}
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => panic!("{}: the scenario did not finish: {err}", fleet.test),
        }
    });
}

/// A namespace no other test or run uses: a valid Redis prefix and PostgreSQL table name.
fn namespace(tag: &str) -> String {
    let unique = crate::support::fixture::unique().replace('-', "_");
    format!("fleet_{unique}_{tag}")
}

/// Milliseconds since the Unix epoch: one clock for every process of the machine.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------------
// Calls

/// How a call ended, as a worker reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Got {
    /// The tool ran for this call, and its result was recorded.
    Executed { took_over: bool },
    /// Replayed from the store.
    Replayed,
    /// Shared a running execution of the same process.
    Joined,
    /// `ExecuteError::Store(StoreError::Unavailable)` of this backend: the tool did not run.
    Unavailable,
    /// `ExecuteError::Store(StoreError::Corrupt)`: the tool did not run.
    Corrupt,
    /// `ExecuteError::NotRecorded` (the store unavailable): the tool ran, its result was not
    /// recorded.
    NotRecorded,
    /// `ExecuteError::ClaimLost`: the tool ran, its lease had run out and the key was taken over.
    ClaimLost,
    /// `ExecuteError::InProgress`: running elsewhere, and the policy is not to wait.
    InProgress,
    /// `ExecuteError::WaitTimedOut`.
    WaitTimedOut,
    /// `ExecuteError::Joined`: this call joined a run of the same process that failed after its
    /// tool ran (e.g. its result could not be recorded), and shares that error.
    SharedFate,
    /// `ExecuteError::OutcomeUnknown`: an earlier run may or may not have taken effect.
    OutcomeUnknown,
    /// Anything else (a failed test), with its message.
    Other(String),
}

impl Got {
    /// Whether the call gave an output.
    pub fn is_ok(&self) -> bool {
        matches!(self, Got::Executed { .. } | Got::Replayed | Got::Joined)
    }

    /// Whether the tool ran for this call (and appended to the ledger under its call id).
    pub fn ran(&self) -> bool {
        matches!(
            self,
            Got::Executed { .. } | Got::NotRecorded | Got::ClaimLost
        )
    }

    /// A short name, for summaries.
    pub fn name(&self) -> &'static str {
        match self {
            Got::Executed { took_over: false } => "executed",
            Got::Executed { took_over: true } => "executed (took over)",
            Got::Replayed => "replayed",
            Got::Joined => "joined",
            Got::Unavailable => "Store(Unavailable)",
            Got::Corrupt => "Store(Corrupt)",
            Got::NotRecorded => "NotRecorded",
            Got::ClaimLost => "ClaimLost",
            Got::InProgress => "InProgress",
            Got::WaitTimedOut => "WaitTimedOut",
            Got::SharedFate => "Joined (shared fate)",
            Got::OutcomeUnknown => "OutcomeUnknown",
            Got::Other(_) => "other",
        }
    }
}

/// One call, as a worker reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallReport {
    /// The order called.
    pub order: String,
    /// This call's id: what the tool appends and returns when it runs for this call.
    pub call: String,
    pub got: Got,
    /// The output: the call id of the execution it comes from.
    pub output: Option<String>,
    /// When the call started and ended ([`now_ms`]).
    pub start_ms: u64,
    pub end_ms: u64,
}

impl CallReport {
    pub fn took(&self) -> Duration {
        Duration::from_millis(self.end_ms.saturating_sub(self.start_ms))
    }
}

/// Runs one call of `order` as `call`: the tool awaits `before` (a pause, a marker, a wait for
/// a command), then appends `(order, call)` to the ledger and returns `call`.
pub async fn call<B: Backend>(
    backend: &B,
    executor: &Executor,
    spec: &ToolSpec,
    order: &str,
    call: &str,
    before: impl Future<Output = ()>,
) -> CallReport {
    let start_ms = now_ms();
    let args = Charge::new(order);
    let result = executor
        .execute(spec, &Context::new(), &args, || async {
            before.await;
            backend
                .append(order, call)
                .await
                .map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>(call.to_owned())
        })
        .await;
    let (got, output) = classify::<B>(result);
    CallReport {
        order: order.to_owned(),
        call: call.to_owned(),
        got,
        output,
        start_ms,
        end_ms: now_ms(),
    }
}

/// The [`Got`] of a call's result, and its output.
pub fn classify<B: Backend>(
    result: Result<Execution<String>, ExecuteError<std::io::Error>>,
) -> (Got, Option<String>) {
    let got = match &result {
        Ok(execution) => match execution.outcome {
            Outcome::Executed { took_over } => Got::Executed { took_over },
            Outcome::Replayed { args_differ: false } => Got::Replayed,
            Outcome::Joined { args_differ: false } => Got::Joined,
            other => Got::Other(format!("unexpected outcome {other:?}")),
        },
        Err(ExecuteError::Store(StoreError::Unavailable { store, .. })) if *store == B::NAME => {
            Got::Unavailable
        }
        Err(ExecuteError::Store(StoreError::Corrupt { .. })) => Got::Corrupt,
        Err(ExecuteError::NotRecorded {
            source: StoreError::Unavailable { store, .. },
            ..
        }) if *store == B::NAME => Got::NotRecorded,
        Err(ExecuteError::ClaimLost { .. }) => Got::ClaimLost,
        Err(ExecuteError::InProgress { .. }) => Got::InProgress,
        Err(ExecuteError::WaitTimedOut { .. }) => Got::WaitTimedOut,
        Err(ExecuteError::Joined { .. }) => Got::SharedFate,
        Err(ExecuteError::OutcomeUnknown { .. }) => Got::OutcomeUnknown,
        Err(other) => Got::Other(format!("{other} ({other:?})")),
    };
    (got, result.ok().map(|execution| execution.output))
}

// ---------------------------------------------------------------------------------------------
// Checks

/// The ledger's entries by order.
pub fn by_order(ledger: &[Entry]) -> BTreeMap<&str, Vec<&str>> {
    let mut orders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for entry in ledger {
        orders
            .entry(entry.order.as_str())
            .or_default()
            .push(entry.call.as_str());
    }
    orders
}

/// Panics, naming them, when orders appear more than once in the ledger.
pub fn assert_no_order_twice(test: &str, ledger: &[Entry]) {
    let twice: Vec<_> = by_order(ledger)
        .into_iter()
        .filter(|(_, calls)| calls.len() > 1)
        .take(10)
        .collect();
    assert!(
        twice.is_empty(),
        "{test}: orders charged more than once (order, calls): {twice:?}"
    );
}

/// Counts of `got`s, by name, for summaries.
pub fn tally<'a>(gots: impl IntoIterator<Item = &'a Got>) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for got in gots {
        *counts.entry(got.name()).or_default() += 1;
    }
    counts
}

/// A small deterministic generator (xorshift64*), to shuffle without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Below `n` (> 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
