//! Rows the store cannot read: spoiled rows of format 1 (`Corrupt`), rows of a newer format
//! (`UnsupportedFormat`); none is ever overwritten or purged.

use idem::store::{ClaimOutcome, Completion, PostgresOptions, RecordKey, Store, StoreError};

use super::rows::{RawRow, count_rows, plant};
use super::{claim_by, is_corrupt};
use crate::store_conformance::LONG_TTL as TTL;

/// Rows of format 1 that lack what their state needs, or hold what no record holds: every
/// operation that meets one says so (`Corrupt`), none overwrites or removes it, even when it
/// looks expired; `delete` does, and the key is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_rows() {
    let pg = crate::support::postgres_fixture!();
    let store = pg.store(PostgresOptions::new()).await;
    let tool = "garbage";
    let long_ago = 1_000;
    let spoiled: Vec<(&str, RawRow)> = vec![
        (
            "no-state",
            RawRow {
                state: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "unknown-state",
            RawRow {
                state: Some("exploded".into()),
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "no-token",
            RawRow {
                token: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "no-fingerprint",
            RawRow {
                fingerprint: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "no-created-at",
            RawRow {
                created_at: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "negative-created-at",
            RawRow {
                created_at: Some(-1),
                ..RawRow::completed(long_ago)
            },
        ),
        ("negative-expiry", RawRow::completed(-5)),
        (
            "failed-without-error",
            RawRow {
                state: Some("failed".into()),
                output: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "claim-without-lease",
            RawRow {
                state: Some("in_progress".into()),
                output: None,
                expires_at: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "unknown-in-format-1",
            RawRow {
                state: Some("unknown".into()),
                output: None,
                error: Some("the tool panicked".into()),
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "unknown-without-reason",
            RawRow {
                format: 2,
                state: Some("unknown".into()),
                output: None,
                ..RawRow::completed(long_ago)
            },
        ),
        (
            "claim-with-negative-lease",
            RawRow {
                state: Some("in_progress".into()),
                lease_until: Some(-1),
                ..RawRow::completed(long_ago)
            },
        ),
    ];
    for (name, row) in &spoiled {
        let key = RecordKey { tool, key: name };
        plant(&store, key, row).await;
        let r = store.get(key).await;
        assert!(is_corrupt(&r), "{name}: get: {r:?}");
        let r = store.claim(key, &claim_by("a").claim()).await;
        assert!(is_corrupt(&r), "{name}: claim: {r:?}");
        // The row's own token ("t"), which a sloppy condition would accept.
        let r = store
            .complete(key, &claim_by("t").claim(), &Completion::Marker, TTL)
            .await;
        assert!(is_corrupt(&r), "{name}: complete: {r:?}");
        let r = store.renew(key, &claim_by("t").claim()).await;
        assert!(is_corrupt(&r), "{name}: renew: {r:?}");
        let r = store.release(key, &claim_by("t").claim()).await;
        assert!(is_corrupt(&r), "{name}: release: {r:?}");
        if let Err(StoreError::Corrupt { key: address, .. }) = store.get(key).await {
            assert!(address.contains(name), "{name}: the error names the key");
        }
    }
    let n = i64::try_from(spoiled.len()).unwrap();
    assert_eq!(
        count_rows(&store).await,
        n,
        "nothing overwritten or removed"
    );
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), spoiled.len());
    assert!(listed.iter().all(|r| r.record.is_err()), "{listed:?}");
    assert_eq!(store.purge(false).await.unwrap(), 0);
    assert_eq!(count_rows(&store).await, n, "purge keeps them");
    for (name, _) in &spoiled {
        let key = RecordKey { tool, key: name };
        assert!(store.delete(key).await.unwrap(), "{name}: delete");
        assert_eq!(
            store.claim(key, &claim_by("a").claim()).await.unwrap(),
            ClaimOutcome::Claimed
        );
    }
}

/// A row of a newer format version (3) is `UnsupportedFormat` everywhere, never overwritten
/// (even when its columns say it has expired) nor purged; a negative version is `Corrupt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_format_rows() {
    let pg = crate::support::postgres_fixture!();
    let store = pg.store(PostgresOptions::new()).await;
    let key = RecordKey {
        tool: "formats",
        key: "v3",
    };
    plant(
        &store,
        key,
        &RawRow {
            format: 3,
            ..RawRow::completed(1_000)
        },
    )
    .await;
    let unsupported = |r: &dyn std::fmt::Debug, ok: bool| assert!(ok, "expected v3, got {r:?}");
    let r = store.get(key).await;
    unsupported(
        &r,
        matches!(
            r,
            Err(StoreError::UnsupportedFormat {
                found: 3,
                supported: 2,
                ..
            })
        ),
    );
    let r = store.claim(key, &claim_by("a").claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 3, .. })),
    );
    let r = store
        .complete(key, &claim_by("t").claim(), &Completion::Marker, TTL)
        .await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 3, .. })),
    );
    let r = store.renew(key, &claim_by("t").claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found: 3, .. })),
    );
    assert!(store.release(key, &claim_by("t").claim()).await.is_err());
    assert_eq!(store.purge(false).await.unwrap(), 0);
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    let reason = listed[0].record.as_ref().unwrap_err();
    assert_eq!(
        *reason,
        idem::store::Unreadable::NewerFormat {
            found: 3,
            supported: idem::store::RECORD_FORMAT
        },
        "a newer record is listed as such, never as corrupt"
    );

    let negative = RecordKey {
        tool: "formats",
        key: "v-1",
    };
    plant(
        &store,
        negative,
        &RawRow {
            format: -1,
            ..RawRow::completed(1_000)
        },
    )
    .await;
    let r = store.get(negative).await;
    assert!(is_corrupt(&r), "{r:?}");
    assert_eq!(count_rows(&store).await, 2);
    assert!(store.delete(key).await.unwrap());
    assert!(store.delete(negative).await.unwrap());
}
