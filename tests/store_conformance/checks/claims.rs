//! Claims: on an absent key, on addresses that naive encodings would mix up, and racing.

use std::sync::Arc;

use idem::store::{ClaimOutcome, Completion, RecordKey, Store};

use crate::store_conformance::{Shape, Subject, TestTime, existing, took_over};

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
