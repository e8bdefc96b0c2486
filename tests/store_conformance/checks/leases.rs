//! Leases on the store's clock: taken over when they end, never by the caller's clock, moved on by
//! a renewal; completions after a takeover refused, after a lease that nobody took over accepted.

use std::time::Duration;

use idem::store::{ClaimOutcome, Completion, RecordKey, UnixMillis};

use crate::store_conformance::{
    ClaimBy, LONG_TTL, Shape, Subject, assert_claim_lost, existing, took_over,
};

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
