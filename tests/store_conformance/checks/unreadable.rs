//! Records the store did not write: values that are not records (`Corrupt`), and records of
//! other format versions (a newer one `UnsupportedFormat`, the documented ones read back).

use idem::store::{
    ClaimOutcome, Completion, RECORD_FORMAT, RecordKey, RecordState, StoreError, UnixMillis,
};

use crate::store_conformance::{Corruptor, LONG_TTL, Shape, Subject, existing};

/// Records that are not idem records give `Corrupt` on `get` and `claim` (never a panic), a
/// claim never overwrites them, `renew`, `complete` and `release` fail, `list` shows them as
/// errors, `purge` keeps them, and `delete` removes them.
pub async fn corrupt_records(s: &Subject<'_>, corruptor: &dyn Corruptor, tool: &str) {
    let garbage: [(&str, &[u8]); 8] = [
        ("binary", b"\xff\xfe\x00garbage"),
        ("empty", b""),
        ("not-a-record", br#"{"hello":"world"}"#),
        ("truncated", br#"{"idem_record":1,"state":"compl"#),
        (
            "unknown-state",
            br#"{"idem_record":1,"state":"exploded","token":"t","fingerprint":"f","created_at":1}"#,
        ),
        (
            "no-lease",
            br#"{"idem_record":1,"state":"in_progress","token":"t","fingerprint":"f","created_at":1}"#,
        ),
        (
            "no-expiry",
            br#"{"idem_record":1,"state":"completed","token":"t","fingerprint":"f","created_at":1}"#,
        ),
        (
            "unknown-in-v1",
            br#"{"idem_record":1,"state":"unknown","token":"t","fingerprint":"f","created_at":1,"expires_at":99999999999999,"reason":"r"}"#,
        ),
    ];
    for (name, bytes) in garbage {
        let key = RecordKey { tool, key: name };
        corruptor.write_raw(key, bytes).await;
        let corrupt = |result: &dyn std::fmt::Debug, what: &str, is: bool| {
            assert!(is, "{name}: {what}: expected Corrupt, got {result:?}");
        };
        let r = s.store.get(key).await;
        corrupt(&r, "get", matches!(r, Err(StoreError::Corrupt { .. })));
        let r = s.store.claim(key, &s.claim_by("a").claim()).await;
        corrupt(&r, "claim", matches!(r, Err(StoreError::Corrupt { .. })));
        let r = s
            .store
            .complete(key, &s.claim_by("t").claim(), &Completion::Marker, LONG_TTL)
            .await;
        corrupt(&r, "complete", matches!(r, Err(StoreError::Corrupt { .. })));
        let r = s.store.renew(key, &s.claim_by("t").claim()).await;
        assert!(r.is_err(), "{name}: renew: expected an error, got {r:?}");
        let r = s.store.release(key, &s.claim_by("t").claim()).await;
        assert!(r.is_err(), "{name}: release: expected an error, got {r:?}");
        let r = s.store.get(key).await;
        corrupt(
            &r,
            "get after",
            matches!(r, Err(StoreError::Corrupt { .. })),
        );
        if let Err(StoreError::Corrupt { key: address, .. }) = &r {
            assert!(address.contains(name), "{name}: the error names the key");
        }
    }
    let listed = s.list_tool(tool).await;
    assert_eq!(listed.len(), garbage.len(), "list shows corrupt records");
    assert!(listed.iter().all(|r| r.record.is_err()), "as errors");
    s.store
        .purge(false)
        .await
        .expect("purge with corrupt records");
    assert_eq!(s.list_tool(tool).await.len(), garbage.len(), "purge keeps");
    for (name, _) in garbage {
        let key = RecordKey { tool, key: name };
        assert!(s.store.delete(key).await.expect("delete"), "{name}: delete");
        assert_eq!(s.claim(key, "a").await, ClaimOutcome::Claimed);
    }
}

/// A record of a newer format version gives `UnsupportedFormat` on `get` and `claim` (never
/// `Corrupt`), and is not overwritten; records written raw in formats 1 and 2 (the documented
/// encodings) read back.
pub async fn other_format(s: &Subject<'_>, corruptor: &dyn Corruptor, tool: &str) {
    let newer = RECORD_FORMAT + 1;
    let key = RecordKey { tool, key: "newer" };
    let bytes = format!(
        r#"{{"idem_record":{newer},"state":"completed","token":"t","fingerprint":"f","created_at":1,"expires_at":99999999999999,"shiny":"new"}}"#
    );
    corruptor.write_raw(key, bytes.as_bytes()).await;
    let unsupported = |r: &dyn std::fmt::Debug, is: bool| assert!(is, "expected newer, got {r:?}");
    let r = s.store.get(key).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, supported, .. }) if found == newer && supported == RECORD_FORMAT),
    );
    let r = s.store.claim(key, &s.claim_by("a").claim()).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    let r = s.store.get(key).await;
    unsupported(
        &r,
        matches!(r, Err(StoreError::UnsupportedFormat { found, .. }) if found == newer),
    );
    assert!(s.store.delete(key).await.expect("delete"));

    let v1 = br#"{"idem_record":1,"state":"completed","token":"a","fingerprint":"fp-a","created_at":1,"expires_at":99999999999999,"output":{"z":[1,"x"]}}"#;
    let v2 = br#"{"idem_record":2,"state":"unknown","token":"a","fingerprint":"fp-a","created_at":1,"expires_at":99999999999999,"reason":"the tool panicked"}"#;
    let cases = [
        (
            "v1",
            &v1[..],
            Completion::Output(br#"{"z":[1,"x"]}"#.to_vec()),
        ),
        (
            "v2",
            &v2[..],
            Completion::Unknown("the tool panicked".into()),
        ),
    ];
    for (name, bytes, completion) in cases {
        let key = RecordKey { tool, key: name };
        corruptor.write_raw(key, bytes).await;
        let record = Shape::done("a", &completion);
        assert_eq!(s.get(key).await, Some(record.clone()), "{name}");
        assert_eq!(existing(s.claim(key, "b").await, name), record);
        let found = s.store.get(key).await.expect("get").expect("record");
        assert!(
            matches!(found.state, RecordState::Completed { expires_at, .. } | RecordState::Unknown { expires_at, .. } if expires_at == UnixMillis(99_999_999_999_999)),
            "{name}: {found:?}"
        );
    }
}
