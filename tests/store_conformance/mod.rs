//! The store conformance suite: what every [`Store`] must pass, written once for all stores.
//!
//! A store's test file runs [`run_all`] on a multi-thread Tokio runtime:
//!
//! ```ignore
//! mod store_conformance;
//! use store_conformance::TestTime;
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn conformance() {
//!     let (clock, time) = TestTime::manual();
//!     let store = MyStore::new().with_clock(clock);
//!     store_conformance::run_all(Arc::new(store), time, Some(&MyCorruptor)).await;
//! }
//! ```
//!
//! - Every check uses tool ids of its own, prefixed by a per-run id, so that checks do not
//!   interfere and a store that outlives the test (Redis, PostgreSQL) can run the suite again.
//! - The store's clock decides leases and expiry: [`TestTime`] moves it (a manual clock) or
//!   waits for it (a server's clock). Claims carry the caller's time too, and the suite sets it
//!   minutes off on purpose ([`checks::store_clock`]): a store must ignore it.
//! - Records are compared by [`Shape`] (token, fingerprint, state and payload): on a server's
//!   clock the instants inside a record cannot be predicted to the millisecond.
//! - The last check, [`checks::purge_all`], empties the store: give the suite a store of its own.
//! - The corrupt-record checks need a way to plant raw bytes, which is store-specific: a
//!   [`Corruptor`]. A store that keeps decoded records only (the memory store) passes `None`.
#![allow(dead_code)]

pub mod checks;
mod time;

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
        ClaimBy {
            token: token.to_owned(),
            fingerprint: format!("fp-{token}"),
            now: self.time.now(),
            lease: self.time.lease(),
        }
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

/// Runs every check of the suite on `store`, in turn. The store must be empty of other users:
/// the last check purges everything.
pub async fn run_all(store: Arc<dyn Store>, time: TestTime, corruptor: Option<&dyn Corruptor>) {
    let run = run_id();
    let tool = |name: &str| format!("conformance/{run}/{name}");
    let s = &Subject {
        store: &*store,
        time: &time,
    };
    checks::claim_absent(s, &tool("claim-absent")).await;
    checks::addresses(s, &tool("addresses")).await;
    let rounds = if time.is_manual() { 16 } else { 2 };
    checks::claim_race(&store, &time, &tool("claim-race"), 32, rounds).await;
    checks::lease_takeover(s, &tool("lease-takeover")).await;
    checks::store_clock(s, &tool("store-clock")).await;
    checks::renewal(s, &tool("renewal")).await;
    checks::stale_completion(s, &tool("stale-completion")).await;
    checks::late_completion(s, &tool("late-completion")).await;
    checks::complete_output(s, &tool("complete-output")).await;
    checks::complete_null(s, &tool("complete-null")).await;
    checks::complete_marker(s, &tool("complete-marker")).await;
    checks::complete_failed(s, &tool("complete-failed")).await;
    checks::complete_unknown(s, &tool("complete-unknown")).await;
    checks::complete_without_claim(s, &tool("complete-without-claim")).await;
    checks::token_decides(s, &tool("token-decides")).await;
    checks::output_not_json(s, &tool("output-not-json")).await;
    checks::ttl_expiry(s, &tool("ttl-expiry")).await;
    checks::release(s, &tool("release")).await;
    checks::large_output(s, &tool("large-output")).await;
    checks::many_keys(&store, &time, &tool("many-keys"), 2_000).await;
    checks::list_delete_purge(s, &tool("list-delete-purge")).await;
    if let Some(corruptor) = corruptor {
        checks::corrupt_records(s, corruptor, &tool("corrupt")).await;
        checks::other_format(s, corruptor, &tool("other-format")).await;
    }
    checks::purge_all(s).await;
}

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

