//! Property: for the same arguments, a derived struct and its `serde_json::to_value` give the
//! same key, whatever the values (unicode, big integers, floats, nesting, maps).

use std::collections::BTreeMap;

use idem::key::{Algorithm, JsonArgs};
use idem::strategy::{DefaultStrategy, FieldsStrategy, HashStrategy, KeyInput, KeyStrategy};
use idem::{Canonical, Context, Idempotent};
use proptest::prelude::*;
use serde::Serialize;

#[derive(Canonical, Serialize, Debug, Clone)]
enum Item {
    Unit,
    Count(i64),
    Pair(u8, String),
    Named { label: String, weight: f32 },
}

#[derive(Canonical, Serialize, Debug, Clone)]
struct Inner {
    #[serde(rename = "ñame")]
    name: String,
    values: Vec<f64>,
}

#[derive(Idempotent, Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
#[idem(tool = "property-v1")]
struct Everything {
    text: String,
    small: i8,
    big_unsigned: u64,
    big_signed: i64,
    real: f64,
    flag: bool,
    letter: char,
    maybe: Option<String>,
    list: Vec<i32>,
    map: BTreeMap<String, Option<u16>>,
    items: Vec<Item>,
    inner: Inner,
    nested: Option<Box<Inner>>,
    tuple: (u32, String),
}

#[derive(Idempotent, Serialize, Debug, Clone)]
#[idem(tool = "property-fields-v1", strategy = "fields")]
struct Keyed {
    #[idem(key)]
    id: String,
    #[idem(key)]
    version: u64,
    payload: Vec<String>,
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC*",
        any::<String>(),
        "[\"\\\\\\x00-\\x1f\u{7f}\u{e000}\u{1f600}]{0,8}",
    ]
}

fn any_finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        Just(-0.0),
        Just(1e21),
        Just(1e-7),
        Just(333_333_333.333_333_3),
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 100.0),
    ]
}

fn any_item() -> impl Strategy<Value = Item> {
    prop_oneof![
        Just(Item::Unit),
        any::<i64>().prop_map(Item::Count),
        (any::<u8>(), any_text()).prop_map(|(a, b)| Item::Pair(a, b)),
        (
            any_text(),
            any::<f32>().prop_filter("finite", |f| f.is_finite())
        )
            .prop_map(|(label, weight)| Item::Named { label, weight }),
    ]
}

fn any_inner() -> impl Strategy<Value = Inner> {
    (any_text(), prop::collection::vec(any_finite(), 0..4))
        .prop_map(|(name, values)| Inner { name, values })
}

fn any_everything() -> impl Strategy<Value = Everything> {
    (
        (
            any_text(),
            any::<i8>(),
            any::<u64>(),
            any::<i64>(),
            any_finite(),
            any::<bool>(),
            any::<char>(),
        ),
        (
            prop::option::of(any_text()),
            prop::collection::vec(any::<i32>(), 0..5),
            prop::collection::btree_map(any_text(), prop::option::of(any::<u16>()), 0..5),
            prop::collection::vec(any_item(), 0..4),
            any_inner(),
            prop::option::of(any_inner()),
            (any::<u32>(), any_text()),
        ),
    )
        .prop_map(
            |(
                (text, small, big_unsigned, big_signed, real, flag, letter),
                (maybe, list, map, items, inner, nested, tuple),
            )| {
                Everything {
                    text,
                    small,
                    big_unsigned,
                    big_signed,
                    real,
                    flag,
                    letter,
                    maybe,
                    list,
                    map,
                    items,
                    inner,
                    nested: nested.map(Box::new),
                    tuple,
                }
            },
        )
}

fn any_context() -> impl Strategy<Value = Context> {
    (
        prop::option::of(any_text()),
        prop::option::of(any_text()),
        prop::option::of(any_text()),
    )
        .prop_map(|(tenant, user, session)| {
            let mut ctx = Context::new();
            if let Some(t) = tenant {
                ctx = ctx.with_tenant(t);
            }
            if let Some(u) = user {
                ctx = ctx.with_user(u);
            }
            if let Some(s) = session {
                ctx = ctx.with_session(s);
            }
            ctx
        })
}

fn json_key(
    strategy: &dyn KeyStrategy,
    tool: &str,
    value: &serde_json::Value,
    ctx: &Context,
    fields: &[String],
) -> String {
    let args = JsonArgs::new(value).unwrap();
    strategy
        .key(&KeyInput::new(tool, &args, ctx).with_key_fields(fields))
        .unwrap()
        .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn derived_key_equals_json_key(value in any_everything(), ctx in any_context()) {
        let json = serde_json::to_value(&value).unwrap();
        // The canonical bytes of the whole struct equal those of its JSON form.
        prop_assert_eq!(value.to_canonical_vec().unwrap(), json.to_canonical_vec().unwrap());
        let derived = value.idempotency_key(&ctx).unwrap().to_string();
        prop_assert_eq!(&derived, &json_key(&DefaultStrategy::new(), "property-v1", &json, &ctx, &[]));
        let sha384 = HashStrategy::new().algorithm(Algorithm::Sha384);
        prop_assert_eq!(json_key(&sha384, "property-v1", &json, &ctx, &[]).len(), 96);
    }

    #[test]
    fn derived_fields_key_equals_json_key(
        id in "[^\u{0}]{1,12}",
        version in any::<u64>(),
        payload in prop::collection::vec(any_text(), 0..3),
        ctx in any_context(),
    ) {
        let value = Keyed { id, version, payload };
        let json = serde_json::to_value(&value).unwrap();
        let fields = vec!["id".to_owned(), "version".to_owned()];
        prop_assert_eq!(
            value.idempotency_key(&ctx).unwrap().to_string(),
            json_key(&FieldsStrategy::new(), "property-fields-v1", &json, &ctx, &fields)
        );
    }
}

/// What a model sends (optional fields left out) and what code sends (`None`, i.e. `null`) are
/// the same call once the JSON is read into the derived type: the key comes from the typed
/// value. Without a type (`JsonArgs`), an absent member and `null` are two different calls, as
/// the JSON differs: adapters that know the argument type deserialize before keying.
#[test]
fn an_omitted_optional_field_and_null_are_one_call_for_a_derived_type() {
    #[derive(Idempotent, serde::Deserialize, Serialize, Debug)]
    #[idem(tool = "book-flight-v1")]
    struct BookFlight {
        flight: String,
        seat: Option<String>,
    }
    let ctx = Context::new();
    let omitted = serde_json::json!({"flight": "LH400"});
    let null = serde_json::json!({"flight": "LH400", "seat": null});
    let typed = |value: &serde_json::Value| {
        let args: BookFlight = serde_json::from_value(value.clone()).unwrap();
        args.idempotency_key(&ctx).unwrap()
    };
    assert_eq!(typed(&omitted), typed(&null));
    let untyped = |value: &serde_json::Value| {
        let args = JsonArgs::new(value).unwrap();
        let call = KeyInput::new("book-flight-v1", &args, &ctx);
        DefaultStrategy::new().key(&call).unwrap()
    };
    assert_ne!(untyped(&omitted), untyped(&null));
    assert_eq!(
        untyped(&null),
        typed(&null),
        "null is what the typed value writes"
    );
}
