//! The checks of the suite, one behaviour each.

use std::sync::Arc;
use std::time::Duration;

use idem::store::{
    Claim, ClaimOutcome, Completion, RECORD_FORMAT, RecordKey, RecordState, Store, StoreError,
    UnixMillis,
};

use super::{
    ClaimBy, Corruptor, LONG_TTL, Shape, StateShape, Subject, TRICKY_OUTPUT, TestTime,
    assert_claim_lost, existing, large_json, took_over,
};

/// Claim on an absent key: `Claimed`, the in-progress record as asked; every later claim is
/// `Existing` with that record untouched, the holder's own included; tools and keys are apart.
pub async fn claim_absent(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k1" };
    assert_eq!(s.get(key).await, None, "a fresh key has no record");
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    let record = Shape::claimed("a");
    assert_eq!(s.get(key).await, Some(record.clone()));
    let found = existing(s.claim(key, "b").await, "second claim");
    assert_eq!(found, record, "Existing gives the holder's record");
    let found = existing(s.claim(key, "a").await, "claim by the holder");
    assert_eq!(found, record, "claims are not re-entrant");
    assert_eq!(s.get(key).await, Some(record), "Existing leaves it");

    let other_tool = format!("{tool}-other");
    let other_tool = RecordKey {
        tool: &other_tool,
        key: "k1",
    };
    assert_eq!(s.claim(other_tool, "c").await, ClaimOutcome::Claimed);
    let other_key = RecordKey { tool, key: "k2" };
    assert_eq!(s.claim(other_key, "d").await, ClaimOutcome::Claimed);
    assert_eq!(s.get(other_tool).await.unwrap().token, "c");
    assert_eq!(s.get(other_key).await.unwrap().token, "d");
    assert_eq!(s.get(key).await.unwrap().token, "a");
}

/// Tool ids and keys whose naive concatenations or displays collide stay apart, and `list`
/// gives back each exact tool id and key (a tool id may contain any character).
pub async fn addresses(s: &Subject<'_>, tool: &str) {
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
        assert_eq!(
            s.claim(key, &format!("t{i}")).await,
            ClaimOutcome::Claimed,
            "{t:?} / {k:?} is its own address"
        );
    }
    for (i, (t, k)) in pairs.iter().enumerate() {
        let key = RecordKey { tool: t, key: k };
        let expected = Shape::claimed(&format!("t{i}"));
        assert_eq!(s.get(key).await, Some(expected), "{t:?} / {k:?}");
    }
    let mut listed: Vec<(String, String, String)> = s
        .store
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
/// key: absent (exactly one `Claimed`), held by a claim whose lease ended (exactly one takes it
/// over) and completed then expired (exactly one `Claimed`). Every other task gets `Existing`
/// with the winner's in-progress record.
pub async fn claim_race(
    store: &Arc<dyn Store>,
    time: &TestTime,
    tool: &str,
    tasks: usize,
    rounds: usize,
) {
    let s = &Subject {
        store: &**store,
        time,
    };
    for round in 0..rounds {
        let key = format!("race-{round}");
        let k = RecordKey { tool, key: &key };

        let outcomes = race(s, store, tool, &key, &format!("r{round}-fresh"), tasks).await;
        let winner = single_winner(&outcomes, |o| *o == ClaimOutcome::Claimed, "absent key");
        assert_eq!(s.get(k).await, Some(Shape::claimed(&winner)));

        time.pass(time.lease() + time.margin()).await;
        let outcomes = race(s, store, tool, &key, &format!("r{round}-takeover"), tasks).await;
        let previous = winner.clone();
        let winner = single_winner(&outcomes, |o| took_over(o, &previous), "lease ended");
        assert_eq!(s.get(k).await, Some(Shape::claimed(&winner)));

        let done = Completion::Output(br#"{"round":1}"#.to_vec());
        s.complete(k, &winner, &done, time.ttl())
            .await
            .expect("the takeover winner completes");
        time.pass(time.ttl() + time.margin()).await;
        let outcomes = race(s, store, tool, &key, &format!("r{round}-expired"), tasks).await;
        let winner = single_winner(&outcomes, |o| *o == ClaimOutcome::Claimed, "expired");
        assert_eq!(s.get(k).await, Some(Shape::claimed(&winner)));
    }
}

/// `tasks` concurrent claims of `tool`/`key`, started together; (token, outcome).
async fn race(
    s: &Subject<'_>,
    store: &Arc<dyn Store>,
    tool: &str,
    key: &str,
    prefix: &str,
    tasks: usize,
) -> Vec<(String, ClaimOutcome)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let store = Arc::clone(store);
            let barrier = Arc::clone(&barrier);
            let (tool, key) = (tool.to_owned(), key.to_owned());
            let claim = s.claim_by(&format!("{prefix}-{i}"));
            tokio::spawn(async move {
                barrier.wait().await;
                let key = RecordKey {
                    tool: &tool,
                    key: &key,
                };
                let outcome = store
                    .claim(key, &claim.claim())
                    .await
                    .expect("racing claim");
                (claim.token, outcome)
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
    winning: impl Fn(&ClaimOutcome) -> bool,
    what: &str,
) -> String {
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| winning(o))
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{what}: exactly one winner among {} claims, got {outcomes:?}",
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

/// A claim is `Existing` until its lease ends on the store's clock and is taken over once it
/// has; the new holder's record starts afresh. On a manual clock: `Existing` 1 ms before the
/// end, `TookOver` at the very millisecond, and an in-progress record never expires by itself.
pub async fn lease_takeover(s: &Subject<'_>, tool: &str) {
    let time = s.time;
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    time.pass(time.lease() - time.margin()).await;
    let found = existing(s.claim(key, "b").await, "before the lease ends");
    assert_eq!(found, Shape::claimed("a"));
    time.pass(time.margin() * 2).await;
    let outcome = s.claim(key, "b").await;
    assert!(took_over(&outcome, "a"), "after the lease: {outcome:?}");
    assert_eq!(s.get(key).await, Some(Shape::claimed("b")));
    let found = existing(s.claim(key, "c").await, "b's live lease");
    assert_eq!(found, Shape::claimed("b"));
    if time.is_manual() {
        let key = RecordKey { tool, key: "exact" };
        assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
        time.pass(time.lease() - Duration::from_millis(1)).await;
        existing(s.claim(key, "b").await, "1 ms before");
        time.pass(Duration::from_millis(1)).await;
        assert_eq!(
            s.claim(key, "b").await,
            ClaimOutcome::TookOver {
                previous_token: "a".into()
            },
            "at the lease end"
        );
        // Long after its lease, the record is still there, and taken over rather than claimed.
        time.pass(Duration::from_secs(86_400)).await;
        assert_eq!(s.get(key).await, Some(Shape::claimed("b")));
        assert_eq!(
            s.claim(key, "d").await,
            ClaimOutcome::TookOver {
                previous_token: "b".into()
            }
        );
    }
}

/// The store's clock decides, never the caller's: a claimer whose clock runs 5 minutes ahead
/// does not take over a live claim, and one whose clock runs 5 minutes behind does not get a
/// lease that ends early or late.
pub async fn store_clock(s: &Subject<'_>, tool: &str) {
    let time = s.time;
    let skewed = |token: &str, ahead: bool| ClaimBy {
        now: if ahead {
            UnixMillis(time.now().0 + 300_000)
        } else {
            UnixMillis(time.now().0 - 300_000)
        },
        ..s.claim_by(token)
    };
    for (name, holder_ahead) in [("holder-behind", false), ("holder-ahead", true)] {
        let key = RecordKey { tool, key: name };
        let outcome = s.claim_with(key, &skewed("a", holder_ahead)).await;
        assert_eq!(outcome, ClaimOutcome::Claimed, "{name}");
        time.pass(time.margin()).await;
        let found = existing(
            s.claim_with(key, &skewed("b", !holder_ahead)).await,
            &format!("{name}: a claimer 5 minutes off meets a live claim"),
        );
        assert_eq!(found, Shape::claimed("a"), "{name}");
        time.pass(time.lease()).await;
        let outcome = s.claim_with(key, &skewed("b", !holder_ahead)).await;
        assert!(
            took_over(&outcome, "a"),
            "{name}: the lease ends on the store's clock: {outcome:?}"
        );
        s.complete(key, "b", &Completion::Marker, LONG_TTL)
            .await
            .expect("complete");
        let found = existing(s.claim_with(key, &skewed("c", true)).await, name);
        assert_eq!(found, Shape::done("b", &Completion::Marker), "{name}");
    }
}

/// Renewing a claim moves its lease end: a claim renewed every half lease stays `Existing`
/// for several leases, and is taken over one lease after the last renewal. Renewal by another
/// token, of an absent key, or of a finished record is `ClaimLost` and writes nothing; the
/// renewed claim still completes.
pub async fn renewal(s: &Subject<'_>, tool: &str) {
    let time = s.time;
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    for round in 0..4 {
        time.pass(time.lease() / 2).await;
        s.renew(key, "a")
            .await
            .unwrap_or_else(|e| panic!("renewal {round}: {e}"));
        let found = existing(s.claim(key, "b").await, &format!("renewed {round}"));
        assert_eq!(found, Shape::claimed("a"));
    }
    assert_claim_lost(s.renew(key, "b").await, "renewal by another token");
    time.pass(time.lease() + time.margin()).await;
    let outcome = s.claim(key, "b").await;
    assert!(
        took_over(&outcome, "a"),
        "after the last renewal: {outcome:?}"
    );
    assert_claim_lost(s.renew(key, "a").await, "renewal after a takeover");
    assert_eq!(s.get(key).await, Some(Shape::claimed("b")));
    s.renew(key, "b").await.expect("the new holder renews");
    let done = Completion::Output(br#"{"renewed":true}"#.to_vec());
    s.complete(key, "b", &done, LONG_TTL)
        .await
        .expect("a renewed claim completes");
    assert_claim_lost(s.renew(key, "b").await, "renewal of a completed record");
    assert_eq!(s.get(key).await, Some(Shape::done("b", &done)));

    let absent = RecordKey {
        tool,
        key: "absent",
    };
    assert_claim_lost(s.renew(absent, "a").await, "renewal of an absent key");
    assert_eq!(s.get(absent).await, None, "nothing written");
}

/// After a takeover, the former holder can neither complete (any completion) nor release:
/// `ClaimLost`/`false`, and the newer record is untouched, before and after it completes.
pub async fn stale_completion(s: &Subject<'_>, tool: &str) {
    let time = s.time;
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    time.pass(time.lease() + time.margin()).await;
    let outcome = s.claim(key, "b").await;
    assert!(took_over(&outcome, "a"), "{outcome:?}");
    let completions = [
        Completion::Output(br#"{"from":"a"}"#.to_vec()),
        Completion::Marker,
        Completion::Failed("a failed".into()),
        Completion::Unknown("a panicked".into()),
    ];
    for completion in &completions {
        let result = s.complete(key, "a", completion, LONG_TTL).await;
        assert_claim_lost(result, "the former holder completes");
        assert_eq!(s.get(key).await, Some(Shape::claimed("b")));
    }
    assert!(!s.release(key, "a").await, "stale release");
    assert_eq!(s.get(key).await, Some(Shape::claimed("b")));

    let done = Completion::Output(br#"{"from":"b"}"#.to_vec());
    s.complete(key, "b", &done, LONG_TTL)
        .await
        .expect("the holder completes");
    for completion in &completions {
        let result = s.complete(key, "a", completion, LONG_TTL).await;
        assert_claim_lost(result, "the former holder completes after the holder");
    }
    assert!(!s.release(key, "a").await);
    assert_eq!(s.get(key).await, Some(Shape::done("b", &done)));
}

/// A claim whose lease ran out but that nobody took over still completes.
pub async fn late_completion(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    s.time.pass(s.time.lease() * 2).await;
    let done = Completion::Output(b"42".to_vec());
    s.complete(key, "a", &done, LONG_TTL)
        .await
        .expect("a late completion nobody overtook");
    assert_eq!(s.get(key).await, Some(Shape::done("a", &done)));
}

/// Completion with an output: the record keeps token and fingerprint, and replays the exact
/// output bytes through `get` and `claim`. A second completion is refused.
pub async fn complete_output(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    let done = Completion::Output(TRICKY_OUTPUT.to_vec());
    s.complete(key, "a", &done, LONG_TTL)
        .await
        .expect("complete");
    let record = Shape::done("a", &done);
    assert_eq!(s.get(key).await, Some(record.clone()), "byte for byte");
    let replay = existing(s.claim(key, "b").await, "a duplicate");
    assert_eq!(replay, record, "a duplicate replays the record");
    let again = s.complete(key, "a", &Completion::Marker, LONG_TTL).await;
    assert_claim_lost(again, "a second completion");
    assert_eq!(s.get(key).await, Some(record));
}

/// An output of JSON `null` (a tool returning `()` or `None`) is an output, not a marker.
pub async fn complete_null(s: &Subject<'_>, tool: &str) {
    for (name, json) in [("null", &b"null"[..]), ("spaced-null", b" null ")] {
        let key = RecordKey { tool, key: name };
        assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
        let done = Completion::Output(json.to_vec());
        s.complete(key, "a", &done, LONG_TTL)
            .await
            .expect("complete");
        let expected = Shape::done("a", &Completion::Output(b"null".to_vec()));
        assert_eq!(s.get(key).await, Some(expected.clone()), "{name}");
        assert_eq!(existing(s.claim(key, "b").await, name), expected, "{name}");
    }
}

/// Completion with a marker: completed, no output.
pub async fn complete_marker(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    s.complete(key, "a", &Completion::Marker, LONG_TTL)
        .await
        .expect("complete");
    let record = Shape::done("a", &Completion::Marker);
    assert_eq!(record.state, StateShape::Completed(None));
    assert_eq!(s.get(key).await, Some(record.clone()));
    assert_eq!(existing(s.claim(key, "b").await, "duplicate"), record);
}

/// Completion as failed: the error is kept and a duplicate finds it.
pub async fn complete_failed(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    let failed = Completion::Failed("card declined: \"insufficient funds\" \u{1F4B8}".into());
    s.complete(key, "a", &failed, LONG_TTL)
        .await
        .expect("complete");
    let record = Shape::done("a", &failed);
    assert_eq!(s.get(key).await, Some(record.clone()));
    assert_eq!(existing(s.claim(key, "b").await, "duplicate"), record);
}

/// An unknown outcome is kept with its reason; a duplicate finds it (and does not get the key)
/// until it expires.
pub async fn complete_unknown(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    let unknown = Completion::Unknown("the tool panicked: \"boom\" \u{1F4A5}".into());
    s.complete(key, "a", &unknown, s.time.ttl())
        .await
        .expect("complete");
    let record = Shape::done("a", &unknown);
    assert_eq!(s.get(key).await, Some(record.clone()));
    assert_eq!(existing(s.claim(key, "b").await, "duplicate"), record);
    assert!(!s.release(key, "a").await, "a finished record is no claim");
    s.time.pass(s.time.ttl() + s.time.margin()).await;
    assert_eq!(s.get(key).await, None, "expired");
    assert_eq!(s.claim(key, "b").await, ClaimOutcome::Claimed);
}

/// Completing a key nobody claimed is `ClaimLost` and writes nothing.
pub async fn complete_without_claim(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    let result = s.complete(key, "a", &Completion::Marker, LONG_TTL).await;
    assert_claim_lost(result, "completion of an absent key");
    assert_eq!(s.get(key).await, None, "nothing written");
}

/// `renew`, `complete` and `release` go by the claim's token alone: given the claim with other
/// fields (another fingerprint, time or lease), they still act on the record of that token, and
/// the record keeps the fingerprint it was claimed with.
pub async fn token_decides(s: &Subject<'_>, tool: &str) {
    let other = Claim {
        token: "a",
        fingerprint: "fp-other",
        now: UnixMillis(s.time.now().0 + 3),
        lease: s.time.lease() * 2,
    };
    let key = RecordKey {
        tool,
        key: "complete",
    };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    s.store.renew(key, &other).await.expect("renew by token");
    let done = Completion::Output(br#"{"by":"token"}"#.to_vec());
    s.store
        .complete(key, &other, &done, LONG_TTL)
        .await
        .expect("complete by token");
    assert_eq!(s.get(key).await, Some(Shape::done("a", &done)));

    let key = RecordKey {
        tool,
        key: "release",
    };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    assert!(
        s.store
            .release(key, &other)
            .await
            .expect("release by token")
    );
    assert_eq!(s.get(key).await, None, "released");
}

/// An output that is not JSON is refused (`Corrupt`) and the claim stays as it was, to be
/// completed properly.
pub async fn output_not_json(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    for bad in [&b"not json"[..], b"{\"a\":", b"", b"\"\xff\""] {
        let result = s
            .complete(key, "a", &Completion::Output(bad.to_vec()), LONG_TTL)
            .await;
        assert!(
            matches!(result, Err(StoreError::Corrupt { .. })),
            "output {bad:?}: expected Corrupt, got {result:?}"
        );
        assert_eq!(s.get(key).await, Some(Shape::claimed("a")));
    }
    let done = Completion::Output(b"[1,2,3]".to_vec());
    s.complete(key, "a", &done, LONG_TTL)
        .await
        .expect("complete");
    assert_eq!(s.get(key).await, Some(Shape::done("a", &done)));
}

/// A finished record is there until it expires on the store's clock, absent from then on
/// (`get` gives `None`), and a claim then is `Claimed` (not a takeover). On a manual clock,
/// to the millisecond.
pub async fn ttl_expiry(s: &Subject<'_>, tool: &str) {
    let time = s.time;
    let completions = [
        ("output", Completion::Output(br#"{"ok":true}"#.to_vec())),
        ("marker", Completion::Marker),
        ("failed", Completion::Failed("permanent".into())),
        ("unknown", Completion::Unknown("cancelled".into())),
    ];
    for (name, completion) in &completions {
        let key = RecordKey { tool, key: name };
        assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
        s.complete(key, "a", completion, time.ttl())
            .await
            .expect("complete");
    }
    time.pass(time.ttl() - time.margin()).await;
    for (name, completion) in &completions {
        let key = RecordKey { tool, key: name };
        let record = Shape::done("a", completion);
        assert_eq!(s.get(key).await, Some(record.clone()), "{name}: before");
        let found = existing(s.claim(key, "b").await, name);
        assert_eq!(found, record, "{name}: before expiry");
    }
    time.pass(time.margin() * 2).await;
    for (name, _) in &completions {
        let key = RecordKey { tool, key: name };
        assert_eq!(s.get(key).await, None, "{name}: expired");
        assert_eq!(
            s.claim(key, "b").await,
            ClaimOutcome::Claimed,
            "{name}: a claim after expiry"
        );
        assert_eq!(s.get(key).await, Some(Shape::claimed("b")));
    }
}

/// Release: only by the holding token and only of an in-progress record; then the key is free.
pub async fn release(s: &Subject<'_>, tool: &str) {
    let key = RecordKey { tool, key: "k" };
    assert!(!s.release(key, "a").await, "absent");
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    assert!(!s.release(key, "b").await, "another token");
    assert_eq!(s.get(key).await, Some(Shape::claimed("a")));
    assert!(s.release(key, "a").await, "the holder");
    assert_eq!(s.get(key).await, None, "released");
    assert!(!s.release(key, "a").await, "twice");
    let result = s.complete(key, "a", &Completion::Marker, LONG_TTL).await;
    assert_claim_lost(result, "completion after release");
    assert_eq!(s.get(key).await, None, "nothing written");
    assert_eq!(s.claim(key, "b").await, ClaimOutcome::Claimed);

    // A completed record is not a claim: its own token cannot release it.
    s.complete(key, "b", &Completion::Marker, LONG_TTL)
        .await
        .expect("complete");
    assert!(!s.release(key, "b").await, "completed");
    assert_eq!(
        s.get(key).await,
        Some(Shape::done("b", &Completion::Marker))
    );
}

/// 1 MiB of JSON output round-trips byte for byte.
pub async fn large_output(s: &Subject<'_>, tool: &str) {
    let output = large_json(1 << 20);
    assert_eq!(output.len(), 1 << 20);
    let key = RecordKey { tool, key: "k" };
    assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    let done = Completion::Output(output.clone());
    s.complete(key, "a", &done, LONG_TTL)
        .await
        .expect("complete");
    let found = s.get(key).await.expect("record");
    assert!(
        found == Shape::done("a", &done),
        "1 MiB output differs after the round trip"
    );
    let replay = existing(s.claim(key, "b").await, "duplicate");
    assert!(replay == Shape::done("a", &done), "the replay differs");
}

/// `n` distinct keys claimed and completed by 8 concurrent workers; every one reads back with
/// its own output, and `list` has all of them.
pub async fn many_keys(store: &Arc<dyn Store>, time: &TestTime, tool: &str, n: usize) {
    const WORKERS: usize = 8;
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let store = Arc::clone(store);
            let time = time.clone();
            let tool = tool.to_owned();
            tokio::spawn(async move {
                let s = Subject {
                    store: &*store,
                    time: &time,
                };
                for i in (w..n).step_by(WORKERS) {
                    let key = format!("key-{i:05}");
                    let key = RecordKey {
                        tool: &tool,
                        key: &key,
                    };
                    let token = format!("t{i}");
                    assert_eq!(s.claim(key, &token).await, ClaimOutcome::Claimed);
                    let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
                    s.complete(key, &token, &done, LONG_TTL)
                        .await
                        .unwrap_or_else(|e| panic!("complete {key}: {e}"));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("worker");
    }
    let s = Subject {
        store: &**store,
        time,
    };
    for i in 0..n {
        let key = format!("key-{i:05}");
        let key = RecordKey { tool, key: &key };
        let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
        assert_eq!(s.get(key).await, Some(Shape::done(&format!("t{i}"), &done)));
    }
    let listed = s.list_tool(tool).await;
    assert_eq!(listed.len(), n, "list has every key");
    for (i, stored) in listed.iter().enumerate() {
        assert_eq!(stored.key, format!("key-{i:05}"));
        assert_eq!(
            stored.record.as_ref().expect("decodable").token,
            format!("t{i}")
        );
    }
}

/// `list` gives every record of the tool, expired ones included where the store keeps them;
/// `delete` removes one whatever its state and says whether it did; `purge(false)` removes the
/// expired finished records (not a claim whose lease ended, nor a live result).
pub async fn list_delete_purge(s: &Subject<'_>, tool: &str) {
    let time = s.time;
    let k = |key| RecordKey { tool, key };
    let output = Completion::Output(br#"{"v":1}"#.to_vec());
    let failed = Completion::Failed("no".into());
    let unknown = Completion::Unknown("cancelled".into());
    // key, completion (None: left in progress), whether it expires during the check.
    let plan: [(&str, Option<&Completion>, bool); 7] = [
        ("a-expired-output", Some(&output), true),
        ("b-expired-failed", Some(&failed), true),
        ("c-expired-marker", Some(&Completion::Marker), true),
        ("d-live-output", Some(&output), false),
        ("e-claim", None, false),
        ("f-deleted", Some(&output), false),
        ("g-expired-unknown", Some(&unknown), true),
    ];
    let mut expected = Vec::new();
    for (key, completion, expires) in plan {
        assert_eq!(s.claim(k(key), key).await, ClaimOutcome::Claimed);
        let ttl = if expires { time.ttl() } else { LONG_TTL };
        let record = match completion {
            Some(completion) => {
                s.complete(k(key), key, completion, ttl)
                    .await
                    .expect("complete");
                Shape::done(key, completion)
            }
            None => Shape::claimed(key),
        };
        expected.push((key.to_owned(), record));
    }
    let listed: Vec<(String, Shape)> = s
        .list_tool(tool)
        .await
        .into_iter()
        .map(|r| (r.key, Shape::of(&r.record.expect("decodable"))))
        .collect();
    assert_eq!(listed, expected, "list");

    assert!(s.store.delete(k("f-deleted")).await.expect("delete"));
    assert!(
        !s.store.delete(k("f-deleted")).await.expect("delete"),
        "twice"
    );
    assert!(!s.store.delete(k("never")).await.expect("delete"), "absent");
    assert_eq!(s.get(k("f-deleted")).await, None);
    // Deleting an in-progress record frees the key: its holder has lost the claim.
    assert_eq!(s.claim(k("h-claim"), "h").await, ClaimOutcome::Claimed);
    assert!(s.store.delete(k("h-claim")).await.expect("delete"));
    let result = s.complete(k("h-claim"), "h", &output, LONG_TTL).await;
    assert_claim_lost(result, "completion after delete");
    assert_claim_lost(s.renew(k("h-claim"), "h").await, "renewal after delete");

    time.pass(time.ttl().max(time.lease()) + time.margin())
        .await;
    // Those of this check's expired records the store still keeps (a store whose expired
    // records vanish by themselves, as Redis, keeps none); other checks' may expire too.
    let kept = s
        .list_tool(tool)
        .await
        .iter()
        .filter(|r| r.key.contains("expired"))
        .count() as u64;
    let purged = s.store.purge(false).await.expect("purge");
    assert!(purged >= kept, "purge count {purged}, below {kept}");
    let remaining: Vec<String> = s.list_tool(tool).await.into_iter().map(|r| r.key).collect();
    assert_eq!(remaining, ["d-live-output", "e-claim"]);
    assert_eq!(s.store.purge(false).await.expect("purge"), 0, "again");
    assert_eq!(s.get(k("e-claim")).await, Some(Shape::claimed("e-claim")));
}

/// Records that are not idem records give `Corrupt` on `get` and `claim` (never a panic), a
/// claim never overwrites them, `renew`, `complete` and `release` fail, `list` shows them as
/// errors, `purge` keeps them, and `delete` removes them.
pub async fn corrupt_records(s: &Subject<'_>, corruptor: &dyn Corruptor, tool: &str) {
    let garbage: [(&str, &[u8]); 8] = [
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
        (
            "unknown-in-v1",
            br#"{"idem_record":1,"state":"unknown","token":"t","fingerprint":"f","created_at":1,"expires_at":99999999999999,"reason":"r"}"#,
        ),
    ];
    for (name, bytes) in garbage {
        let key = RecordKey { tool, key: name };
        corruptor.write_raw(key, bytes).await;
        let corrupt = |result: &dyn std::fmt::Debug, what: &str, is: bool| {
            assert!(is, "{name}: {what}: expected Corrupt, got {result:?}");
        };
        let r = s.store.get(key).await;
        corrupt(&r, "get", matches!(r, Err(StoreError::Corrupt { .. })));
        let r = s.store.claim(key, &s.claim_by("a").claim()).await;
        corrupt(&r, "claim", matches!(r, Err(StoreError::Corrupt { .. })));
        let r = s
            .store
            .complete(key, &s.claim_by("t").claim(), &Completion::Marker, LONG_TTL)
            .await;
        corrupt(&r, "complete", matches!(r, Err(StoreError::Corrupt { .. })));
        let r = s.store.renew(key, &s.claim_by("t").claim()).await;
        assert!(r.is_err(), "{name}: renew: expected an error, got {r:?}");
        let r = s.store.release(key, &s.claim_by("t").claim()).await;
        assert!(r.is_err(), "{name}: release: expected an error, got {r:?}");
        let r = s.store.get(key).await;
        corrupt(
            &r,
            "get after",
            matches!(r, Err(StoreError::Corrupt { .. })),
        );
        if let Err(StoreError::Corrupt { key: address, .. }) = &r {
            assert!(address.contains(name), "{name}: the error names the key");
        }
    }
    let listed = s.list_tool(tool).await;
    assert_eq!(listed.len(), garbage.len(), "list shows corrupt records");
    assert!(listed.iter().all(|r| r.record.is_err()), "as errors");
    s.store
        .purge(false)
        .await
        .expect("purge with corrupt records");
    assert_eq!(s.list_tool(tool).await.len(), garbage.len(), "purge keeps");
    for (name, _) in garbage {
        let key = RecordKey { tool, key: name };
        assert!(s.store.delete(key).await.expect("delete"), "{name}: delete");
        assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    }
}

/// A record of a newer format version gives `UnsupportedFormat` on `get` and `claim` (never
/// `Corrupt`), and is not overwritten; records written raw in formats 1 and 2 (the documented
/// encodings) read back.
pub async fn other_format(s: &Subject<'_>, corruptor: &dyn Corruptor, tool: &str) {
    let newer = RECORD_FORMAT + 1;
    let key = RecordKey { tool, key: "newer" };
    let bytes = format!(
        r#"{{"idem_record":{newer},"state":"completed","token":"t","fingerprint":"f","created_at":1,"expires_at":99999999999999,"shiny":"new"}}"#
    );
    corruptor.write_raw(key, bytes.as_bytes()).await;
    let unsupported = |r: &dyn std::fmt::Debug, is: bool| assert!(is, "expected newer, got {r:?}");
    let r = s.store.get(key).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, supported, .. }) if found == newer && supported == RECORD_FORMAT),
    );
    let r = s.store.claim(key, &s.claim_by("a").claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    let r = s.store.get(key).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    assert!(s.store.delete(key).await.expect("delete"));

    let v1 = br#"{"idem_record":1,"state":"completed","token":"a","fingerprint":"fp-a","created_at":1,"expires_at":99999999999999,"output":{"z":[1,"x"]}}"#;
    let v2 = br#"{"idem_record":2,"state":"unknown","token":"a","fingerprint":"fp-a","created_at":1,"expires_at":99999999999999,"reason":"the tool panicked"}"#;
    let cases = [
        (
            "v1",
            &v1[..],
            Completion::Output(br#"{"z":[1,"x"]}"#.to_vec()),
        ),
        (
            "v2",
            &v2[..],
            Completion::Unknown("the tool panicked".into()),
        ),
    ];
    for (name, bytes, completion) in cases {
        let key = RecordKey { tool, key: name };
        corruptor.write_raw(key, bytes).await;
        let record = Shape::done("a", &completion);
        assert_eq!(s.get(key).await, Some(record.clone()), "{name}");
        assert_eq!(existing(s.claim(key, "b").await, name), record);
        let found = s.store.get(key).await.expect("get").expect("record");
        assert!(
            matches!(found.state, RecordState::Completed { expires_at, .. } | RecordState::Unknown { expires_at, .. } if expires_at == UnixMillis(99_999_999_999_999)),
            "{name}: {found:?}"
        );
    }
}

/// `purge(true)` removes every record, whatever its state, and counts them.
pub async fn purge_all(s: &Subject<'_>) {
    let before = s.store.list().await.expect("list").len() as u64;
    assert!(before > 0, "the store holds records to purge");
    assert_eq!(s.store.purge(true).await.expect("purge all"), before);
    assert!(s.store.list().await.expect("list").is_empty());
    assert_eq!(s.store.purge(true).await.expect("purge all"), 0);
}
