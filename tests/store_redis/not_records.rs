//! Values the store did not write: garbage and keys of other types (typed errors, never
//! overwritten), and records of another client in another field order (read and updated).

use idem::store::{ClaimOutcome, Completion, RECORD_FORMAT, RecordKey, Store, StoreError};

use super::{
    LEASE, T0, assert_completed_value, at, both_stores, claim_by, claimed_record, key, now_ms,
    path, store,
};
use crate::store_conformance::LONG_TTL as TTL;
use crate::support::resp::{Raw, Resp};

/// Every operation on a value that is not an idem record gives a typed error (`Corrupt` or
/// `UnsupportedFormat`), never a script error, a panic or an overwrite: garbage, values that
/// look like a claim up to a point, JSON a Lua decoder would choke on, another format version,
/// and keys of another Redis type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_are_not_records() {
    let redis = crate::support::redis_fixture!();
    let store = store(&redis).await;
    let mut raw = redis.raw();
    let claimed_prefix = br#"{"idem_record":1,"state":"in_progress","token":"a","fingerprint":"#;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("binary", b"\x00\xff\xfe\r\n".to_vec()),
        ("json-null", b"null".to_vec()),
        ("json-array", b"[1,2,3]".to_vec()),
        ("deep", deep.into_bytes()),
        ("claim-cut", claimed_prefix.to_vec()),
        (
            "claim-trailing",
            [
                &claimed_prefix[..],
                br#""f","created_at":1,"lease_until":2}junk"#,
            ]
            .concat(),
        ),
        (
            "claim-bad-utf8",
            [&claimed_prefix[..], b"\"f\xff\",\"created_at\":1,\"lease_until\":2}"].concat(),
        ),
        (
            "claim-u64-overflow",
            [
                &claimed_prefix[..],
                br#""f","created_at":99999999999999999999,"lease_until":2}"#,
            ]
            .concat(),
        ),
        (
            "claim-leading-zero",
            [&claimed_prefix[..], br#""f","created_at":01,"lease_until":2}"#].concat(),
        ),
        (
            "token-not-string",
            br#"{"idem_record":1,"state":"in_progress","token":7,"fingerprint":"f","created_at":1,"lease_until":2}"#.to_vec(),
        ),
    ];
    for (name, bytes) in &cases {
        let k = key("tool", name);
        raw.cmd(&[b"SET", &store.redis_key(k), bytes]);
        let corrupt = |r: &dyn std::fmt::Debug, is: bool, op: &str| {
            assert!(is, "{name}: {op}: expected Corrupt, got {r:?}")
        };
        let r = store.get(k).await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "get");
        let r = store
            .claim(k, &claim_by("b", at(T0, 86_400_000)).claim())
            .await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "claim");
        let r = store
            .complete(k, &claim_by("a", T0).claim(), &Completion::Marker, TTL)
            .await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "complete");
        let r = store.renew(k, &claim_by("a", T0).claim()).await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "renew");
        let r = store.release(k, &claim_by("a", T0).claim()).await;
        corrupt(&r, matches!(r, Err(StoreError::Corrupt { .. })), "release");
        assert_eq!(
            &raw.get(&store.redis_key(k)).unwrap(),
            bytes,
            "{name}: untouched"
        );
    }

    // A newer format version, its lease long over (no Redis expiry).
    let k = key("tool", "newer");
    let newer = RECORD_FORMAT + 1;
    let v_next = format!(
        r#"{{"idem_record":{newer},"state":"in_progress","token":"a","fingerprint":"f","created_at":1,"lease_until":2}}"#
    );
    raw.cmd(&[b"SET", &store.redis_key(k), v_next.as_bytes()]);
    let unsupported = |r: &dyn std::fmt::Debug, is: bool| assert!(is, "{newer}: {r:?}");
    let r = store.get(k).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, supported, .. }) if found == newer && supported == RECORD_FORMAT),
    );
    let r = store.claim(k, &claim_by("b", T0).claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    let r = store
        .complete(k, &claim_by("a", T0).claim(), &Completion::Marker, TTL)
        .await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    let r = store.renew(k, &claim_by("a", T0).claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    let r = store.release(k, &claim_by("a", T0).claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    assert_eq!(raw.get(&store.redis_key(k)).unwrap(), v_next.as_bytes());

    // Keys of other Redis types.
    let kinds: [(&str, &[&[u8]]); 3] = [
        ("hash", &[b"HSET", b"", b"field", b"value"]),
        ("list", &[b"RPUSH", b"", b"item"]),
        ("set", &[b"SADD", b"", b"member"]),
    ];
    for (name, command) in kinds {
        let k = key("typed", name);
        let address = store.redis_key(k);
        let mut args = command.to_vec();
        args[1] = &address;
        raw.cmd(&args);
        let wrong = |r: &dyn std::fmt::Debug, is: bool, op: &str| {
            assert!(is, "{name}: {op}: expected Corrupt, got {r:?}")
        };
        let r = store.get(k).await;
        wrong(
            &r,
            matches!(&r, Err(StoreError::Corrupt { reason, .. }) if reason.contains("WRONGTYPE")),
            "get",
        );
        let r = store.claim(k, &claim_by("b", T0).claim()).await;
        wrong(&r, matches!(r, Err(StoreError::Corrupt { .. })), "claim");
        let r = store
            .complete(k, &claim_by("a", T0).claim(), &Completion::Marker, TTL)
            .await;
        wrong(&r, matches!(r, Err(StoreError::Corrupt { .. })), "complete");
        let r = store.renew(k, &claim_by("a", T0).claim()).await;
        wrong(&r, matches!(r, Err(StoreError::Corrupt { .. })), "renew");
        let r = store.release(k, &claim_by("a", T0).claim()).await;
        wrong(&r, matches!(r, Err(StoreError::Corrupt { .. })), "release");
        let kind = raw.cmd(&[b"TYPE", &address]);
        assert_eq!(kind, Resp::Simple(name.into()), "{name}: not overwritten");
    }

    // list shows them all as errors, purge keeps them, delete removes them.
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), cases.len() + 1 + kinds.len());
    assert!(listed.iter().all(|r| r.record.is_err()), "{listed:?}");
    assert_eq!(store.purge(false).await.unwrap(), 0);
    for stored in &listed {
        assert!(store.delete(key(&stored.tool, &stored.key)).await.unwrap());
    }
    assert!(store.list().await.unwrap().is_empty());
}

/// A record written by another client, fields in another order: read, renewed, completed and
/// released by compare and set (the scripts only know `Record::encode`'s layout), and its lease
/// read from its Redis expiry as for idem's own: live above the grace, over at the grace or
/// below, and over at once without an expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_in_another_layout() {
    let redis = crate::support::redis_fixture!();
    let mut raw = redis.raw();
    for store in both_stores(&redis).await {
        let path = path(&store);
        let foreign = |token: &str| {
            format!(
                r#"{{ "lease_until": {}, "token": "{token}", "created_at": {}, "state": "in_progress", "fingerprint": "fp-{token}", "idem_record": 1 }}"#,
                T0.plus(LEASE).0,
                T0.0
            )
        };
        let grace = store.claim_grace().as_millis().to_string();
        let live = (LEASE + store.claim_grace()).as_millis().to_string();
        let plant = |raw: &mut Raw, k: RecordKey<'_>, token: &str, px: Option<&str>| {
            let address = store.redis_key(k);
            let value = foreign(token);
            let reply = match px {
                Some(px) => raw.cmd(&[b"SET", &address, value.as_bytes(), b"PX", px.as_bytes()]),
                None => raw.cmd(&[b"SET", &address, value.as_bytes()]),
            };
            assert_eq!(reply, Resp::Simple("OK".into()));
            value.into_bytes()
        };

        let k = key("tool", "complete");
        plant(&mut raw, k, "a", Some(&live));
        assert_eq!(store.get(k).await.unwrap(), Some(claimed_record("a", T0)));
        let ClaimOutcome::Existing(found) =
            store.claim(k, &claim_by("b", T0).claim()).await.unwrap()
        else {
            panic!("{path}: expected Existing")
        };
        assert_eq!(found, claimed_record("a", T0), "{path}");
        let r = store
            .complete(k, &claim_by("b", T0).claim(), &Completion::Marker, TTL)
            .await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );
        assert!(!store.release(k, &claim_by("b", T0).claim()).await.unwrap());
        let done = Completion::Output(b"[1]".to_vec());
        let before = now_ms();
        store
            .complete(k, &claim_by("a", T0).claim(), &done, TTL)
            .await
            .unwrap();
        let after = now_ms();
        let value = raw.get(&store.redis_key(k)).unwrap();
        let expected = assert_completed_value(&value, "a", T0, &done, TTL, (before, after));
        assert_eq!(store.get(k).await.unwrap(), Some(expected), "{path}");

        // Renewed in its own bytes: the time to live is lease + grace again.
        let k = key("tool", "renew");
        let value = plant(&mut raw, k, "a", Some("1000"));
        store.renew(k, &claim_by("a", T0).claim()).await.unwrap();
        let pttl = raw.int(&[b"PTTL", &store.redis_key(k)]);
        let claim_ttl = (LEASE + store.claim_grace()).as_millis() as i64;
        assert!(
            pttl > claim_ttl - 5_000 && pttl <= claim_ttl,
            "{path}: renewed: {pttl} ms"
        );
        assert_eq!(raw.get(&store.redis_key(k)).unwrap(), value, "{path}");
        let r = store.renew(k, &claim_by("b", T0).claim()).await;
        assert!(
            matches!(r, Err(StoreError::ClaimLost { .. })),
            "{path}: {r:?}"
        );

        let k = key("tool", "release");
        plant(&mut raw, k, "a", Some(&live));
        assert!(store.release(k, &claim_by("a", T0).claim()).await.unwrap());
        assert_eq!(store.get(k).await.unwrap(), None);

        // Whatever its `lease_until` says: a time to live of the grace is a lease that ended,
        // and no expiry is no lease.
        for (name, px) in [("ended", Some(grace.as_str())), ("no-expiry", None)] {
            let k = key("tool", name);
            plant(&mut raw, k, "a", px);
            assert_eq!(
                store.claim(k, &claim_by("b", T0).claim()).await.unwrap(),
                ClaimOutcome::TookOver {
                    previous_token: "a".into()
                },
                "{path}: {name}"
            );
            assert_eq!(
                raw.get(&store.redis_key(k)).unwrap(),
                claimed_record("b", T0).encode("x").unwrap(),
                "{path}: {name}"
            );
        }
    }
}
