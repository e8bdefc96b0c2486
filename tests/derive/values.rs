//! Argument values of every shape: nested values as serde's data model has them, non-finite
//! numbers, generic, unit and borrowed arguments.

use std::collections::{HashMap, HashSet};

use idem::strategy::DefaultStrategy;
use idem::{Canonical, Context, Idempotent, KeyError};
use serde::Serialize;
use serde_json::json;

use super::{SecurePayment, json_key, payment, sha256_hex};

#[derive(Canonical, Serialize, Clone)]
enum Shipping {
    Pickup,
    Standard(u8),
    Split(u8, u8),
    #[serde(rename = "express")]
    Express {
        days: u8,
        #[serde(rename = "signature")]
        needs_signature: bool,
    },
}

#[derive(Canonical, Serialize, Clone)]
struct Address {
    street: String,
    zip: Option<String>,
    #[serde(skip)]
    internal: u32,
}

#[derive(Canonical, Serialize, Clone)]
struct Meters(f32);

#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "shipment-v1")]
struct Shipment {
    shipping: Vec<Shipping>,
    address: Address,
    distance: Meters,
    tags: HashSet<String>,
    counts: HashMap<u32, i64>,
    #[idem(serde)]
    extra: SerdeOnly,
    pair: (bool, char),
    unit: (),
}

#[derive(Serialize, Clone)]
struct SerdeOnly {
    b: u8,
    a: Vec<u8>,
}

#[test]
fn nested_values_follow_serde_data_model() {
    let shipment = Shipment {
        shipping: vec![
            Shipping::Pickup,
            Shipping::Standard(3),
            Shipping::Split(1, 2),
            Shipping::Express {
                days: 1,
                needs_signature: true,
            },
        ],
        address: Address {
            street: "1 \"Main\" St\n".into(),
            zip: None,
            internal: 7,
        },
        distance: Meters(0.1),
        tags: HashSet::from(["b".into(), "a".into(), "c".into()]),
        counts: HashMap::from([(10, -1), (9, 2)]),
        extra: SerdeOnly { b: 1, a: vec![2] },
        pair: (true, 'é'),
        unit: (),
    };
    let _ = shipment.address.internal;
    let bytes = String::from_utf8(shipment.to_canonical_vec().unwrap()).unwrap();
    assert_eq!(
        bytes,
        concat!(
            r#"{"address":{"street":"1 \"Main\" St\n","zip":null},"counts":{"10":-1,"9":2},"#,
            r#""distance":0.10000000149011612,"extra":{"a":[2],"b":1},"pair":[true,"é"],"#,
            r#""shipping":["Pickup",{"Standard":3},{"Split":[1,2]},{"express":{"days":1,"signature":true}}],"#,
            r#""tags":["a","b","c"],"unit":null}"#
        )
    );
    // serde_json sees the same data, except for the set, whose order serde leaves to the hasher.
    let ctx = Context::new();
    let mut json = serde_json::to_value(&shipment).unwrap();
    json["tags"] = json!(["a", "b", "c"]);
    assert_eq!(
        shipment.idempotency_key(&ctx).unwrap(),
        json_key(&DefaultStrategy::new(), "shipment-v1", &json, &ctx)
    );
}

#[test]
fn non_finite_numbers_are_errors_naming_the_field() {
    let err = payment("txn-1", f64::NAN);
    // `amount` is not a key field of the payment: it does not take part, so the key works.
    assert!(err.idempotency_key(&Context::new()).is_ok());
    let search = SecurePayment {
        transaction_id: "t".into(),
        amount: f64::INFINITY,
        timestamp: 1,
        note: String::new(),
    };
    let err = search.idempotency_key(&Context::new()).unwrap_err();
    assert!(
        matches!(&err, KeyError::Encode { field, .. } if field == "amount"),
        "{err}"
    );
}

#[derive(Idempotent)]
#[idem(tool = "generic-v1")]
struct Wrapper<T, U> {
    value: T,
    #[idem(skip)]
    _marker: std::marker::PhantomData<U>,
}

struct NotCanonical;

#[test]
fn generic_arguments_need_canonical_only_for_used_parameters() {
    let w: Wrapper<u64, NotCanonical> = Wrapper {
        value: u64::MAX,
        _marker: std::marker::PhantomData,
    };
    assert_eq!(
        w.idempotency_key(&Context::new()).unwrap().as_str(),
        sha256_hex(
            r#"{"args":{"value":18446744073709551615},"session":null,"tool":"generic-v1","user":null,"v":1}"#
        )
    );
}

#[derive(Idempotent)]
#[idem(tool = "ping-v1")]
struct Ping;

#[test]
fn unit_structs_have_empty_arguments() {
    assert_eq!(
        Ping.idempotency_key(&Context::new()).unwrap().as_str(),
        sha256_hex(r#"{"args":{},"session":null,"tool":"ping-v1","user":null,"v":1}"#)
    );
}

#[derive(Idempotent)]
#[idem(tool = "borrowed-v1", strategy = "fields")]
struct Borrowed<'a> {
    #[idem(key)]
    id: &'a str,
    tags: &'a [&'a str],
}

#[test]
fn borrowed_arguments_work() {
    let tags = ["x"];
    let b = Borrowed {
        id: "b-1",
        tags: &tags,
    };
    let _ = b.tags;
    assert_eq!(
        b.idempotency_key(&Context::new()).unwrap().as_str(),
        sha256_hex(r#"{"args":{"id":"b-1"},"tool":"borrowed-v1","v":1}"#)
    );
}
