//! Nesting beyond `MAX_DEPTH` (128 levels) is a typed error on every path, never a stack
//! overflow: JSON values and text 100 000 levels deep, recursive derived types and enums, deep
//! serde fields.

use idem::canonical::{Canonical, MAX_DEPTH};
use idem::key::{EncodeError, JsonArgs, parse_json_arguments};
use idem::strategy::{DefaultStrategy, KeyInput, KeyStrategy};
use idem::{Context, IdempotencyKey, Idempotent, KeyError};
use serde::Serialize;
use serde_json::{Value, json};

use super::{fingerprint, json_key, text_key};

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
