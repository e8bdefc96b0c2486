//! Unit tests of the key layout, the TTLs and the scripts' replies.

use std::collections::HashSet;
use std::time::Duration;

use super::layout::*;
use super::scripts::*;
use super::*;

#[test]
fn keys_are_unambiguous() {
    let cases = [
        ("ab", "c"),
        ("a", "bc"),
        ("a:b", "c"),
        ("a", "b:c"),
        ("1:a", ""),
        ("", "1:a"),
        ("t\u{0}x", "k\n"),
        ("outil-é", "clé"),
        ("{tag}", "*?[x]"),
    ];
    let mut seen = HashSet::new();
    for prefix in ["idem", "idem:x", "a*b"] {
        for (tool, key) in cases {
            let mut address = prefix.as_bytes().to_vec();
            address.push(b':');
            address.extend_from_slice(format!("{}:{tool}:{key}", tool.len()).as_bytes());
            assert!(seen.insert(address.clone()));
            assert_eq!(parse_redis_key(prefix, &address), Some((tool, key)));
        }
    }
    // Nested prefixes: `idem`'s parser rejects the keys of `idem:x`.
    assert_eq!(parse_redis_key("idem", b"idem:x:1:t:k"), None);
    for bad in [
        &b""[..],
        b"idem",
        b"idem:",
        b"idem:x",
        b"idem:3:ab",
        b"idem:2:abc",
        b"idem:+1:a:b",
        b"idem::a:b",
        b"idem:01:a:b",
        b"idem:99999999999999999999999:a",
        b"idem:1:\xff:k",
        b"other:1:a:b",
    ] {
        assert_eq!(parse_redis_key("idem", bad), None, "{bad:?}");
    }
}

#[test]
fn prefixes() {
    for good in ["idem", "billing:idem", "idem-v2", "a*b?", "{idem}", "x:1a"] {
        assert_eq!(check_prefix(good), Ok(()), "{good}");
    }
    for bad in ["", ":", "a::b", "idem:", ":idem", "idem:2", "42", "a:007:b"] {
        assert!(check_prefix(bad).is_err(), "{bad}");
    }
    assert_eq!(scan_pattern("idem"), b"idem:[0-9]*");
    assert_eq!(scan_pattern(r"a*b?[c]\"), br"a\*b\?\[c\]\\:[0-9]*");
}

#[test]
fn ttls() {
    assert_eq!(px_ms(Duration::ZERO), 1);
    assert_eq!(px_ms(Duration::from_millis(1500)), 1500);
    assert_eq!(px_ms(Duration::MAX), MAX_PX);
    assert_eq!(grace_ms(Duration::ZERO), 0);
    assert_eq!(grace_ms(Duration::from_secs(600)), 600_000);
    assert_eq!(grace_ms(Duration::MAX), MAX_PX as i64);
}

#[test]
fn replies() {
    let int = Value::Int;
    let bulk = |b: &[u8]| Value::BulkString(b.to_vec());
    assert_eq!(
        Reply::parse(Value::Array(vec![int(1)])).unwrap(),
        Reply::Done
    );
    assert_eq!(
        Reply::parse(Value::Array(vec![int(0)])).unwrap(),
        Reply::Absent
    );
    assert_eq!(
        Reply::parse(Value::Array(vec![int(0), bulk(b"")])).unwrap(),
        Reply::Found {
            value: Vec::new(),
            pttl: None
        }
    );
    assert_eq!(
        Reply::parse(Value::Array(vec![int(0), bulk(b"v"), int(-1)])).unwrap(),
        Reply::Found {
            value: b"v".to_vec(),
            pttl: Some(-1)
        }
    );
    assert_eq!(
        Reply::parse(Value::Array(vec![int(2)])).unwrap(),
        Reply::Live
    );
    assert_eq!(
        Reply::parse(Value::Array(vec![int(-1), bulk(b"WRONGTYPE x")])).unwrap(),
        Reply::WrongType("WRONGTYPE x".into())
    );
    for odd in [
        Value::Nil,
        Value::Int(1),
        Value::Array(vec![int(7)]),
        Value::Array(vec![int(2), int(0)]),
        Value::Array(vec![int(0), bulk(b"v"), bulk(b"1")]),
        Value::Array(vec![int(0), bulk(b"v"), int(1), int(1)]),
    ] {
        assert!(matches!(
            Reply::parse(odd),
            Err(StoreError::Unavailable { store: "redis", .. })
        ));
    }
}

#[test]
fn the_prefix_of_a_key_is_found_whatever_it_is() {
    for prefix in ["idem", "idem:x", "a*b", "billing:v2:records"] {
        for (tool, key) in [("payment-v1", "k"), ("a:b", "7:c"), ("t", "")] {
            let address = format!("{prefix}:{}:{tool}:{key}", tool.len());
            assert_eq!(prefix_of(address.as_bytes()), Some(prefix), "{address}");
        }
    }
    // Not the layout: no digit segment, a length that does not match, no prefix at all.
    for other in [
        "session:abc",
        "idem:3:ab:k",
        "7:tool:k",
        "idem:3:abc",
        "cache:12",
    ] {
        assert_eq!(prefix_of(other.as_bytes()), None, "{other}");
    }
}
