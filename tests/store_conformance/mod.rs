//! The store conformance suite: what every [`Store`] must pass, written once for all stores.
//!
//! A store's test file makes one [`Fixture`] per check, and [`suite!`] turns every check into a
//! `#[tokio::test]` of its own, named after the check (`lease_takeover`, `purge_all`, ...), so
//! that a failure names the behaviour and `cargo test lease_takeover` runs just that one:
//!
//! ```ignore
//! mod store_conformance;
//! use store_conformance::{Fixture, TestTime};
//!
//! mod conformance {
//!     use super::*;
//!
//!     /// A fresh store for the check `check` (`None`: skipped, e.g. without its server).
//!     async fn make(check: &'static str) -> Option<Fixture> {
//!         let (clock, time) = TestTime::manual();
//!         let store = Arc::new(MyStore::new().with_clock(clock));
//!         Some(
//!             Fixture::new(store.clone(), time)
//!                 .with_corruptor(MyCorruptor(store.clone()))
//!                 .with_cleanup(move || async move { store.drop_everything().await }),
//!         )
//!     }
//!
//!     // `corrupt`: the fixture has a corruptor, so the corrupt-record checks run too.
//!     crate::store_conformance::suite!(make = make, corrupt);
//! }
//! ```
//!
//! - `make` is called once per check, with the check's name, and must give a store of the
//!   check's own: a new one (memory), a new file (redb), a fresh key prefix (Redis), a fresh
//!   table (PostgreSQL). The checks run in parallel and [`checks::purge_all`] empties its store.
//!   A server store whose server is not configured returns `None` (through
//!   `support::servers::server_url`, which fails instead under `IDEM_REQUIRE_SERVERS=1`).
//! - The check runs on a task of its own; the fixture's cleanup (dropping a table, purging a
//!   prefix) runs after it, whether the check passed or panicked.
//! - Every check uses tool ids of its own, prefixed by a per-run id, so that a store that
//!   outlives the test (Redis, PostgreSQL) can run the suite again.
//! - The store's clock decides leases and expiry: [`TestTime`] moves it (a manual clock) or
//!   waits for it (a server's clock). Claims carry the caller's time too, and the suite sets it
//!   minutes off on purpose ([`checks::store_clock`]): a store must ignore it.
//! - Records are compared by [`Shape`] (token, fingerprint, state and payload): on a server's
//!   clock the instants inside a record cannot be predicted to the millisecond.
//! - The corrupt-record checks need a way to plant raw bytes, which is store-specific: a
//!   [`Corruptor`]. A store that keeps decoded records only (the memory store) has none and
//!   uses `suite!(make = ..)` without `corrupt`.
#![allow(dead_code)]

pub mod cases;
pub mod checks;
pub mod file_stores;
mod time;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use idem::store::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, Store, StoreError,
    StoredRecord, UnixMillis,
};
pub use time::TestTime;

/// The TTL of completions meant to outlive a check.
pub const LONG_TTL: Duration = Duration::from_secs(30 * 86_400);

/// Plants raw bytes as the record of a key, bypassing [`Record::encode`]: store-specific.
pub trait Corruptor: Send + Sync {
    /// Writes `bytes` as the stored value of `key`, whatever is there.
    fn write_raw<'a>(&'a self, key: RecordKey<'a>, bytes: &'a [u8]) -> BoxFuture<'a, ()>;
}

/// A store under test and the time it runs on.
pub struct Subject<'s> {
    /// The store.
    pub store: &'s dyn Store,
    /// Its time.
    pub time: &'s TestTime,
}

impl Subject<'_> {
    /// A claim by `token` now, with fingerprint `fp-{token}` and the suite's lease.
    pub fn claim_by(&self, token: &str) -> ClaimBy {
        ClaimBy::new(token, self.time.now(), self.time.lease())
    }

    /// Claims `key` for `token`; panics on a store error.
    pub async fn claim(&self, key: RecordKey<'_>, token: &str) -> ClaimOutcome {
        self.claim_with(key, &self.claim_by(token)).await
    }

    /// Claims `key` with `claim`; panics on a store error.
    pub async fn claim_with(&self, key: RecordKey<'_>, claim: &ClaimBy) -> ClaimOutcome {
        self.store
            .claim(key, &claim.claim())
            .await
            .unwrap_or_else(|e| panic!("claim of {key} by {}: {e}", claim.token))
    }

    /// Completes the claim of `token` (only the token decides whose claim a record is).
    pub async fn complete(
        &self,
        key: RecordKey<'_>,
        token: &str,
        completion: &Completion,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.store
            .complete(key, &self.claim_by(token).claim(), completion, ttl)
            .await
    }

    /// Renews the claim of `token`.
    pub async fn renew(&self, key: RecordKey<'_>, token: &str) -> Result<(), StoreError> {
        self.store.renew(key, &self.claim_by(token).claim()).await
    }

    /// Releases the claim of `token`; panics on a store error.
    pub async fn release(&self, key: RecordKey<'_>, token: &str) -> bool {
        self.store
            .release(key, &self.claim_by(token).claim())
            .await
            .unwrap_or_else(|e| panic!("release of {key} by {token}: {e}"))
    }

    /// The shape of `key`'s record; panics on a store error.
    pub async fn get(&self, key: RecordKey<'_>) -> Option<Shape> {
        self.store
            .get(key)
            .await
            .unwrap_or_else(|e| panic!("get of {key}: {e}"))
            .map(|record| Shape::of(&record))
    }

    /// Every record of `tool`, by key.
    pub async fn list_tool(&self, tool: &str) -> Vec<StoredRecord> {
        let mut records: Vec<StoredRecord> = self
            .store
            .list()
            .await
            .expect("list")
            .into_iter()
            .filter(|r| r.tool == tool)
            .collect();
        records.sort_by(|a, b| a.key.cmp(&b.key));
        records
    }
}

/// One check's test: runs the check `name` as `check` on the fixture `make` gives, then the
/// fixture's cleanup, then fails if either failed. What [`suite!`] expands to.
pub async fn run<M, MF, C, CF>(name: &'static str, make: M, check: C)
where
    M: FnOnce(&'static str) -> MF,
    MF: Future<Output = Option<Fixture>>,
    C: FnOnce(Case) -> CF,
    CF: Future<Output = ()> + Send + 'static,
{
    let Some(fixture) = make(name).await else {
        return;
    };
    let Fixture {
        store,
        time,
        corruptor,
        cleanup,
    } = fixture;
    let case = Case {
        name,
        store,
        time,
        corruptor,
        tool: format!("conformance/{}/{}", run_id(), name.replace('_', "-")),
    };
    // The check owns the case: when its task ends, the store is dropped, before the cleanup.
    let checked = tokio::spawn(check(case)).await;
    let cleaned = match cleanup {
        Some(cleanup) => tokio::spawn(cleanup()).await,
        None => Ok(()),
    };
    for result in [checked, cleaned] {
        if let Err(error) = result {
            match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => panic!("{name}: {error}"),
            }
        }
    }
}

/// What runs after a check, whatever its result.
type Cleanup = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// A store made for one check: the store, the time it runs on, how to plant raw bytes in it,
/// and what to do once the check is over.
pub struct Fixture {
    store: Arc<dyn Store>,
    time: TestTime,
    corruptor: Option<Arc<dyn Corruptor>>,
    cleanup: Option<Cleanup>,
}

impl Fixture {
    /// `store`, on `time`, with no corruptor and nothing to clean up.
    pub fn new(store: Arc<dyn Store>, time: TestTime) -> Fixture {
        Fixture {
            store,
            time,
            corruptor: None,
            cleanup: None,
        }
    }

    /// Plants raw bytes with `corruptor` (needed by `suite!(make = .., corrupt)`).
    pub fn with_corruptor(self, corruptor: impl Corruptor + 'static) -> Fixture {
        Fixture {
            corruptor: Some(Arc::new(corruptor)),
            ..self
        }
    }

    /// Runs `cleanup` once the check is over, passed or failed (after the store is dropped,
    /// unless `cleanup` holds it).
    pub fn with_cleanup<F>(self, cleanup: impl FnOnce() -> F + Send + 'static) -> Fixture
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Fixture {
            cleanup: Some(Box::new(move || Box::pin(cleanup()))),
            ..self
        }
    }
}

/// What one check runs on: its fixture's store, time and corruptor, and a tool id of its own.
pub struct Case {
    /// The check's name.
    pub name: &'static str,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Its time.
    pub time: TestTime,
    /// How to plant raw bytes, if the store has a way.
    pub corruptor: Option<Arc<dyn Corruptor>>,
    /// The tool id of the check's records: `conformance/<run>/<check-name>`.
    pub tool: String,
}

impl Case {
    /// The store and its time, as the checks take them.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            store: &*self.store,
            time: &self.time,
        }
    }

    /// The corruptor; panics when the fixture has none.
    pub fn corruptor(&self) -> &dyn Corruptor {
        self.corruptor.as_deref().unwrap_or_else(|| {
            panic!(
                "{}: the fixture has no Corruptor: give it one with Fixture::with_corruptor, \
                 or use suite!(make = ..) without `corrupt`",
                self.name
            )
        })
    }
}

/// One test per check: `suite!(make = path)` for a store without a [`Corruptor`],
/// `suite!(make = path, corrupt)` for one with (adds the corrupt-record checks). `path` names
/// an `async fn(&'static str) -> Option<Fixture>`. Put each use in a module of its own: the
/// tests are named after the checks.
// A test file may include the suite for its helpers only (test_store_postgres_roundtrips).
#[allow(unused_macros)]
macro_rules! suite {
    (make = $make:path) => {
        $crate::store_conformance::suite!(@tests $make;
            claim_absent addresses claim_race lease_takeover store_clock renewal
            stale_completion late_completion complete_output complete_null complete_marker
            complete_failed complete_unknown complete_without_claim token_decides
            output_not_json ttl_expiry release large_output many_keys list_delete_purge
            purge_all
        );
    };
    (make = $make:path, corrupt) => {
        $crate::store_conformance::suite!(make = $make);
        $crate::store_conformance::suite!(@tests $make; corrupt_records other_format);
    };
    (@tests $make:path; $($check:ident)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::store_conformance::run(
                    stringify!($check),
                    $make,
                    $crate::store_conformance::cases::$check,
                )
                .await;
            }
        )*
    };
}
#[allow(unused_imports)]
pub(crate) use suite;

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// The owned parts of a [`Claim`].
#[derive(Debug, Clone)]
pub struct ClaimBy {
    pub token: String,
    pub fingerprint: String,
    pub now: UnixMillis,
    pub lease: Duration,
}

impl ClaimBy {
    /// A claim by `token`, with the fingerprint `fp-{token}` (what [`Shape::claimed`] expects),
    /// carrying the time `now` and the lease `lease`.
    pub fn new(token: &str, now: UnixMillis, lease: Duration) -> ClaimBy {
        ClaimBy {
            token: token.to_owned(),
            fingerprint: format!("fp-{token}"),
            now,
            lease,
        }
    }

    /// The claim, borrowing the token and the fingerprint.
    pub fn claim(&self) -> Claim<'_> {
        Claim {
            token: &self.token,
            fingerprint: &self.fingerprint,
            now: self.now,
            lease: self.lease,
        }
    }
}

/// What a record says, without its instants: who holds it, for which arguments, and how the
/// call stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub token: String,
    pub fingerprint: String,
    pub state: StateShape,
}

/// A [`RecordState`] without its instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateShape {
    InProgress,
    Completed(Option<Vec<u8>>),
    Failed(String),
    Unknown(String),
}

impl Shape {
    /// The shape of `record`.
    pub fn of(record: &Record) -> Shape {
        let state = match &record.state {
            RecordState::InProgress { .. } => StateShape::InProgress,
            RecordState::Completed { output, .. } => StateShape::Completed(output.clone()),
            RecordState::Failed { error, .. } => StateShape::Failed(error.clone()),
            RecordState::Unknown { reason, .. } => StateShape::Unknown(reason.clone()),
        };
        Shape {
            token: record.token.clone(),
            fingerprint: record.fingerprint.clone(),
            state,
        }
    }

    /// The in-progress record a claim by `token` creates.
    pub fn claimed(token: &str) -> Shape {
        Shape {
            token: token.to_owned(),
            fingerprint: format!("fp-{token}"),
            state: StateShape::InProgress,
        }
    }

    /// The record of `token`'s claim completed with `completion`.
    pub fn done(token: &str, completion: &Completion) -> Shape {
        let state = match completion {
            Completion::Output(bytes) => StateShape::Completed(Some(bytes.clone())),
            Completion::Marker => StateShape::Completed(None),
            Completion::Failed(error) => StateShape::Failed(error.clone()),
            Completion::Unknown(reason) => StateShape::Unknown(reason.clone()),
        };
        Shape {
            state,
            ..Shape::claimed(token)
        }
    }
}

/// The record of an [`Existing`](ClaimOutcome::Existing) outcome, as a shape.
pub fn existing(outcome: ClaimOutcome, context: &str) -> Shape {
    match outcome {
        ClaimOutcome::Existing(record) => Shape::of(&record),
        other => panic!("{context}: expected Existing, got {other:?}"),
    }
}

/// Whether `outcome` took the key from `previous` (a store whose lapsed claims vanish may
/// answer `Claimed`).
pub fn took_over(outcome: &ClaimOutcome, previous: &str) -> bool {
    match outcome {
        ClaimOutcome::TookOver { previous_token } => previous_token == previous,
        ClaimOutcome::Claimed => true,
        ClaimOutcome::Existing(_) => false,
    }
}

pub fn assert_claim_lost(result: Result<(), StoreError>, context: &str) {
    match result {
        Err(StoreError::ClaimLost { .. }) => {}
        other => panic!("{context}: expected ClaimLost, got {other:?}"),
    }
}

/// Output bytes that a sloppy store would alter: escapes, non-ASCII, numbers in several forms,
/// key order that is not sorted.
pub const TRICKY_OUTPUT: &[u8] = r#"{"z":1,"amount":10.50,"big":1e400,"neg":-0,"note":"caf\u00e9 \u2615 \"quoted\" \\ \/","utf8":"naïve ☕ 😀","nested":[1,2.0e3,{"a":null,"b":true}],"empty":{}}"#
    .as_bytes();

/// A JSON array of varied strings, exactly `size` bytes long.
pub fn large_json(size: usize) -> Vec<u8> {
    let mut out = b"[".to_vec();
    let mut i = 0u64;
    // Each item: "item-<i> caf\u00e9 \"q\" ☕", plus a comma.
    while out.len() + 64 < size {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"item-{i} caf\\u00e9 \\\"q\\\" \u{2615}\"").as_bytes());
        i += 1;
    }
    out.extend_from_slice(b",\"");
    while out.len() + 2 < size {
        out.push(b'x');
    }
    out.extend_from_slice(b"\"]");
    out
}
