//! Completions: an output kept byte for byte (`null` and 1 MiB included), a marker, a failure, an
//! unknown outcome; by the claim's token alone, only of a claim, only with JSON.

use idem::store::{Claim, ClaimOutcome, Completion, RecordKey, StoreError, UnixMillis};

use crate::store_conformance::{
    LONG_TTL, Shape, StateShape, Subject, TRICKY_OUTPUT, assert_claim_lost, existing, large_json,
};

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
