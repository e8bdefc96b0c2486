//! What is stored, and for how long: null outputs and markers, unknown outcomes, and what
//! `purge(false)` removes on the server's clock.

use std::time::Duration;

use idem::store::{ClaimOutcome, Completion, RecordState, Store, StoreError, UnixMillis};

use super::{
    T0, assert_completed_value, both_stores, claim_by, claimed_record, key, now_ms, path, store,
};
use crate::store_conformance::{LONG_TTL as TTL, Shape, existing};
use crate::support::resp::{Raw, Resp};

/// A `null` output is stored as `"output":null` and comes back as the output `null`, from `get`
/// and from a duplicate claim; a marker has no `output` member and comes back as `None`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_output_round_trips() {
    let redis = crate::support::redis_fixture!();
    let mut raw = redis.raw();
    for store in both_stores(&redis).await {
        let path = path(&store);
        for (name, completion, output) in [
            (
                "null",
                Completion::Output(b"null".to_vec()),
                Some(b"null".to_vec()),
            ),
            ("marker", Completion::Marker, None),
        ] {
            let k = key("tool", name);
            store.claim(k, &claim_by("a", T0).claim()).await.unwrap();
            let before = now_ms();
            store
                .complete(k, &claim_by("a", T0).claim(), &completion, TTL)
                .await
                .unwrap();
            let after = now_ms();
            let value = raw.get(&store.redis_key(k)).unwrap();
            assert_completed_value(&value, "a", T0, &completion, TTL, (before, after));
            let text = String::from_utf8(value).unwrap();
            assert_eq!(
                text.contains(r#""output":null"#),
                output.is_some(),
                "{path}: {name}: {text}"
            );
            assert_eq!(
                text.contains(r#""output""#),
                output.is_some(),
                "{path}: {text}"
            );
            let found = store.get(k).await.unwrap().unwrap();
            assert!(
                matches!(&found.state, RecordState::Completed { output: o, .. } if *o == output),
                "{path}: {name}: {found:?}"
            );
            let replay = existing(
                store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
                name,
            );
            assert_eq!(replay, Shape::done("a", &completion), "{path}: {name}");
        }
    }
}

/// An unknown outcome is stored in format 2 (`"state":"unknown"` and its reason), replayed as a
/// finished record (neither released nor renewed by its token), and expires with its TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_round_trips_and_expires() {
    let redis = crate::support::redis_fixture!();
    let mut raw = redis.raw();
    for store in both_stores(&redis).await {
        let path = path(&store);
        let k = key("tool", "panicked");
        let address = store.redis_key(k);
        let unknown = Completion::Unknown("the tool panicked".into());
        let ttl = Duration::from_millis(400);
        store.claim(k, &claim_by("a", T0).claim()).await.unwrap();
        let before = now_ms();
        store
            .complete(k, &claim_by("a", T0).claim(), &unknown, ttl)
            .await
            .unwrap();
        let after = now_ms();
        let value = raw.get(&address).unwrap();
        let record = assert_completed_value(&value, "a", T0, &unknown, ttl, (before, after));
        assert!(
            matches!(&record.state, RecordState::Unknown { reason, .. } if reason == "the tool panicked")
        );
        let text = String::from_utf8(value).unwrap();
        for member in [
            r#""idem_record":2"#,
            r#""state":"unknown""#,
            r#""reason":"the tool panicked""#,
        ] {
            assert!(text.contains(member), "{path}: {member} in {text}");
        }
        let pttl = raw.int(&[b"PTTL", &address]);
        assert!(
            pttl > 0 && pttl <= 400,
            "{path}: a result lives its TTL: {pttl}"
        );

        assert_eq!(
            store.get(k).await.unwrap().as_ref().map(Shape::of),
            Some(Shape::done("a", &unknown))
        );
        let found = existing(
            store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
            path,
        );
        assert_eq!(found, Shape::done("a", &unknown), "{path}");
        assert!(!store.release(k, &claim_by("a", T0).claim()).await.unwrap());
        let r = store.renew(k, &claim_by("a", T0).claim()).await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );

        tokio::time::sleep(ttl + Duration::from_millis(200)).await;
        assert_eq!(raw.int(&[b"EXISTS", &address]), 0, "{path}: expired");
        assert_eq!(store.get(k).await.unwrap(), None, "{path}");
        assert_eq!(
            store.claim(k, &claim_by("c", T0).claim()).await.unwrap(),
            ClaimOutcome::Claimed,
            "{path}"
        );
    }
}

/// The server's time, as `TIME` answers it.
fn server_time(raw: &mut Raw) -> UnixMillis {
    let Resp::Array(parts) = raw.cmd(&[b"TIME"]) else {
        panic!("TIME")
    };
    let number = |part: &Resp| match part {
        Resp::Bulk(Some(digits)) => std::str::from_utf8(digits).unwrap().parse::<u64>().unwrap(),
        other => panic!("TIME: {other:?}"),
    };
    UnixMillis(number(&parts[0]) * 1000 + number(&parts[1]) / 1000)
}

/// `purge(false)` removes the finished records that Redis does not expire by itself (written by
/// another client without a TTL) once their `expires_at` has passed on the server's clock, and
/// keeps the others: live results, claims, and what idem wrote (Redis expires it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_uses_the_servers_time() {
    let redis = crate::support::redis_fixture!();
    let store = store(&redis).await;
    let mut raw = redis.raw();
    let now = server_time(&mut raw);
    let finished = |token: &str, expires_at: UnixMillis| {
        format!(
            r#"{{"idem_record":1,"state":"failed","token":"{token}","fingerprint":"fp-{token}","created_at":1,"expires_at":{},"error":"no"}}"#,
            expires_at.0
        )
    };
    let plants = [
        (
            "expired-a-minute-ago",
            finished("a", UnixMillis(now.0 - 60_000)),
        ),
        ("expired-just-now", finished("b", UnixMillis(now.0 - 1))),
        (
            "expires-in-a-minute",
            finished("c", now.plus(Duration::from_secs(60))),
        ),
        (
            "claim-long-ago",
            String::from_utf8(claimed_record("d", UnixMillis(1)).encode("x").unwrap()).unwrap(),
        ),
    ];
    for (name, value) in &plants {
        raw.cmd(&[
            b"SET",
            &store.redis_key(key("tool", name)),
            value.as_bytes(),
        ]);
    }
    let k = key("tool", "written-by-idem");
    store.claim(k, &claim_by("e", T0).claim()).await.unwrap();
    store
        .complete(k, &claim_by("e", T0).claim(), &Completion::Marker, TTL)
        .await
        .unwrap();

    assert_eq!(store.purge(false).await.unwrap(), 2);
    let mut left: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["claim-long-ago", "expires-in-a-minute", "written-by-idem"]
    );
    assert_eq!(store.purge(false).await.unwrap(), 0, "again");
}
