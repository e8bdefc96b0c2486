//! How records end: expiry on the store's clock, release, and what `list`, `delete` and `purge`
//! see and remove, over many keys too.

use std::sync::Arc;

use idem::store::{ClaimOutcome, Completion, RecordKey, Store};

use crate::store_conformance::{LONG_TTL, Shape, Subject, TestTime, assert_claim_lost, existing};

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

/// `purge(true)` removes every record, whatever its state, and counts them.
pub async fn purge_all(s: &Subject<'_>) {
    let before = s.store.list().await.expect("list").len() as u64;
    assert!(before > 0, "the store holds records to purge");
    assert_eq!(s.store.purge(true).await.expect("purge all"), before);
    assert!(s.store.list().await.expect("list").is_empty());
    assert_eq!(s.store.purge(true).await.expect("purge all"), 0);
}
