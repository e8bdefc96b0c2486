//! Limits and addresses: records too large, odd tool ids and keys, prefixes that stay apart.

use idem::store::{
    ClaimOutcome, Completion, RecordState, RedisOptions, RedisStore, Store, StoreError,
};

use super::{T0, claim_by, claimed_record, key, reconnect, store};
use crate::store_conformance::{self, LONG_TTL as TTL, Shape};

/// Records above `max_record_bytes` are refused with `TooLarge` before anything is sent, and
/// the claim stays to be completed properly; the default limit is 16 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_too_large() {
    let redis = crate::support::redis_fixture!();
    let store = store(&redis).await;
    assert_eq!(
        store.max_record_bytes(),
        RedisOptions::DEFAULT_MAX_RECORD_BYTES
    );
    let small = reconnect(&redis, store.options().clone().with_max_record_bytes(1024)).await;
    assert_eq!(small.max_record_bytes(), 1024);
    let k = key("tool", "k");
    assert_eq!(
        small.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let big = Completion::Output(store_conformance::large_json(2048));
    let r = small
        .complete(k, &claim_by("a", T0).claim(), &big, TTL)
        .await;
    assert!(
        matches!(r, Err(StoreError::TooLarge { size, limit: 1024, .. }) if size > 2048),
        "{r:?}"
    );
    let failed = Completion::Failed("x".repeat(2048));
    let r = small
        .complete(k, &claim_by("a", T0).claim(), &failed, TTL)
        .await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(small.get(k).await.unwrap(), Some(claimed_record("a", T0)));
    let done = Completion::Output(b"{}".to_vec());
    small
        .complete(k, &claim_by("a", T0).claim(), &done, TTL)
        .await
        .unwrap();

    // A claim with a huge fingerprint, a huge tool id: refused, nothing written.
    let k = key("tool", "fingerprint");
    let claim = store_conformance::ClaimBy {
        fingerprint: "f".repeat(2048),
        ..claim_by("a", T0)
    };
    let r = small.claim(k, &claim.claim()).await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(small.get(k).await.unwrap(), None);
    let long_tool = "t".repeat(2048);
    let r = small
        .claim(key(&long_tool, "k"), &claim_by("a", T0).claim())
        .await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");

    // Above the default limit: refused at once, without sending 16 MiB.
    let k = key("tool", "default-limit");
    assert_eq!(
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let huge = Completion::Output(store_conformance::large_json(16 << 20));
    let r = store
        .complete(k, &claim_by("a", T0).claim(), &huge, TTL)
        .await;
    assert!(
        matches!(r, Err(StoreError::TooLarge { limit, .. }) if limit == 16 << 20),
        "{r:?}"
    );
    // Below it, 4 MiB round-trip.
    let four = store_conformance::large_json(4 << 20);
    store
        .complete(
            k,
            &claim_by("a", T0).claim(),
            &Completion::Output(four.clone()),
            TTL,
        )
        .await
        .unwrap();
    let found = store.get(k).await.unwrap().unwrap();
    assert!(
        matches!(found.state, RecordState::Completed { output: Some(ref o), .. } if *o == four)
    );
}

/// Tool ids and keys with NUL, newlines, unicode, glob and hash-tag characters, empty or very
/// long: each its own record, read back and listed exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_tool_ids_and_keys() {
    let redis = crate::support::redis_fixture!();
    let store = store(&redis).await;
    let long_tool = "tool-".repeat(20_000);
    let long_key = "k".repeat(100_000);
    let pairs: Vec<(String, String)> = vec![
        ("t\u{0}ol".into(), "k\u{0}".into()),
        ("tool\nwith\r\nnewlines".into(), "key\n".into()),
        (
            "outil-\u{e9}t\u{e9}-\u{1F600}".into(),
            "cl\u{e9}-\u{2615}".into(),
        ),
        ("*".into(), "?".into()),
        ("[a-z]".into(), "\\*".into()),
        ("{tag}".into(), "{tag}".into()),
        ("".into(), "".into()),
        ("".into(), "1:x".into()),
        ("1:x".into(), "".into()),
        ("12".into(), "k".into()),
        (long_tool.clone(), "k".into()),
        ("t".into(), long_key.clone()),
        (long_tool, long_key),
    ];
    for (i, (tool, k)) in pairs.iter().enumerate() {
        let token = format!("t{i}");
        let rk = key(tool, k);
        assert_eq!(
            store
                .claim(rk, &claim_by(&token, T0).claim())
                .await
                .unwrap(),
            ClaimOutcome::Claimed
        );
        let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
        store
            .complete(rk, &claim_by(&token, T0).claim(), &done, TTL)
            .await
            .unwrap();
    }
    for (i, (tool, k)) in pairs.iter().enumerate() {
        let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
        let found = store.get(key(tool, k)).await.unwrap().unwrap();
        assert_eq!(
            Shape::of(&found),
            Shape::done(&format!("t{i}"), &done),
            "{i}"
        );
        assert_eq!(found.created_at, T0, "{i}");
    }
    let mut listed: Vec<(String, String)> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            assert!(r.record.is_ok());
            (r.tool, r.key)
        })
        .collect();
    listed.sort();
    let mut expected = pairs.clone();
    expected.sort();
    assert_eq!(listed, expected);
    for (tool, k) in &pairs {
        assert!(store.delete(key(tool, k)).await.unwrap());
    }
    assert!(store.list().await.unwrap().is_empty());
}

/// Stores whose prefixes nest or contain glob characters see only their own keys; prefixes
/// that could share keys are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_stay_apart() {
    let redis = crate::support::redis_fixture!();
    let base = store(&redis).await;
    let p = base.prefix().to_owned();
    let mut stores: Vec<RedisStore> = Vec::new();
    for prefix in [
        p.clone(),
        format!("{p}:sub"),
        format!("{p}:sub:x1"),
        format!("{p}*"),
        format!("{p}?"),
        format!("{p}[x]"),
        format!("{p}\\"),
    ] {
        let options = base.options().clone().with_prefix(&prefix).unwrap();
        let store = reconnect(&redis, options).await;
        assert_eq!(store.prefix(), prefix);
        stores.push(store);
    }
    let k = key("tool", "k");
    for (i, store) in stores.iter().enumerate() {
        let token = format!("t{i}");
        assert_eq!(
            store.claim(k, &claim_by(&token, T0).claim()).await.unwrap(),
            ClaimOutcome::Claimed
        );
    }
    for (i, store) in stores.iter().enumerate() {
        let listed = store.list().await.unwrap();
        assert_eq!(listed.len(), 1, "{}: {listed:?}", store.prefix());
        assert_eq!(listed[0].record.as_ref().unwrap().token, format!("t{i}"));
        assert_eq!(
            store.get(k).await.unwrap(),
            Some(claimed_record(&format!("t{i}"), T0))
        );
    }
    for (i, store) in stores.iter().enumerate() {
        assert_eq!(store.purge(true).await.unwrap(), 1, "{}", store.prefix());
        for other in &stores[i + 1..] {
            assert_eq!(
                other.list().await.unwrap().len(),
                1,
                "{} after {}",
                other.prefix(),
                store.prefix()
            );
        }
    }
    for bad in ["", "a::b", "idem:2", "42", ":x", "x:"] {
        let refused = base.options().clone().with_prefix(bad).unwrap_err();
        assert_eq!(refused.prefix, bad);
        assert_eq!(RedisOptions::check_prefix(bad), Err(refused));
    }
    assert_eq!(base.list().await.unwrap(), []);
}
