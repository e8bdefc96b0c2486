//! Argument values that have no exact key are typed errors, never a key shared with another
//! call: nesting beyond `MAX_DEPTH`, NaN and infinities, member names given twice or produced
//! twice by a map, integers beyond 64 bits. Every path is checked: derived types, fields marked
//! `#[idem(serde)]`, `serde_json::Value` / `JsonArgs`, and JSON text (`parse_json_arguments`).

use std::collections::{BTreeMap, HashMap};

use idem::canonical::{Canonical, MAX_DEPTH, SerdeCanonical};
use idem::key::{EncodeError, JsonArgs, parse_json_arguments};
use idem::strategy::{DefaultStrategy, KeyInput, KeyStrategy};
use idem::{Context, IdempotencyKey, Idempotent, KeyError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The key of JSON arguments under the default strategy, with no context.
fn json_key(args: &Value) -> Result<IdempotencyKey, KeyError> {
    let args = JsonArgs::new(args)?;
    DefaultStrategy::new().key(&KeyInput::new("t", &args, &Context::new()))
}

/// The fingerprint the executor stores with a call (the canonical arguments object).
fn fingerprint(input: &impl idem::executor::ToolInput) -> Result<String, KeyError> {
    idem::executor::ToolInput::fingerprint(input)
}

/// The key of JSON arguments given as text.
fn text_key(text: &str) -> Result<IdempotencyKey, KeyError> {
    json_key(&parse_json_arguments(text)?)
}

/// Runs `f` on a thread with a 2 MiB stack: a recursion without bound would overflow it and
/// abort the test binary.
fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn_scoped(scope, f)
            .expect("a thread starts")
            .join()
            .expect("the thread does not panic")
    })
}

/// `[[...[0]...]]` with `levels` arrays, built without recursion.
fn nested_arrays(levels: usize) -> Value {
    let mut value = json!(0);
    for _ in 0..levels {
        value = Value::Array(vec![value]);
    }
    value
}

/// Drops a deeply nested value without recursion (the drop glue of `Value` recurses).
fn drop_flat(mut value: Value) {
    loop {
        value = match value {
            Value::Array(mut items) => match items.pop() {
                Some(inner) => inner,
                None => return,
            },
            Value::Object(members) => match members.into_iter().next() {
                Some((_, inner)) => inner,
                None => return,
            },
            _ => return,
        };
    }
}

fn too_deep_message(field: &str) -> String {
    format!(
        "argument `{field}` cannot be encoded: the value nests arrays and objects more than 128 \
         levels deep"
    )
}

fn assert_too_deep(result: Result<IdempotencyKey, KeyError>, field: &str) {
    match result {
        Err(err @ KeyError::Encode { .. }) => {
            assert_eq!(err.to_string(), too_deep_message(field));
            assert!(matches!(
                &err,
                KeyError::Encode { field: f, source: EncodeError::TooDeep { limit: 128 } } if f == field
            ));
        }
        other => panic!("expected a TooDeep error for `{field}`, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Depth
// ---------------------------------------------------------------------------------------------

#[test]
fn the_limit_is_128_levels_inside_an_argument() {
    assert_eq!(MAX_DEPTH, 128);
    let mut args = serde_json::Map::new();
    args.insert("a".into(), nested_arrays(128));
    let args = Value::Object(args);
    let canonical = JsonArgs::new(&args)
        .and_then(|a| {
            DefaultStrategy::new()
                .canonical_bytes(&KeyInput::new("t", &a, &Context::new()))
                .unwrap()
        })
        .expect("128 levels are accepted");
    let expected = format!(
        r#"{{"args":{{"a":{}0{}}},"session":null,"tool":"t","user":null,"v":1}}"#,
        "[".repeat(128),
        "]".repeat(128)
    );
    assert_eq!(String::from_utf8_lossy(&canonical), expected);
    // The fingerprint (the arguments object alone) counts levels the same way.
    assert!(fingerprint(&args).is_ok());

    let mut args = serde_json::Map::new();
    args.insert("a".into(), nested_arrays(129));
    let args = Value::Object(args);
    assert_too_deep(json_key(&args), "a");
    assert!(matches!(
        fingerprint(&args),
        Err(KeyError::Encode {
            source: EncodeError::TooDeep { limit: 128 },
            ..
        })
    ));
}

#[test]
fn a_value_100_000_levels_deep_is_an_error_not_a_crash() {
    let mut args = serde_json::Map::new();
    args.insert("deep".into(), nested_arrays(100_000));
    let args = Value::Object(args);
    on_small_stack(|| {
        assert_too_deep(json_key(&args), "deep");
        assert!(matches!(
            fingerprint(&args),
            Err(KeyError::Encode {
                source: EncodeError::TooDeep { limit: 128 },
                ..
            })
        ));
        assert!(matches!(
            args.to_canonical_vec(),
            Err(EncodeError::TooDeep { limit: 128 })
        ));
    });
    drop_flat(args);
}

#[test]
fn json_text_100_000_levels_deep_is_an_error_not_a_crash() {
    let text = format!(
        r#"{{"deep":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    on_small_stack(|| assert_too_deep(text_key(&text), "deep"));
    // As a whole document that is not an object: serde_json's own limit stops it.
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = on_small_stack(|| parse_json_arguments(&text).unwrap_err());
    assert!(matches!(err, KeyError::InvalidJson(_)), "{err:?}");
    // The limit is exact: 128 levels inside an argument, as for a Value.
    let text = format!(r#"{{"a":{}{}}}"#, "[".repeat(128), "]".repeat(128));
    assert!(text_key(&text).is_ok());
    let text = format!(r#"{{"a":{{"b":{}{}}}}}"#, "[".repeat(128), "]".repeat(128));
    assert_too_deep(text_key(&text), "a");
}

#[derive(idem::Canonical)]
struct Node {
    label: u8,
    next: Option<Box<Node>>,
}

#[derive(Idempotent)]
#[idem(tool = "list-v1")]
struct List {
    head: Node,
}

/// A linked list of `len` nodes, built without recursion.
fn list(len: usize) -> List {
    let mut head = Node {
        label: 0,
        next: None,
    };
    for _ in 1..len {
        head = Node {
            label: 1,
            next: Some(Box::new(head)),
        };
    }
    List { head }
}

/// Drops a list without recursion.
fn drop_list(list: List) {
    let mut next = list.head.next;
    while let Some(mut node) = next {
        next = node.next.take();
    }
}

#[test]
fn a_recursive_derived_type_100_000_deep_is_an_error_not_a_crash() {
    let long = list(100_000);
    on_small_stack(|| {
        assert_too_deep(long.idempotency_key(&Context::new()), "head");
        assert!(fingerprint(&long).is_err());
    });
    drop_list(long);

    // Each node is one object: 128 nodes are 128 levels, 129 are too many.
    let ok = list(128);
    assert!(ok.idempotency_key(&Context::new()).is_ok());
    assert!(fingerprint(&ok).is_ok());
    drop_list(ok);
    let deep = list(129);
    assert_too_deep(deep.idempotency_key(&Context::new()), "head");
    drop_list(deep);
}

#[derive(idem::Canonical)]
enum Expr {
    Leaf(u8),
    Neg(Box<Expr>),
}

#[derive(Idempotent)]
#[idem(tool = "calc-v1")]
struct Calc {
    expr: Expr,
}

#[test]
fn a_recursive_derived_enum_is_stopped_too() {
    let mut expr = Expr::Leaf(1);
    for _ in 0..100_000 {
        expr = Expr::Neg(Box::new(expr));
    }
    let calc = Calc { expr };
    on_small_stack(|| assert_too_deep(calc.idempotency_key(&Context::new()), "expr"));
    let mut expr = calc.expr;
    while let Expr::Neg(inner) = expr {
        expr = *inner;
    }
}

#[derive(Serialize)]
struct SerdeNode {
    next: Option<Box<SerdeNode>>,
}

#[derive(Idempotent)]
#[idem(tool = "serde-list-v1")]
struct SerdeList {
    #[idem(serde)]
    head: SerdeNode,
}

fn serde_list(len: usize) -> SerdeList {
    let mut head = SerdeNode { next: None };
    for _ in 1..len {
        head = SerdeNode {
            next: Some(Box::new(head)),
        };
    }
    SerdeList { head }
}

fn drop_serde_list(list: SerdeList) {
    let mut next = list.head.next;
    while let Some(mut node) = next {
        next = node.next.take();
    }
}

#[test]
fn a_deep_serde_field_is_an_error_before_serde_recurses_too_far() {
    let long = serde_list(100_000);
    on_small_stack(|| assert_too_deep(long.idempotency_key(&Context::new()), "head"));
    drop_serde_list(long);
    let ok = serde_list(128);
    assert!(ok.idempotency_key(&Context::new()).is_ok());
    drop_serde_list(ok);
    let deep = serde_list(129);
    assert_too_deep(deep.idempotency_key(&Context::new()), "head");
    drop_serde_list(deep);
}

// ---------------------------------------------------------------------------------------------
// 2. NaN and infinities
// ---------------------------------------------------------------------------------------------

#[derive(Idempotent)]
#[idem(tool = "stats-v1")]
struct Samples {
    #[idem(serde)]
    values: Vec<f64>,
}

#[derive(Idempotent)]
#[idem(tool = "stats-v1")]
struct Sample {
    value: f64,
}

#[test]
fn non_finite_numbers_through_serde_are_errors_like_a_derived_f64() {
    for (number, text) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let serde = Samples {
            values: vec![1.0, number],
        };
        let err = serde.idempotency_key(&Context::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "argument `values` cannot be encoded: the number {text} is not finite; NaN and \
                 infinities cannot be part of a key"
            )
        );
        assert!(matches!(
            err,
            KeyError::Encode { ref field, source: EncodeError::NonFiniteNumber(n) }
                if field == "values" && n.to_bits() == number.to_bits()
        ));

        // The derived `f64` field gives the same kind of error.
        let derived = Sample { value: number }
            .idempotency_key(&Context::new())
            .unwrap_err();
        assert!(matches!(
            derived,
            KeyError::Encode {
                source: EncodeError::NonFiniteNumber(_),
                ..
            }
        ));
    }
    // `f32` too, and a float map key.
    assert!(matches!(
        SerdeCanonical(&[f32::INFINITY]).to_canonical_vec(),
        Err(EncodeError::NonFiniteNumber(n)) if n == f64::INFINITY
    ));
    let mut by_float = BTreeMap::new();
    by_float.insert(FloatKey(f64::NAN), 1);
    assert!(matches!(
        SerdeCanonical(&by_float).to_canonical_vec(),
        Err(EncodeError::NonFiniteNumber(n)) if n.is_nan()
    ));
    // A finite one keeps serde_json's form: `null` was the only loss.
    let finite = Samples {
        values: vec![1.5, -0.0, 1e21],
    };
    assert!(finite.idempotency_key(&Context::new()).is_ok());
    assert_eq!(
        SerdeCanonical(&finite.values).to_canonical_vec().unwrap(),
        b"[1.5,0,1e+21]"
    );
}

/// An `f64` that can be a map key (serde_json writes a float key as the float's text), ordered
/// by `total_cmp`.
#[derive(Serialize)]
struct FloatKey(f64);
impl PartialEq for FloatKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for FloatKey {}
impl PartialOrd for FloatKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for FloatKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Member names given twice in JSON text
// ---------------------------------------------------------------------------------------------

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
        serde_json::from_str(include_str!("vectors/keys-v1.json")).expect("the vectors parse");
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

// ---------------------------------------------------------------------------------------------
// 4. Map keys that serialize to the same member name
// ---------------------------------------------------------------------------------------------

/// A key type whose values `1u8` and `"1"` both serialize as the member name `1`.
#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(untagged)]
enum LooseKey {
    Number(u8),
    Text(&'static str),
}

/// Two variants renamed to the same string.
#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Region {
    #[serde(rename = "eu")]
    Europe,
    #[serde(rename = "eu")]
    EuropeanUnion,
}

#[derive(Idempotent)]
#[idem(tool = "maps-v1")]
struct Maps {
    #[idem(serde)]
    loose: BTreeMap<LooseKey, u32>,
    #[idem(serde)]
    regions: HashMap<Region, u32>,
}

#[test]
fn map_keys_that_collide_are_an_error_not_a_lost_member() {
    let collision = "argument `loose` cannot be encoded: the object has the member `1` twice";
    let maps = Maps {
        loose: BTreeMap::from([(LooseKey::Number(1), 10), (LooseKey::Text("1"), 20)]),
        regions: HashMap::new(),
    };
    let err = maps.idempotency_key(&Context::new()).unwrap_err();
    assert_eq!(err.to_string(), collision);
    assert!(matches!(
        err,
        KeyError::Encode { ref field, source: EncodeError::DuplicateMember { ref name } }
            if field == "loose" && name == "1"
    ));

    let maps = Maps {
        loose: BTreeMap::new(),
        regions: HashMap::from([(Region::Europe, 1), (Region::EuropeanUnion, 2)]),
    };
    let err = maps.idempotency_key(&Context::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "argument `regions` cannot be encoded: the object has the member `eu` twice"
    );

    // Keys that do not collide give serde_json's object.
    let maps = Maps {
        loose: BTreeMap::from([(LooseKey::Number(1), 10), (LooseKey::Text("2"), 20)]),
        regions: HashMap::from([(Region::Europe, 1)]),
    };
    assert!(maps.idempotency_key(&Context::new()).is_ok());
    assert_eq!(
        SerdeCanonical(&maps.loose).to_canonical_vec().unwrap(),
        br#"{"1":10,"2":20}"#
    );
}

/// The serializer of `#[idem(serde)]` builds the same value as `serde_json::to_value` for
/// everything that has an exact form: keys of serde fields are unchanged.
#[test]
fn serde_fields_keep_the_bytes_of_serde_json() {
    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i8, char),
        Struct { w: f32, h: Option<u16> },
    }
    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct Everything {
        shapes: Vec<Shape>,
        unit: Unit,
        tuple: (bool, (), &'static str),
        bytes: serde_bytes_like::Bytes,
        int_keys: BTreeMap<i64, &'static str>,
        bool_keys: BTreeMap<bool, u8>,
        float_keys: BTreeMap<FloatKey, u8>,
        variant_keys: BTreeMap<Region, u8>,
        big: (u128, i128, u64, i64),
        raw: Box<serde_json::value::RawValue>,
        value: Value,
    }
    let everything = Everything {
        shapes: vec![
            Shape::Unit,
            Shape::Newtype(7),
            Shape::Tuple(-1, 'é'),
            Shape::Struct { w: 0.1, h: None },
        ],
        unit: Unit,
        tuple: (true, (), "tab\t"),
        bytes: serde_bytes_like::Bytes(vec![0, 255]),
        int_keys: BTreeMap::from([(-5, "a"), (10, "b"), (9, "c")]),
        bool_keys: BTreeMap::from([(true, 1), (false, 0)]),
        float_keys: BTreeMap::from([(FloatKey(1.0), 1), (FloatKey(1e21), 2), (FloatKey(-0.5), 3)]),
        variant_keys: BTreeMap::from([(Region::Europe, 1)]),
        big: (
            u128::from(u64::MAX),
            i128::from(i64::MIN),
            u64::MAX,
            i64::MIN,
        ),
        raw: serde_json::value::RawValue::from_string(r#"{"z": [1, 2.50], "a": null}"#.into())
            .unwrap(),
        value: json!({"k": [1, "x", {"n": 9007199254740993_u64}]}),
    };
    let ours = SerdeCanonical(&everything).to_canonical_vec().unwrap();
    let theirs = serde_json::to_value(&everything)
        .unwrap()
        .to_canonical_vec()
        .unwrap();
    assert_eq!(
        String::from_utf8(ours).unwrap(),
        String::from_utf8(theirs).unwrap()
    );
}

/// `serialize_bytes`, without a dependency on serde_bytes.
mod serde_bytes_like {
    pub struct Bytes(pub Vec<u8>);
    impl serde::Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Integers beyond 64 bits
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 6. Omitted and null optional arguments
// ---------------------------------------------------------------------------------------------

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
