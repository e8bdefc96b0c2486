//! Limits and odd values: records too large, tool ids and keys with NUL, newlines, quotes and
//! non-ASCII, addresses too long for the index, text PostgreSQL cannot hold.

use idem::store::{ClaimOutcome, Completion, PostgresOptions, RecordKey, Store, StoreError};

use super::{claim_by, is_corrupt, shape};
use crate::store_conformance::{LONG_TTL as TTL, Shape};

/// Values above the limit are `TooLarge` before anything is sent, and the claim stays; values at
/// the limit are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large() {
    assert_eq!(
        PostgresOptions::new().max_record_bytes(),
        64 << 20,
        "the default limit"
    );
    let pg = crate::support::postgres_fixture!();
    let limit = 4096;
    let store = pg
        .store(PostgresOptions::new().with_max_record_bytes(limit))
        .await;
    assert_eq!(store.max_record_bytes(), limit);
    assert_eq!(store.options().max_record_bytes(), limit);
    let key = RecordKey {
        tool: "sizes",
        key: "k",
    };
    assert_eq!(
        store.claim(key, &claim_by("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let json_of = |size: usize| {
        let mut out = b"\"".to_vec();
        out.resize(size - 1, b'x');
        out.push(b'"');
        out
    };
    let too_big = Completion::Output(json_of(limit + 1));
    let r = store
        .complete(key, &claim_by("a").claim(), &too_big, TTL)
        .await;
    assert!(
        matches!(r, Err(StoreError::TooLarge { size, limit: l, .. }) if size == limit + 1 && l == limit),
        "{r:?}"
    );
    let r = store
        .complete(
            key,
            &claim_by("a").claim(),
            &Completion::Failed("e".repeat(limit + 1)),
            TTL,
        )
        .await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(
        shape(&store, key).await,
        Some(Shape::claimed("a")),
        "the claim stays"
    );
    let fits = Completion::Output(json_of(limit));
    store
        .complete(key, &claim_by("a").claim(), &fits, TTL)
        .await
        .unwrap();
    assert_eq!(shape(&store, key).await, Some(Shape::done("a", &fits)));

    let mut huge_claim = claim_by("b");
    huge_claim.fingerprint = "f".repeat(limit);
    let other = RecordKey {
        tool: "sizes",
        key: "other",
    };
    let r = store.claim(other, &huge_claim.claim()).await;
    assert!(matches!(r, Err(StoreError::TooLarge { .. })), "{r:?}");
    assert_eq!(store.get(other).await.unwrap(), None);
}

/// Tool ids and keys with NUL, newlines, quotes, backslashes and non-ASCII round-trip exactly;
/// an address too long for the index is `TooLarge` on claim and simply absent elsewhere; text
/// PostgreSQL cannot hold (NUL in a token or an error) is a typed error, never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_tool_ids_and_keys() {
    let pg = crate::support::postgres_fixture!();
    let store = pg.store(PostgresOptions::new()).await;
    let pairs: Vec<(String, String)> = vec![
        ("nul\0tool".into(), "k".into()),
        ("tool".into(), "nul\0key".into()),
        ("\0".into(), "\0\0".into()),
        ("line\nbreak\r\n".into(), "tab\tkey".into()),
        ("quote'\"tool".into(), "back\\slash\\x00".into()),
        (
            "outil-\u{e9}t\u{e9}-\u{1F600}".into(),
            "\u{3042}\u{2615}".into(),
        ),
        ("%_*?".into(), "".into()),
        ("".into(), "empty tool".into()),
        ("x".repeat(1_000), "y".repeat(1_048)),
    ];
    for (i, (tool, key)) in pairs.iter().enumerate() {
        let key = RecordKey { tool, key };
        let token = format!("t{i}");
        assert_eq!(
            store.claim(key, &claim_by(&token).claim()).await.unwrap(),
            ClaimOutcome::Claimed,
            "{key:?}"
        );
        let done = Completion::Output(format!("{{\"i\":{i},\"s\":\"\\u0000\"}}").into_bytes());
        store
            .complete(key, &claim_by(&token).claim(), &done, TTL)
            .await
            .unwrap();
        assert_eq!(
            shape(&store, key).await,
            Some(Shape::done(&token, &done)),
            "{key:?}"
        );
    }
    let mut listed: Vec<(String, String)> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.tool, r.key))
        .collect();
    listed.sort();
    let mut expected = pairs.clone();
    expected.sort();
    assert_eq!(listed, expected, "list gives the exact tool ids and keys");

    // 10 kB of tool id: above what the primary key's index holds.
    let long_tool = "t".repeat(10_000);
    let long = RecordKey {
        tool: &long_tool,
        key: "k",
    };
    let r = store.claim(long, &claim_by("a").claim()).await;
    assert!(
        matches!(
            r,
            Err(StoreError::TooLarge {
                size: 10_001,
                limit: 2048,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(store.get(long).await.unwrap(), None);
    assert!(!store.release(long, &claim_by("a").claim()).await.unwrap());
    assert!(!store.delete(long).await.unwrap());
    let r = store
        .complete(long, &claim_by("a").claim(), &Completion::Marker, TTL)
        .await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");

    // NUL where PostgreSQL text cannot hold it.
    let key = RecordKey {
        tool: "nul",
        key: "k",
    };
    let r = store.claim(key, &claim_by("a\0b").claim()).await;
    assert!(is_corrupt(&r), "token: {r:?}");
    let mut claim = claim_by("a");
    claim.fingerprint = "f\0".into();
    let r = store.claim(key, &claim.claim()).await;
    assert!(is_corrupt(&r), "fingerprint: {r:?}");
    assert_eq!(store.get(key).await.unwrap(), None, "nothing written");
    assert_eq!(
        store.claim(key, &claim_by("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let r = store
        .complete(
            key,
            &claim_by("a").claim(),
            &Completion::Failed("bad\0error".into()),
            TTL,
        )
        .await;
    assert!(is_corrupt(&r), "error message: {r:?}");
    let r = store
        .complete(key, &claim_by("a\0").claim(), &Completion::Marker, TTL)
        .await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
    assert!(!store.release(key, &claim_by("a\0").claim()).await.unwrap());
    assert_eq!(
        shape(&store, key).await,
        Some(Shape::claimed("a")),
        "the claim is intact"
    );
}
