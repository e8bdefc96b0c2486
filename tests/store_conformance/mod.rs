//! The store conformance suite: what every [`Store`] must pass, written once for all stores.
//!
//! A store's test file runs [`run_all`] on a multi-thread Tokio runtime:
//!
//! ```ignore
//! mod store_conformance;
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn conformance() {
//!     store_conformance::run_all(Arc::new(MyStore::new()), Some(&MyCorruptor)).await;
//! }
//! ```
//!
//! - Every check uses tool ids of its own, prefixed by a per-run id, so that checks do not
//!   interfere and a store that outlives the test (Redis, PostgreSQL) can run the suite again.
//! - Time is passed explicitly ([`UnixMillis`]); nothing sleeps. Most checks live around [`T0`];
//!   [`list_delete_purge`] lives around [`P0`], far earlier, so that its purge meets no record
//!   of another check.
//! - The last check, [`purge_all`], empties the store: give the suite a store of its own.
//! - The corrupt-record checks need a way to plant raw bytes, which is store-specific: a
//!   [`Corruptor`]. A store that keeps decoded records only (the memory store) passes `None`.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use idem::store::{
    BoxFuture, Claim, ClaimOutcome, Completion, RECORD_FORMAT, Record, RecordKey, RecordState,
    Store, StoreError, StoredRecord, UnixMillis,
};

/// The time most checks start at (2023-11-14).
pub const T0: UnixMillis = UnixMillis(1_700_000_000_000);
/// The time [`list_delete_purge`] starts at: far before [`T0`].
pub const P0: UnixMillis = UnixMillis(1_000_000_000);
/// The lease of every claim of the suite.
pub const LEASE: Duration = Duration::from_secs(30);
/// The TTL of every completion of the suite.
pub const TTL: Duration = Duration::from_secs(3600);

/// Plants raw bytes as the record of a key, bypassing [`Record::encode`]: store-specific.
pub trait Corruptor: Send + Sync {
    /// Writes `bytes` as the stored value of `key`, whatever is there.
    fn write_raw<'a>(&'a self, key: RecordKey<'a>, bytes: &'a [u8]) -> BoxFuture<'a, ()>;
}

/// Runs every check of the suite on `store`, in turn. The store must be empty of other users:
/// the last check purges everything.
pub async fn run_all(store: Arc<dyn Store>, corruptor: Option<&dyn Corruptor>) {
    let run = run_id();
    let tool = |name: &str| format!("conformance/{run}/{name}");
    let s = &*store;
    claim_absent(s, &tool("claim-absent")).await;
    addresses(s, &tool("addresses")).await;
    claim_race(store.clone(), &tool("claim-race"), 32, 16).await;
    lease_takeover(s, &tool("lease-takeover")).await;
    stale_completion(s, &tool("stale-completion")).await;
    late_completion(s, &tool("late-completion")).await;
    complete_output(s, &tool("complete-output")).await;
    complete_marker(s, &tool("complete-marker")).await;
    complete_failed(s, &tool("complete-failed")).await;
    complete_without_claim(s, &tool("complete-without-claim")).await;
    token_decides(s, &tool("token-decides")).await;
    output_not_json(s, &tool("output-not-json")).await;
    ttl_expiry(s, &tool("ttl-expiry")).await;
    release(s, &tool("release")).await;
    large_output(s, &tool("large-output")).await;
    many_keys(store.clone(), &tool("many-keys"), 2_000).await;
    list_delete_purge(s, &tool("list-delete-purge")).await;
    if let Some(corruptor) = corruptor {
        corrupt_records(s, corruptor, &tool("corrupt")).await;
        other_format(s, corruptor, &tool("other-format")).await;
    }
    purge_all(s).await;
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// `t + ms` milliseconds.
pub fn at(t: UnixMillis, ms: u64) -> UnixMillis {
    UnixMillis(t.0 + ms)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap()
}

/// A claim by `token` at `now`, with fingerprint `fp-{token}` and the suite's [`LEASE`]:
/// [`ClaimBy::claim`] lends it as a [`Claim`].
pub fn claim_by(token: &str, now: UnixMillis) -> ClaimBy {
    ClaimBy {
        token: token.to_owned(),
        fingerprint: format!("fp-{token}"),
        now,
        lease: LEASE,
    }
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

/// The in-progress record a [`claim_by`] creates.
pub fn claimed_record(token: &str, now: UnixMillis) -> Record {
    Record::in_progress(
        token.to_owned(),
        format!("fp-{token}"),
        now,
        now.plus(LEASE),
    )
}

/// The record of `claimed_record(token, claimed_at)` once completed with `completion` at `now`.
pub fn completed_record(
    token: &str,
    claimed_at: UnixMillis,
    completion: &Completion,
    now: UnixMillis,
) -> Record {
    let expires_at = now.plus(TTL);
    let state = match completion {
        Completion::Output(bytes) => RecordState::Completed {
            output: Some(bytes.clone()),
            expires_at,
        },
        Completion::Marker => RecordState::Completed {
            output: None,
            expires_at,
        },
        Completion::Failed(error) => RecordState::Failed {
            error: error.clone(),
            expires_at,
        },
    };
    Record {
        state,
        ..claimed_record(token, claimed_at)
    }
}

async fn claim(
    store: &dyn Store,
    key: RecordKey<'_>,
    token: &str,
    now: UnixMillis,
) -> ClaimOutcome {
    store
        .claim(key, &claim_by(token, now).claim())
        .await
        .unwrap_or_else(|e| panic!("claim of {key} by {token} at {now:?}: {e}"))
}

/// Completes the claim of `token` as `claim_by(token, T0)` makes it. Only the token decides
/// whose claim a record is: a claim made at another time completes all the same (through a
/// slower path in some stores).
async fn complete(
    store: &dyn Store,
    key: RecordKey<'_>,
    token: &str,
    completion: &Completion,
    now: UnixMillis,
) -> Result<(), StoreError> {
    store
        .complete(key, &claim_by(token, T0).claim(), completion, now, TTL)
        .await
}

async fn get(store: &dyn Store, key: RecordKey<'_>, now: UnixMillis) -> Option<Record> {
    store
        .get(key, now)
        .await
        .unwrap_or_else(|e| panic!("get of {key} at {now:?}: {e}"))
}

fn existing(outcome: ClaimOutcome, context: &str) -> Record {
    match outcome {
        ClaimOutcome::Existing(record) => record,
        other => panic!("{context}: expected Existing, got {other:?}"),
    }
}

fn assert_claim_lost(result: Result<(), StoreError>, context: &str) {
    match result {
        Err(StoreError::ClaimLost { .. }) => {}
        other => panic!("{context}: expected ClaimLost, got {other:?}"),
    }
}

async fn list_tool(store: &dyn Store, tool: &str) -> Vec<StoredRecord> {
    let mut records: Vec<StoredRecord> = store
        .list()
        .await
        .expect("list")
        .into_iter()
        .filter(|r| r.tool == tool)
        .collect();
    records.sort_by(|a, b| a.key.cmp(&b.key));
    records
}

/// Output bytes that a sloppy store would alter: escapes, non-ASCII, numbers in several forms,
/// key order that is not sorted.
pub const TRICKY_OUTPUT: &[u8] = r#"{"z":1,"amount":10.50,"big":1e400,"neg":-0,"note":"caf\u00e9 \u2615 \"quoted\" \\ \/","utf8":"naïve ☕ 😀","nested":[1,2.0e3,{"a":null,"b":true}],"empty":{}}"#
    .as_bytes();

// ---------------------------------------------------------------------------------------------
// The checks

/// Claim on an absent key: `Claimed`, the in-progress record as asked; every later claim is
/// `Existing` with that record untouched, the holder's own included; tools and keys are apart.
pub async fn claim_absent(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k1" };
    assert_eq!(get(store, key, T0).await, None, "a fresh key has no record");
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    let record = claimed_record("a", T0);
    assert_eq!(get(store, key, T0).await, Some(record.clone()));
    let found = existing(claim(store, key, "b", at(T0, 1)).await, "second claim");
    assert_eq!(found, record, "Existing gives the holder's record");
    let found = existing(
        claim(store, key, "a", at(T0, 2)).await,
        "claim by the holder",
    );
    assert_eq!(found, record, "claims are not re-entrant");
    assert_eq!(
        get(store, key, at(T0, 3)).await,
        Some(record),
        "Existing leaves it"
    );

    let other_tool = format!("{tool}-other");
    let other_tool = RecordKey {
        tool: &other_tool,
        key: "k1",
    };
    assert_eq!(
        claim(store, other_tool, "c", T0).await,
        ClaimOutcome::Claimed
    );
    let other_key = RecordKey { tool, key: "k2" };
    assert_eq!(
        claim(store, other_key, "d", T0).await,
        ClaimOutcome::Claimed
    );
    assert_eq!(get(store, other_tool, T0).await.unwrap().token, "c");
    assert_eq!(get(store, other_key, T0).await.unwrap().token, "d");
    assert_eq!(get(store, key, T0).await.unwrap().token, "a");
}

/// Tool ids and keys whose naive concatenations or displays collide stay apart, and `list`
/// gives back each exact tool id and key (a tool id may contain any character).
pub async fn addresses(store: &dyn Store, tool: &str) {
    let pairs: Vec<(String, String)> = vec![
        (format!("{tool}ab"), "c".into()),
        (format!("{tool}a"), "bc".into()),
        (format!("{tool}a/x"), "k".into()),
        (format!("{tool}a"), "x/k".into()),
        (format!("{tool}a:1"), "k".into()),
        (format!("{tool}a"), "1:k".into()),
        (format!("{tool}a\u{0}b"), "k".into()),
        (format!("{tool}a"), "b\u{1F600}k".into()),
        (format!("{tool}outil-\u{e9}t\u{e9}"), "cl\u{e9}".into()),
        (format!("{tool}12:"), "34".into()),
    ];
    for (i, (t, k)) in pairs.iter().enumerate() {
        let key = RecordKey { tool: t, key: k };
        let token = format!("t{i}");
        assert_eq!(
            claim(store, key, &token, T0).await,
            ClaimOutcome::Claimed,
            "{t:?} / {k:?} is its own address"
        );
    }
    for (i, (t, k)) in pairs.iter().enumerate() {
        let key = RecordKey { tool: t, key: k };
        let found = get(store, key, T0).await;
        assert_eq!(
            found,
            Some(claimed_record(&format!("t{i}"), T0)),
            "{t:?} / {k:?}"
        );
    }
    let mut listed: Vec<(String, String, String)> = store
        .list()
        .await
        .expect("list")
        .into_iter()
        .filter(|r| r.tool.starts_with(tool))
        .map(|r| (r.tool, r.key, r.record.expect("decodable").token))
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String, String)> = pairs
        .iter()
        .enumerate()
        .map(|(i, (t, k))| (t.clone(), k.clone(), format!("t{i}")))
        .collect();
    expected.sort();
    assert_eq!(listed, expected, "list gives the exact tool ids and keys");
}

/// `tasks` tasks claim one key at the same instant, `rounds` times over, on three kinds of
/// key: absent (exactly one `Claimed`), held by a claim whose lease ended (exactly one
/// `TookOver` of the previous holder) and completed then expired (exactly one `Claimed`).
/// Every other task gets `Existing` with the winner's in-progress record.
pub async fn claim_race(store: Arc<dyn Store>, tool: &str, tasks: usize, rounds: usize) {
    for round in 0..rounds {
        let key = format!("race-{round}");
        let k = RecordKey { tool, key: &key };

        // An absent key.
        let outcomes = race(&store, tool, &key, &format!("r{round}-fresh"), T0, tasks).await;
        let winner = single_winner(&outcomes, &ClaimOutcome::Claimed, "absent key");
        assert_eq!(get(&*store, k, T0).await, Some(claimed_record(&winner, T0)));

        // Its lease has ended: one takes it over.
        let t1 = T0.plus(LEASE);
        let outcomes = race(&store, tool, &key, &format!("r{round}-takeover"), t1, tasks).await;
        let expected = ClaimOutcome::TookOver {
            previous_token: winner.clone(),
        };
        let winner = single_winner(&outcomes, &expected, "lease ended");
        assert_eq!(get(&*store, k, t1).await, Some(claimed_record(&winner, t1)));

        // Completed, then expired: one claims it afresh.
        let done = Completion::Output(br#"{"round":1}"#.to_vec());
        complete(&*store, k, &winner, &done, t1)
            .await
            .expect("the takeover winner completes");
        let t2 = t1.plus(TTL);
        let outcomes = race(&store, tool, &key, &format!("r{round}-expired"), t2, tasks).await;
        let winner = single_winner(&outcomes, &ClaimOutcome::Claimed, "expired result");
        assert_eq!(get(&*store, k, t2).await, Some(claimed_record(&winner, t2)));
    }
}

/// `tasks` concurrent claims of `tool`/`key` at `now`, started together; (token, outcome).
async fn race(
    store: &Arc<dyn Store>,
    tool: &str,
    key: &str,
    prefix: &str,
    now: UnixMillis,
    tasks: usize,
) -> Vec<(String, ClaimOutcome)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let store = Arc::clone(store);
            let barrier = Arc::clone(&barrier);
            let (tool, key) = (tool.to_owned(), key.to_owned());
            let token = format!("{prefix}-{i}");
            tokio::spawn(async move {
                let claim = claim_by(&token, now);
                barrier.wait().await;
                let key = RecordKey {
                    tool: &tool,
                    key: &key,
                };
                let outcome = store
                    .claim(key, &claim.claim())
                    .await
                    .expect("racing claim");
                (token, outcome)
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks);
    for handle in handles {
        outcomes.push(handle.await.expect("racing task"));
    }
    outcomes
}

/// Checks that exactly one outcome is `winning` and every other is `Existing` with the winner's
/// record; returns the winner's token.
fn single_winner(
    outcomes: &[(String, ClaimOutcome)],
    winning: &ClaimOutcome,
    what: &str,
) -> String {
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| o == winning)
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{what}: exactly one {winning:?} among {} claims, got {outcomes:?}",
        outcomes.len()
    );
    let winner = winners[0].clone();
    for (token, outcome) in outcomes {
        if token == &winner {
            continue;
        }
        match outcome {
            ClaimOutcome::Existing(record) => {
                assert_eq!(record.token, winner, "{what}: {token} sees the winner");
                assert!(record.is_in_progress(), "{what}: the winner's claim");
            }
            other => panic!("{what}: {token} got {other:?} besides the winner {winner}"),
        }
    }
    winner
}

/// A claim is `Existing` until its lease ends and `TookOver` from the very millisecond it
/// ends; the new holder's record starts afresh. An in-progress record never expires by itself.
pub async fn lease_takeover(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    let end = T0.plus(LEASE);
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    let found = existing(
        claim(store, key, "b", UnixMillis(end.0 - 1)).await,
        "1 ms before",
    );
    assert_eq!(found, claimed_record("a", T0));
    assert_eq!(
        claim(store, key, "b", end).await,
        ClaimOutcome::TookOver {
            previous_token: "a".into()
        },
        "at the lease end"
    );
    assert_eq!(get(store, key, end).await, Some(claimed_record("b", end)));
    let found = existing(claim(store, key, "c", at(end, 1)).await, "b's live lease");
    assert_eq!(found, claimed_record("b", end));
    // Long after its lease, the record is still there, and still taken over rather than claimed.
    let later = at(T0, 86_400_000);
    assert_eq!(get(store, key, later).await, Some(claimed_record("b", end)));
    assert_eq!(
        claim(store, key, "d", later).await,
        ClaimOutcome::TookOver {
            previous_token: "b".into()
        }
    );
}

/// After a takeover, the former holder can neither complete (any completion) nor release:
/// `ClaimLost`/`false`, and the newer record is untouched, before and after it completes.
pub async fn stale_completion(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    let end = T0.plus(LEASE);
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    assert!(matches!(
        claim(store, key, "b", end).await,
        ClaimOutcome::TookOver { .. }
    ));
    let completions = [
        Completion::Output(br#"{"from":"a"}"#.to_vec()),
        Completion::Marker,
        Completion::Failed("a failed".into()),
    ];
    for completion in &completions {
        let result = complete(store, key, "a", completion, at(end, 1)).await;
        assert_claim_lost(result, "the former holder completes");
        assert_eq!(
            get(store, key, at(end, 1)).await,
            Some(claimed_record("b", end))
        );
    }
    assert!(
        !store
            .release(key, &claim_by("a", T0).claim())
            .await
            .expect("release"),
        "stale release"
    );
    assert_eq!(
        get(store, key, at(end, 1)).await,
        Some(claimed_record("b", end))
    );

    let done = Completion::Output(br#"{"from":"b"}"#.to_vec());
    complete(store, key, "b", &done, at(end, 2))
        .await
        .expect("the holder completes");
    let b_done = completed_record("b", end, &done, at(end, 2));
    for completion in &completions {
        let result = complete(store, key, "a", completion, at(end, 3)).await;
        assert_claim_lost(result, "the former holder completes after the holder");
    }
    assert!(
        !store
            .release(key, &claim_by("a", T0).claim())
            .await
            .expect("release")
    );
    assert_eq!(get(store, key, at(end, 3)).await, Some(b_done));
}

/// A claim whose lease ran out but that nobody took over still completes.
pub async fn late_completion(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    let late = T0.plus(LEASE * 10);
    let done = Completion::Output(b"42".to_vec());
    complete(store, key, "a", &done, late)
        .await
        .expect("a late completion nobody overtook");
    assert_eq!(
        get(store, key, late).await,
        Some(completed_record("a", T0, &done, late))
    );
}

/// Completion with an output: the record keeps token, fingerprint and `created_at`, expires
/// `ttl` after the completion, and replays the exact output bytes through `get` and `claim`.
/// A second completion is refused.
pub async fn complete_output(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    let done = Completion::Output(TRICKY_OUTPUT.to_vec());
    let t = at(T0, 5_000);
    complete(store, key, "a", &done, t).await.expect("complete");
    let record = completed_record("a", T0, &done, t);
    let found = get(store, key, t).await.expect("the completed record");
    match &found.state {
        RecordState::Completed { output, .. } => {
            assert_eq!(
                output.as_deref(),
                Some(TRICKY_OUTPUT),
                "the output, byte for byte"
            );
        }
        other => panic!("expected Completed, got {other:?}"),
    }
    assert_eq!(found, record);
    let replay = existing(claim(store, key, "b", at(t, 1)).await, "a duplicate");
    assert_eq!(replay, record, "a duplicate replays the record");
    let again = complete(store, key, "a", &Completion::Marker, at(t, 2)).await;
    assert_claim_lost(again, "a second completion");
    assert_eq!(get(store, key, at(t, 3)).await, Some(record));
}

/// Completion with a marker: completed, no output.
pub async fn complete_marker(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    complete(store, key, "a", &Completion::Marker, at(T0, 7))
        .await
        .expect("complete");
    let record = completed_record("a", T0, &Completion::Marker, at(T0, 7));
    assert!(matches!(
        record.state,
        RecordState::Completed { output: None, .. }
    ));
    assert_eq!(get(store, key, at(T0, 7)).await, Some(record.clone()));
    assert_eq!(
        existing(claim(store, key, "b", at(T0, 8)).await, "duplicate"),
        record
    );
}

/// Completion as failed: the error is kept and a duplicate finds it.
pub async fn complete_failed(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    let failed = Completion::Failed("card declined: \"insufficient funds\" \u{1F4B8}".into());
    complete(store, key, "a", &failed, at(T0, 9))
        .await
        .expect("complete");
    let record = completed_record("a", T0, &failed, at(T0, 9));
    assert_eq!(get(store, key, at(T0, 9)).await, Some(record.clone()));
    assert_eq!(
        existing(claim(store, key, "b", at(T0, 10)).await, "duplicate"),
        record
    );
}

/// Completing a key nobody claimed is `ClaimLost` and writes nothing.
pub async fn complete_without_claim(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    let result = complete(store, key, "a", &Completion::Marker, T0).await;
    assert_claim_lost(result, "completion of an absent key");
    assert_eq!(get(store, key, T0).await, None, "nothing written");
}

/// `complete` and `release` go by the claim's token alone: given the claim with other fields
/// (another fingerprint, time or lease), they still complete or release the record of that
/// token, and the record keeps the fingerprint and creation time it was claimed with.
pub async fn token_decides(store: &dyn Store, tool: &str) {
    let key = RecordKey {
        tool,
        key: "complete",
    };
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    let other = Claim {
        token: "a",
        fingerprint: "fp-other",
        now: at(T0, 3),
        lease: LEASE * 2,
    };
    let done = Completion::Output(br#"{"by":"token"}"#.to_vec());
    store
        .complete(key, &other, &done, at(T0, 4), TTL)
        .await
        .expect("complete by token");
    assert_eq!(
        get(store, key, at(T0, 4)).await,
        Some(completed_record("a", T0, &done, at(T0, 4)))
    );

    let key = RecordKey {
        tool,
        key: "release",
    };
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    assert!(store.release(key, &other).await.expect("release by token"));
    assert_eq!(get(store, key, T0).await, None, "released");
}

/// An output that is not JSON is refused (`Corrupt`) and the claim stays as it was, to be
/// completed properly.
pub async fn output_not_json(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    for bad in [&b"not json"[..], b"{\"a\":", b"", b"\"\xff\""] {
        let result = complete(store, key, "a", &Completion::Output(bad.to_vec()), T0).await;
        assert!(
            matches!(result, Err(StoreError::Corrupt { .. })),
            "output {bad:?}: expected Corrupt, got {result:?}"
        );
        assert_eq!(get(store, key, T0).await, Some(claimed_record("a", T0)));
    }
    let done = Completion::Output(b"[1,2,3]".to_vec());
    complete(store, key, "a", &done, T0)
        .await
        .expect("complete");
    assert_eq!(
        get(store, key, T0).await,
        Some(completed_record("a", T0, &done, T0))
    );
}

/// A completed or failed record is there until the millisecond it expires, absent from then
/// on (`get` gives `None`), and a claim then is `Claimed` (not a takeover).
pub async fn ttl_expiry(store: &dyn Store, tool: &str) {
    let completions = [
        ("output", Completion::Output(br#"{"ok":true}"#.to_vec())),
        ("marker", Completion::Marker),
        ("failed", Completion::Failed("permanent".into())),
    ];
    for (name, completion) in &completions {
        let key = RecordKey { tool, key: name };
        assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
        let t = at(T0, 100);
        complete(store, key, "a", completion, t)
            .await
            .expect("complete");
        let record = completed_record("a", T0, completion, t);
        let end = t.plus(TTL);
        assert_eq!(
            get(store, key, UnixMillis(end.0 - 1)).await,
            Some(record.clone())
        );
        let found = existing(claim(store, key, "b", UnixMillis(end.0 - 1)).await, name);
        assert_eq!(found, record, "{name}: 1 ms before expiry");
        assert_eq!(get(store, key, end).await, None, "{name}: expired");
        assert_eq!(
            claim(store, key, "b", end).await,
            ClaimOutcome::Claimed,
            "{name}: a claim after expiry"
        );
        assert_eq!(get(store, key, end).await, Some(claimed_record("b", end)));
    }
}

/// Release: only by the holding token and only of an in-progress record; then the key is free.
pub async fn release(store: &dyn Store, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert!(
        !store
            .release(key, &claim_by("a", T0).claim())
            .await
            .expect("release"),
        "absent"
    );
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    assert!(
        !store
            .release(key, &claim_by("b", T0).claim())
            .await
            .expect("release"),
        "another token"
    );
    assert_eq!(get(store, key, T0).await, Some(claimed_record("a", T0)));
    assert!(
        store
            .release(key, &claim_by("a", T0).claim())
            .await
            .expect("release"),
        "the holder"
    );
    assert_eq!(get(store, key, T0).await, None, "released");
    assert!(
        !store
            .release(key, &claim_by("a", T0).claim())
            .await
            .expect("release"),
        "twice"
    );
    let result = complete(store, key, "a", &Completion::Marker, T0).await;
    assert_claim_lost(result, "completion after release");
    assert_eq!(get(store, key, T0).await, None, "nothing written");
    assert_eq!(
        claim(store, key, "b", at(T0, 1)).await,
        ClaimOutcome::Claimed
    );

    // A completed record is not a claim: its own token cannot release it.
    complete(store, key, "b", &Completion::Marker, at(T0, 2))
        .await
        .expect("complete");
    assert!(
        !store
            .release(key, &claim_by("b", T0).claim())
            .await
            .expect("release"),
        "completed"
    );
    let record = completed_record("b", at(T0, 1), &Completion::Marker, at(T0, 2));
    assert_eq!(get(store, key, at(T0, 3)).await, Some(record));
}

/// 1 MiB of JSON output round-trips byte for byte.
pub async fn large_output(store: &dyn Store, tool: &str) {
    let output = large_json(1 << 20);
    assert_eq!(output.len(), 1 << 20);
    let key = RecordKey { tool, key: "k" };
    assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    let done = Completion::Output(output.clone());
    complete(store, key, "a", &done, T0)
        .await
        .expect("complete");
    let found = get(store, key, T0).await.expect("record");
    let RecordState::Completed {
        output: Some(found),
        ..
    } = found.state
    else {
        panic!("expected an output, got {:?}", found.state);
    };
    assert!(found == output, "1 MiB output differs after the round trip");
    let replay = existing(claim(store, key, "b", T0).await, "duplicate");
    assert_eq!(replay, completed_record("a", T0, &done, T0));
}

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

/// `n` distinct keys claimed and completed by 8 concurrent workers; every one reads back with
/// its own output, and `list` has all of them.
pub async fn many_keys(store: Arc<dyn Store>, tool: &str, n: usize) {
    const WORKERS: usize = 8;
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let store = Arc::clone(&store);
            let tool = tool.to_owned();
            tokio::spawn(async move {
                for i in (w..n).step_by(WORKERS) {
                    let key = format!("key-{i:05}");
                    let key = RecordKey {
                        tool: &tool,
                        key: &key,
                    };
                    let token = format!("t{i}");
                    assert_eq!(claim(&*store, key, &token, T0).await, ClaimOutcome::Claimed);
                    let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
                    complete(&*store, key, &token, &done, T0)
                        .await
                        .unwrap_or_else(|e| panic!("complete {key}: {e}"));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("worker");
    }
    for i in 0..n {
        let key = format!("key-{i:05}");
        let key = RecordKey { tool, key: &key };
        let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
        let expected = completed_record(&format!("t{i}"), T0, &done, T0);
        assert_eq!(get(&*store, key, at(T0, 1)).await, Some(expected));
    }
    let listed = list_tool(&*store, tool).await;
    assert_eq!(listed.len(), n, "list has every key");
    for (i, stored) in listed.iter().enumerate() {
        assert_eq!(stored.key, format!("key-{i:05}"));
        assert_eq!(
            stored.record.as_ref().expect("decodable").token,
            format!("t{i}")
        );
    }
}

/// `list` gives every record of the tool, expired ones included; `delete` removes one whatever
/// its state and says whether it did; `purge(now, false)` removes exactly the expired completed
/// and failed records (not a claim whose lease ended) and counts them.
pub async fn list_delete_purge(store: &dyn Store, tool: &str) {
    let secs = |s: u64| at(P0, s * 1000);
    let k = |key| RecordKey { tool, key };
    let output = Completion::Output(br#"{"v":1}"#.to_vec());
    let failed = Completion::Failed("no".into());
    // key, completion (None: left in progress), completed at; TTL is one hour.
    let plan: [(&str, Option<&Completion>, UnixMillis); 6] = [
        ("a-expired-output", Some(&output), secs(0)),
        ("b-expired-failed", Some(&failed), secs(10)),
        ("c-expired-marker", Some(&Completion::Marker), secs(20)),
        ("d-live-output", Some(&output), secs(3_000)),
        ("e-claim", None, secs(0)),
        ("f-deleted", Some(&output), secs(3_000)),
    ];
    let mut expected = Vec::new();
    for (key, completion, t) in plan {
        assert_eq!(claim(store, k(key), key, P0).await, ClaimOutcome::Claimed);
        let record = match completion {
            Some(completion) => {
                complete(store, k(key), key, completion, t)
                    .await
                    .expect("complete");
                completed_record(key, P0, completion, t)
            }
            None => claimed_record(key, P0),
        };
        expected.push((key.to_owned(), record));
    }
    let listed: Vec<(String, Record)> = list_tool(store, tool)
        .await
        .into_iter()
        .map(|r| (r.key, r.record.expect("decodable")))
        .collect();
    assert_eq!(listed, expected, "list");

    assert!(store.delete(k("f-deleted")).await.expect("delete"));
    assert!(
        !store.delete(k("f-deleted")).await.expect("delete"),
        "twice"
    );
    assert!(!store.delete(k("never")).await.expect("delete"), "absent");
    assert_eq!(get(store, k("f-deleted"), P0).await, None);
    expected.pop();
    // Deleting an in-progress record frees the key: its holder has lost the claim.
    assert_eq!(
        claim(store, k("g-claim"), "g", P0).await,
        ClaimOutcome::Claimed
    );
    assert!(store.delete(k("g-claim")).await.expect("delete"));
    let result = complete(store, k("g-claim"), "g", &output, P0).await;
    assert_claim_lost(result, "completion after delete");

    // At 1h20s + 1ms, a, b and c have expired; d has not; e's lease ended long ago.
    let now = at(secs(3_620), 1);
    assert_eq!(
        store.purge(now, false).await.expect("purge"),
        3,
        "purge count"
    );
    let remaining: Vec<String> = list_tool(store, tool)
        .await
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(remaining, ["d-live-output", "e-claim"]);
    assert_eq!(store.purge(now, false).await.expect("purge"), 0, "again");
    assert_eq!(
        get(store, k("e-claim"), now).await,
        Some(claimed_record("e-claim", P0))
    );
}

/// Records that are not idem records give `Corrupt` on `get` and `claim` (never a panic), a
/// claim never overwrites them, `complete` and `release` fail, `list` shows them as errors,
/// `purge` keeps them, and `delete` removes them.
pub async fn corrupt_records(store: &dyn Store, corruptor: &dyn Corruptor, tool: &str) {
    let garbage: [(&str, &[u8]); 7] = [
        ("binary", b"\xff\xfe\x00garbage"),
        ("empty", b""),
        ("not-a-record", br#"{"hello":"world"}"#),
        ("truncated", br#"{"idem_record":1,"state":"compl"#),
        (
            "unknown-state",
            br#"{"idem_record":1,"state":"exploded","token":"t","fingerprint":"f","created_at":1}"#,
        ),
        (
            "no-lease",
            br#"{"idem_record":1,"state":"in_progress","token":"t","fingerprint":"f","created_at":1}"#,
        ),
        (
            "no-expiry",
            br#"{"idem_record":1,"state":"completed","token":"t","fingerprint":"f","created_at":1}"#,
        ),
    ];
    for (name, bytes) in garbage {
        let key = RecordKey { tool, key: name };
        corruptor.write_raw(key, bytes).await;
        let corrupt = |result: &dyn std::fmt::Debug, what: &str, is: bool| {
            assert!(is, "{name}: {what}: expected Corrupt, got {result:?}");
        };
        let r = store.get(key, T0).await;
        corrupt(&r, "get", matches!(r, Err(StoreError::Corrupt { .. })));
        let r = store.claim(key, &claim_by("a", T0).claim()).await;
        corrupt(&r, "claim", matches!(r, Err(StoreError::Corrupt { .. })));
        let later = at(T0, 10 * 86_400_000);
        let r = store.claim(key, &claim_by("a", later).claim()).await;
        corrupt(
            &r,
            "late claim",
            matches!(r, Err(StoreError::Corrupt { .. })),
        );
        let r = store
            .complete(
                key,
                &claim_by("t", T0).claim(),
                &Completion::Marker,
                T0,
                TTL,
            )
            .await;
        corrupt(&r, "complete", matches!(r, Err(StoreError::Corrupt { .. })));
        let r = store.release(key, &claim_by("t", T0).claim()).await;
        assert!(r.is_err(), "{name}: release: expected an error, got {r:?}");
        let r = store.get(key, T0).await;
        corrupt(
            &r,
            "get after",
            matches!(r, Err(StoreError::Corrupt { .. })),
        );
        if let Err(StoreError::Corrupt { key: address, .. }) = &r {
            assert!(address.contains(name), "{name}: the error names the key");
        }
    }
    let listed = list_tool(store, tool).await;
    assert_eq!(listed.len(), garbage.len(), "list shows corrupt records");
    assert!(listed.iter().all(|r| r.record.is_err()), "as errors");
    // A purge (at a time when nothing else has expired) keeps them and does not fail on them.
    store
        .purge(P0, false)
        .await
        .expect("purge with corrupt records");
    assert_eq!(list_tool(store, tool).await.len(), garbage.len());
    for (name, _) in garbage {
        let key = RecordKey { tool, key: name };
        assert!(store.delete(key).await.expect("delete"), "{name}: delete");
        assert_eq!(claim(store, key, "a", T0).await, ClaimOutcome::Claimed);
    }
}

/// A record of another format version gives `UnsupportedFormat` on `get` and `claim`, and is
/// not overwritten; a record written raw in format 1 (the documented encoding) reads back.
pub async fn other_format(store: &dyn Store, corruptor: &dyn Corruptor, tool: &str) {
    let key = RecordKey { tool, key: "v2" };
    let v2 = br#"{"idem_record":2,"state":"completed","token":"t","fingerprint":"f","created_at":1,"expires_at":99999999999999,"shiny":"new"}"#;
    corruptor.write_raw(key, v2).await;
    let unsupported = |r: &dyn std::fmt::Debug, is: bool| assert!(is, "expected v2, got {r:?}");
    let r = store.get(key, T0).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 2, supported, .. }) if supported == RECORD_FORMAT),
    );
    let r = store.claim(key, &claim_by("a", T0).claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 2, .. })),
    );
    let r = store.get(key, T0).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 2, .. })),
    );
    assert!(store.delete(key).await.expect("delete"));

    let key = RecordKey { tool, key: "v1" };
    let done = Completion::Output(TRICKY_OUTPUT.to_vec());
    let record = completed_record("a", T0, &done, T0);
    let bytes = record.encode("v1").expect("encode");
    corruptor.write_raw(key, &bytes).await;
    assert_eq!(get(store, key, T0).await, Some(record.clone()));
    assert_eq!(existing(claim(store, key, "b", T0).await, "v1"), record);
}

/// `purge(_, true)` removes every record, whatever its state, and counts them.
pub async fn purge_all(store: &dyn Store) {
    let before = store.list().await.expect("list").len() as u64;
    assert!(before > 0, "the suite left records");
    assert_eq!(store.purge(T0, true).await.expect("purge all"), before);
    assert!(store.list().await.expect("list").is_empty());
    assert_eq!(store.purge(T0, true).await.expect("purge all"), 0);
}
