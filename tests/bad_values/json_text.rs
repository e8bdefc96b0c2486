//! Arguments given as JSON text: a member given twice is an error naming it, the values read are
//! serde_json's (the golden vectors' keys unchanged), and an omitted optional argument differs
//! from a `null` one without a type and agrees with it with one.

use idem::key::parse_json_arguments;
use idem::{Context, Idempotent, KeyError};
use serde::Deserialize;
use serde_json::Value;

use super::{json_key, text_key};

#[test]
fn a_member_given_twice_is_an_error_naming_it_and_its_path() {
    let cases = [
        (r#"{"a":1,"a":2}"#, "/a", "a"),
        (r#"{"a":1,"a":1}"#, "/a", "a"),
        (r#"{"a":1,"\u0061":2}"#, "/a", "a"),
        (
            r#"{"items":[{"id":1},{"id":2,"id":3}]}"#,
            "/items/1/id",
            "id",
        ),
        (r#"{"x/y":{"~":1,"~":2}}"#, "/x~1y/~0", "~"),
    ];
    for (text, pointer, name) in cases {
        let err = parse_json_arguments(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the arguments JSON has the member `{name}` twice in one object (at \
                 `{pointer}`); member names must be unique"
            ),
            "{text}"
        );
        assert!(
            matches!(&err, KeyError::DuplicateMember { pointer: p, name: n } if p == pointer && n == name),
            "{text}: {err:?}"
        );
        // serde_json alone keeps the last value: the reason for the check.
        assert!(serde_json::from_str::<Value>(text).is_ok());
    }
}

#[test]
fn parsed_arguments_are_the_values_serde_json_reads() {
    let text = r#"{"s":"x","n":-12,"u":18446744073709551615,"f":0.5,"b":[true,null],"o":{"k":{}}}"#;
    let parsed = parse_json_arguments(text).unwrap();
    assert_eq!(parsed, serde_json::from_str::<Value>(text).unwrap());
    assert_eq!(
        text_key(text).unwrap(),
        json_key(&serde_json::from_str(text).unwrap()).unwrap()
    );
    // Not an object, not JSON.
    assert!(matches!(
        parse_json_arguments("[1,2]"),
        Err(KeyError::ArgumentsNotObject { found: "an array" })
    ));
    let err = parse_json_arguments(r#"{"a":}"#).unwrap_err();
    assert!(matches!(err, KeyError::InvalidJson(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the arguments are not valid JSON: ")
    );
    assert!(matches!(
        parse_json_arguments(r#"{"a":1} x"#),
        Err(KeyError::InvalidJson(_))
    ));
}

/// Every golden case of key format v1 reads the same through `parse_json_arguments` as
/// through serde_json, so the keys of `tests/vectors/keys-v1.json` are unchanged on this path.
#[test]
fn the_golden_vectors_read_the_same_through_the_checked_parser() {
    #[derive(Deserialize)]
    struct Vectors<'a> {
        #[serde(borrow)]
        cases: Vec<Case<'a>>,
    }
    #[derive(Deserialize)]
    struct Case<'a> {
        name: String,
        #[serde(borrow)]
        args: &'a serde_json::value::RawValue,
    }
    let vectors: Vectors<'_> =
        serde_json::from_str(include_str!("../vectors/keys-v1.json")).expect("the vectors parse");
    assert!(vectors.cases.len() > 20);
    for case in vectors.cases {
        let text = case.args.get();
        let plain: Value = serde_json::from_str(text).unwrap();
        match parse_json_arguments(text) {
            Ok(checked) => assert_eq!(checked, plain, "{}", case.name),
            Err(KeyError::ArgumentsNotObject { .. }) => {
                assert!(!plain.is_object(), "{}", case.name)
            }
            Err(err) => panic!("{}: {err}", case.name),
        }
    }
}

#[derive(Idempotent, Deserialize)]
#[idem(tool = "t", strategy = "default")]
struct Note {
    text: String,
    note: Option<String>,
}

#[test]
fn omitted_and_null_differ_without_a_type_and_agree_with_one() {
    let omitted = r#"{"text":"hi"}"#;
    let null = r#"{"text":"hi","note":null}"#;
    // No type: two different argument objects, two keys.
    assert_ne!(text_key(omitted).unwrap(), text_key(null).unwrap());
    // A derived type: both are `note: None`, one key, the one of `null` without a type.
    let typed = |text: &str| {
        serde_json::from_str::<Note>(text)
            .unwrap()
            .idempotency_key(&Context::new())
            .unwrap()
    };
    assert_eq!(typed(omitted), typed(null));
    assert_eq!(typed(omitted), text_key(null).unwrap());
}
