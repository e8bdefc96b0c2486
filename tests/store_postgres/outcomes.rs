//! How outcomes are stored: a `null` output (the JSON `null`, not SQL NULL), and unknown outcomes
//! (format 2), which expire on the server's clock.

use std::time::Duration;

use idem::store::{
    ClaimOutcome, Completion, PostgresOptions, RecordKey, RecordState, Store, StoreError,
    UnixMillis,
};

use super::claim_by;
use super::rows::columns;
use crate::store_conformance::{LONG_TTL as TTL, Shape};

/// An output of `null` is an output: stored as the JSON `null` (not SQL NULL, which is a
/// marker's), and replayed as `Some(b"null")` by `get` and `claim`; a marker stays `None`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_output_round_trips() {
    let pg = crate::support::postgres_fixture!();
    let store = pg.store(PostgresOptions::new()).await;
    for (name, completion, column, output) in [
        (
            "null",
            Completion::Output(b"null".to_vec()),
            Some("null"),
            Some(b"null".to_vec()),
        ),
        (
            "spaced-null",
            Completion::Output(b" \n null \t".to_vec()),
            Some("null"),
            Some(b"null".to_vec()),
        ),
        ("marker", Completion::Marker, None, None),
    ] {
        let key = RecordKey {
            tool: "null",
            key: name,
        };
        store.claim(key, &claim_by("a").claim()).await.unwrap();
        store
            .complete(key, &claim_by("a").claim(), &completion, TTL)
            .await
            .unwrap();
        let (_, state, _, _, _, is_null, text, _) = columns(&store, key).await;
        assert_eq!(state, "completed", "{name}");
        assert_eq!(
            (is_null, text.as_deref()),
            (column.is_none(), column),
            "{name}"
        );
        let record = store.get(key).await.unwrap().expect("the record");
        assert!(
            matches!(&record.state, RecordState::Completed { output: o, .. } if *o == output),
            "{name}: {record:?}"
        );
        match store.claim(key, &claim_by("b").claim()).await.unwrap() {
            ClaimOutcome::Existing(replayed) => assert_eq!(replayed, record, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// An unknown outcome is a row of format 2, state `unknown`, its reason in `error`; it reads
/// back as `RecordState::Unknown`, is replayed to claimers, cannot be completed or renewed
/// again, and expires after its TTL on the server's clock: `get` no longer sees it, a claim
/// takes the key (a row of format 1 again), and `purge` removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_outcome_round_trips_and_expires() {
    let pg = crate::support::postgres_fixture!();
    let store = pg.store(PostgresOptions::new()).await;
    let ttl = Duration::from_millis(400);
    let reason = "the tool panicked: index out of bounds";
    let unknown = Completion::Unknown(reason.into());
    let keys = ["claimed-again", "purged"].map(|key| RecordKey {
        tool: "unknown",
        key,
    });
    for key in keys {
        store.claim(key, &claim_by("a").claim()).await.unwrap();
        store
            .complete(key, &claim_by("a").claim(), &unknown, ttl)
            .await
            .unwrap();
        let (format, state, _, lease_until, expires_at, output_is_null, _, error) =
            columns(&store, key).await;
        assert_eq!(
            (format, state.as_str(), lease_until, output_is_null),
            (2, "unknown", None, true)
        );
        assert_eq!(error.as_deref(), Some(reason), "the reason is in `error`");
        let record = store.get(key).await.unwrap().expect("the record");
        assert_eq!(
            record.state,
            RecordState::Unknown {
                reason: reason.into(),
                expires_at: UnixMillis(u64::try_from(expires_at.unwrap()).unwrap()),
            }
        );
        assert_eq!(Shape::of(&record), Shape::done("a", &unknown));
        match store.claim(key, &claim_by("b").claim()).await.unwrap() {
            ClaimOutcome::Existing(replayed) => assert_eq!(replayed, record),
            other => panic!("a live unknown outcome is replayed: {other:?}"),
        }
        let r = store
            .complete(key, &claim_by("a").claim(), &Completion::Marker, TTL)
            .await;
        assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
        let r = store.renew(key, &claim_by("a").claim()).await;
        assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
        assert_eq!(store.get(key).await.unwrap(), Some(record));
    }
    assert_eq!(store.purge(false).await.unwrap(), 0, "not expired yet");

    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    for key in keys {
        assert_eq!(store.get(key).await.unwrap(), None, "expired");
    }
    assert_eq!(
        store.claim(keys[0], &claim_by("c").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let (format, state, _, _, expires_at, _, _, error) = columns(&store, keys[0]).await;
    assert_eq!(
        (format, state.as_str(), expires_at, error),
        (1, "in_progress", None, None)
    );
    assert_eq!(store.purge(false).await.unwrap(), 1, "the expired one");
    let left: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(left, ["claimed-again"]);
}
