//! Map keys that serialize to the same member name are an error, not a lost member; serde fields
//! keep serde_json's bytes.

use std::collections::{BTreeMap, HashMap};

use idem::canonical::{Canonical, SerdeCanonical};
use idem::key::EncodeError;
use idem::{Context, Idempotent, KeyError};
use serde::Serialize;
use serde_json::{Value, json};

use super::FloatKey;

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
