//! Integers beyond 64 bits are refused with their path; those within keep their digits, and
//! doubles stay doubles.

use idem::KeyError;
use idem::canonical::{Canonical, SerdeCanonical};
use idem::key::{EncodeError, parse_json_arguments};
use serde_json::Value;

use super::json_key;

#[test]
fn integer_literals_beyond_64_bits_are_refused_with_their_path() {
    let long = format!("1{}", "0".repeat(400));
    let cases = [
        (
            r#"{"n":18446744073709551616}"#.to_owned(),
            "/n",
            "18446744073709551616",
        ),
        (
            r#"{"n":18446744073709551617}"#.to_owned(),
            "/n",
            "18446744073709551617",
        ),
        (
            r#"{"n":-9223372036854775809}"#.to_owned(),
            "/n",
            "-9223372036854775809",
        ),
        (
            r#"{"a":[1,{"b":[99999999999999999999]}]}"#.to_owned(),
            "/a/1/b/0",
            "99999999999999999999",
        ),
        // Too long even for a double: serde_json fails on it before the visitor sees it.
        (format!(r#"{{"x":1,"n":{long}}}"#), "/n", long.as_str()),
    ];
    for (text, pointer, literal) in &cases {
        let err = parse_json_arguments(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the arguments JSON has the integer {literal} at `{pointer}`, outside the 64-bit \
                 range (-2^63 to 2^64-1): it would be rounded to a double; send it as a string \
                 (\"{literal}\")"
            )
        );
        assert!(matches!(
            &err,
            KeyError::IntegerOutOfRange { pointer: p, literal: l } if p == pointer && l == literal
        ));
    }
    // serde_json alone gives 2^64 and 2^64+1 the same double: they would share a key.
    let a: Value = serde_json::from_str(r#"{"n":18446744073709551616}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{"n":18446744073709551617}"#).unwrap();
    assert_eq!(json_key(&a).unwrap(), json_key(&b).unwrap());
}

#[test]
fn integers_within_64_bits_keep_their_digits_and_doubles_stay_doubles() {
    let canonical = |text: &str| {
        let value = parse_json_arguments(text).unwrap();
        value
            .to_canonical_vec()
            .map(String::from_utf8)
            .unwrap()
            .unwrap()
    };
    // The ends of the range: exact digits (key format v1, section 5.4).
    assert_eq!(
        canonical(r#"{"max":18446744073709551615,"min":-9223372036854775808}"#),
        r#"{"max":18446744073709551615,"min":-9223372036854775808}"#
    );
    // Literals with a fraction or an exponent are doubles (RFC 8785), whatever their digits.
    assert_eq!(
        canonical(r#"{"a":0.10000000000000000001,"b":18446744073709551616.0,"c":1e20}"#),
        r#"{"a":0.1,"b":18446744073709552000,"c":100000000000000000000}"#
    );
    // Digits in strings and names are not numbers.
    assert_eq!(
        canonical(r#"{"99999999999999999999":"18446744073709551616"}"#),
        r#"{"99999999999999999999":"18446744073709551616"}"#
    );
    // A double too large for any double is a syntax error of serde_json.
    assert!(matches!(
        parse_json_arguments(r#"{"n":1e400}"#),
        Err(KeyError::InvalidJson(_))
    ));
}

#[test]
fn a_serde_integer_beyond_64_bits_is_a_typed_error() {
    let err = SerdeCanonical(&u128::MAX).to_canonical_vec().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the integer 340282366920938463463374607431768211455 is outside the 64-bit range \
         (-2^63 to 2^64-1) and would be rounded; send it as a string"
    );
    assert!(matches!(err, EncodeError::IntegerOutOfRange { .. }));
    // A derived u128 field keeps its exact digits, as it always did.
    assert_eq!(
        u128::MAX.to_canonical_vec().unwrap(),
        u128::MAX.to_string().as_bytes()
    );
}
