//! Leases on the server's clock, whatever the claimers' clocks say, and renewals that keep a claim
//! alive.

use std::time::{Duration, Instant};

use idem::store::{ClaimOutcome, PostgresOptions, RecordKey, Store, StoreError, UnixMillis};

use super::rows::columns;
use super::{claim_by, host_now, shape};
use crate::store_conformance::{ClaimBy, Shape};

/// The claimer's clock is never read. A claim whose `now` is 5 minutes ahead does not take over
/// a live claim; a claim whose `now` is 5 minutes behind gets its whole lease, and is not taken
/// over early; both leases end on the server's clock. The row's times are the server's:
/// `created_at` is within seconds of this host's time (the server runs beside it), not 5
/// minutes off, and the lease ends exactly `lease` after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_clock_decides() {
    let pg = crate::support::postgres_fixture!();
    let store = pg.store(PostgresOptions::new()).await;
    let lease = Duration::from_millis(400);
    let five_minutes = 300_000;
    let skewed = |token: &str, offset: i64| ClaimBy {
        now: UnixMillis(host_now().0.checked_add_signed(offset).unwrap()),
        lease,
        ..claim_by(token)
    };
    for (name, holder, claimer) in [
        ("claimer-ahead", 0, five_minutes),
        ("holder-behind", -five_minutes, 0),
        ("holder-behind-claimer-ahead", -five_minutes, five_minutes),
        ("holder-ahead-claimer-behind", five_minutes, -five_minutes),
    ] {
        let key = RecordKey {
            tool: "clock",
            key: name,
        };
        let before = host_now();
        let outcome = store.claim(key, &skewed("a", holder).claim()).await;
        assert_eq!(outcome.unwrap(), ClaimOutcome::Claimed, "{name}");
        let (_, _, created_at, lease_until, ..) = columns(&store, key).await;
        let created_at = u64::try_from(created_at).unwrap();
        assert!(
            created_at.abs_diff(before.0) < 5_000,
            "{name}: created_at {created_at} is the server's time, near {before:?}"
        );
        assert_eq!(
            lease_until,
            Some(i64::try_from(created_at + 400).unwrap()),
            "{name}: the lease ends 400 ms after the claim, on the server's clock"
        );
        let r = store.claim(key, &skewed("b", claimer).claim()).await;
        match r.unwrap() {
            ClaimOutcome::Existing(record) => {
                assert_eq!(Shape::of(&record), Shape::claimed("a"), "{name}");
            }
            other => panic!("{name}: a live claim, whatever the claimer's clock: {other:?}"),
        }
        tokio::time::sleep(lease + Duration::from_millis(100)).await;
        let r = store.claim(key, &skewed("b", claimer).claim()).await;
        assert_eq!(
            r.unwrap(),
            ClaimOutcome::TookOver {
                previous_token: "a".into()
            },
            "{name}: the lease has ended on the server's clock"
        );
    }
}

/// A claim of a 300 ms lease renewed every 100 ms for a second stays `Existing` to another
/// claimer throughout, its lease end moving on; once the renewals stop, it is taken over after
/// its lease. Renewing by another token, or after the takeover, is `ClaimLost` and writes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_keeps_a_claim_alive() {
    let pg = crate::support::postgres_fixture!();
    let store = pg.store(PostgresOptions::new()).await;
    let key = RecordKey {
        tool: "renew",
        key: "k",
    };
    let lease = Duration::from_millis(300);
    let holder = ClaimBy {
        lease,
        ..claim_by("a")
    };
    let other = ClaimBy {
        lease,
        ..claim_by("b")
    };
    assert_eq!(
        store.claim(key, &holder.claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let (.., first_lease_end, _, _, _, _) = columns(&store, key).await;
    let first_lease_end = first_lease_end.unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.renew(key, &holder.claim()).await.expect("renew");
        match store.claim(key, &other.claim()).await.unwrap() {
            ClaimOutcome::Existing(record) => assert_eq!(Shape::of(&record), Shape::claimed("a")),
            other => panic!("after {:?}: {other:?}", started.elapsed()),
        }
    }
    let (_, state, _, lease_end, ..) = columns(&store, key).await;
    assert_eq!(state, "in_progress");
    assert!(
        lease_end.unwrap() >= first_lease_end + 900,
        "the lease end moved on: {first_lease_end} -> {lease_end:?}"
    );
    let r = store.renew(key, &other.claim()).await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
    assert_eq!(
        columns(&store, key).await.3,
        lease_end,
        "a renewal by another token writes nothing"
    );

    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert_eq!(
        store.claim(key, &other.claim()).await.unwrap(),
        ClaimOutcome::TookOver {
            previous_token: "a".into()
        }
    );
    let r = store.renew(key, &holder.claim()).await;
    assert!(matches!(r, Err(StoreError::ClaimLost { .. })), "{r:?}");
    assert_eq!(shape(&store, key).await, Some(Shape::claimed("b")));
}
