//! Target `canonical`: idem's canonical JSON against an independent RFC 8785 implementation.
//!
//! The input is JSON text; anything serde_json does not read is skipped. For a parsed
//! `serde_json::Value` the check compares [`Canonical::to_canonical_vec`] with
//! `serde_json_canonicalizer::to_vec`, byte for byte, on the domain where key format v1
//! (`docs/key-format.md`, section 5) promises RFC 8785's bytes:
//!
//! - **Integers beyond ±(2^53 − 1).** Section 5.4: idem writes their exact digits, RFC 8785 (and
//!   so `serde_json_canonicalizer`) the shortest form of the nearest double
//!   (`18446744073709551615` against `18446744073709552000`). The two differ there by contract.
//!   So, for the comparison, each such integer is replaced, in the value both sides write, by
//!   the double it rounds to, which both must write alike (idem through its double path). The
//!   integers themselves are checked apart: each one alone must be written as its decimal digits
//!   (`u64`/`i64` `Display`), and the canonical bytes of the unmapped value must read back as the
//!   same value (numbers compared exactly, integer against integer or double against double).
//! - **Everything else** is on the common domain: serde_json holds integers as `u64`/`i64` and
//!   every other number as a finite `f64` (the parser refuses `1e400`; with the `float_roundtrip`
//!   feature, which idem-core turns on, it rounds long decimals correctly), strings are Unicode
//!   scalar values (a lone surrogate escape is refused by the parser), and member names are
//!   unique (the parser keeps the last duplicate). Both writers get the very same `Value`, so
//!   parsing is not under test here, only writing.
//!
//! idem may refuse a value (an error, never a panic) only where RFC 8785 has no form either; no
//! parsed value is such, so an error from one side alone is a crash.
//!
//! Last, the bytes a hashing [`CanonicalWriter`] digests must be those a buffering one collects:
//! the SHA-256 key of the value is compared with the SHA-256 of its canonical bytes, which
//! covers the hashing writer's internal buffering of small writes.

use idem_core::canonical::Canonical;
use idem_core::key::{Algorithm, KeyHasher};
use serde_json::{Number, Value};
use sha2::{Digest, Sha256};

/// The largest integer magnitude RFC 8785 writes exactly: 2^53 − 1.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Checks one input: see the module documentation.
pub fn check(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        check_value(&value);
    }
}

/// Checks one parsed value.
pub fn check_value(value: &Value) {
    // 1. The common domain: byte for byte against RFC 8785.
    let common = to_common_domain(value);
    let ours = common.to_canonical_vec();
    let reference = serde_json_canonicalizer::to_vec(&common);
    match (&ours, &reference) {
        (Ok(ours), Ok(reference)) => assert!(
            ours == reference,
            "idem and RFC 8785 write {common} differently:\n idem:     {}\n RFC 8785: {}",
            String::from_utf8_lossy(ours),
            String::from_utf8_lossy(reference),
        ),
        (Err(_), Err(_)) => {}
        (ours, reference) => panic!(
            "only one side refuses {common}: idem {:?}, RFC 8785 {:?}",
            ours.as_ref().map(|b| String::from_utf8_lossy(b)),
            reference.as_ref().map(|b| String::from_utf8_lossy(b)),
        ),
    }

    // 2. The large-integer extension, on the value as it was parsed.
    let Ok(bytes) = value.to_canonical_vec() else {
        panic!("idem refuses {value}, which RFC 8785 writes once its large integers are doubles");
    };
    each_large_integer(value, &mut |n| {
        let written = Value::Number(n.clone())
            .to_canonical_vec()
            .expect("an integer always has a canonical form");
        assert_eq!(
            String::from_utf8_lossy(&written),
            n.to_string(),
            "section 5.4: an integer beyond 2^53 - 1 is written as its exact digits",
        );
    });
    let read_back: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "idem's canonical bytes are not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert!(
        same_json(value, &read_back),
        "idem's canonical bytes of {value} read back as another value: {read_back}",
    );

    // 3. A hashing writer digests exactly the bytes a buffering one collects.
    let mut hasher = KeyHasher::new(Algorithm::Sha256);
    value
        .write_canonical(hasher.writer())
        .expect("the buffering writer accepted the same value");
    assert_eq!(
        hasher.finish().as_str(),
        hex::encode(Sha256::digest(&bytes)),
        "the hashing writer digested other bytes than {}",
        String::from_utf8_lossy(&bytes),
    );
}

/// Whether an integer is beyond ±(2^53 − 1), where key format v1 and RFC 8785 part ways.
fn is_large_integer(n: &Number) -> bool {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u > MAX_SAFE_INTEGER,
        (None, Some(i)) => i.unsigned_abs() > MAX_SAFE_INTEGER,
        (None, None) => false,
    }
}

/// `value` with every large integer replaced by the double it rounds to.
fn to_common_domain(value: &Value) -> Value {
    match value {
        Value::Number(n) if is_large_integer(n) => {
            let double = n.as_f64().expect("an integer converts to a double");
            Value::Number(Number::from_f64(double).expect("a converted integer is finite"))
        }
        Value::Array(items) => Value::Array(items.iter().map(to_common_domain).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(name, member)| (name.clone(), to_common_domain(member)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Calls `f` on every large integer in `value`.
fn each_large_integer(value: &Value, f: &mut impl FnMut(&Number)) {
    match value {
        Value::Number(n) if is_large_integer(n) => f(n),
        Value::Array(items) => items.iter().for_each(|item| each_large_integer(item, f)),
        Value::Object(members) => members.values().for_each(|m| each_large_integer(m, f)),
        _ => {}
    }
}

/// Whether two values are the same JSON value. Numbers are compared exactly: two integers by
/// value, otherwise as doubles (canonical bytes write `100.0` as `100` and `-0.0` as `0`,
/// which read back as integers).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => match (as_integer(a), as_integer(b)) {
            (Some(a), Some(b)) => a == b,
            _ => a.as_f64() == b.as_f64(),
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(name, value)| b.get(name).is_some_and(|other| same_json(value, other)))
        }
        (a, b) => a == b,
    }
}

/// The value of an integer number; `None` for a double.
fn as_integer(n: &Number) -> Option<i128> {
    n.as_u64()
        .map(i128::from)
        .or_else(|| n.as_i64().map(i128::from))
}
