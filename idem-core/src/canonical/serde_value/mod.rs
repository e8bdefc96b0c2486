//! A serde serializer into `serde_json::Value` that refuses what `serde_json::to_value` would
//! let through silently, for [`SerdeCanonical`](super::SerdeCanonical).
//!
//! It builds the same `Value` as `serde_json::to_value` for every value that has an exact
//! canonical form, and returns an [`EncodeError`] instead of:
//! - writing `null` for NaN and the infinities ([`EncodeError::NonFiniteNumber`]);
//! - keeping one of two map keys that serialize to the same string
//!   ([`EncodeError::DuplicateMember`]);
//! - recursing without bound into a deeply nested value ([`EncodeError::TooDeep`], before the
//!   stack runs out);
//! - a map key that is not a string, an integer, a boolean or a finite float
//!   ([`EncodeError::UnsupportedMapKey`]); an integer beyond 64 bits
//!   ([`EncodeError::IntegerOutOfRange`]).

use std::fmt;

use serde::Serialize;
use serde::ser;
use serde_json::{Map, Number, Value};

use super::writer::MAX_DEPTH;
use crate::error::EncodeError;

mod compound;
mod map_key;

use compound::{MapBuilder, SeqBuilder, StructBuilder};
use map_key::MapKeySerializer;

/// The name serde_json gives the struct a `RawValue` serializes as (`serde_json::raw::TOKEN`,
/// not public): its one field of the same name holds the raw JSON text.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Serializes `value` into a `Value`, as a value that sits inside `depth` open arrays and
/// objects.
///
/// # Errors
/// See the module documentation.
pub(crate) fn to_value<T: Serialize + ?Sized>(
    value: &T,
    depth: usize,
) -> Result<Value, EncodeError> {
    value.serialize(ValueSerializer { depth }).map_err(|e| e.0)
}

/// The serializer's error: an [`EncodeError`], or serde's own message as
/// [`EncodeError::Serde`].
#[derive(Debug)]
pub(crate) struct Error(EncodeError);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(EncodeError::Serde(msg.to_string()))
    }
}

impl From<EncodeError> for Error {
    fn from(err: EncodeError) -> Self {
        Error(err)
    }
}

/// Serializes one value that sits inside `depth` open arrays and objects.
#[derive(Debug, Clone, Copy)]
struct ValueSerializer {
    depth: usize,
}

impl ValueSerializer {
    /// The serializer of the values inside one more array or object.
    fn nested(self) -> Result<Self, Error> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(Error(EncodeError::TooDeep { limit: MAX_DEPTH }));
        }
        Ok(Self { depth })
    }
}

fn finite(value: f64) -> Result<Value, Error> {
    Number::from_f64(value)
        .map(Value::Number)
        .ok_or(Error(EncodeError::NonFiniteNumber(value)))
}

fn out_of_range(digits: impl fmt::Display) -> Error {
    Error(EncodeError::IntegerOutOfRange {
        literal: digits.to_string(),
    })
}

/// `{"variant": value}`, serde's externally tagged form.
fn tagged(variant: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(variant.to_owned(), value);
    Value::Object(map)
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = StructBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Error> {
        if let Ok(v) = u64::try_from(v) {
            Ok(Value::from(v))
        } else if let Ok(v) = i64::try_from(v) {
            Ok(Value::from(v))
        } else {
            Err(out_of_range(v))
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Error> {
        u64::try_from(v)
            .map(Value::from)
            .map_err(|_| out_of_range(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        // Widened to f64, as serde_json does.
        finite(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        finite(v)
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        self.nested()?;
        Ok(Value::Array(v.iter().map(|&b| Value::from(b)).collect()))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        let inner = value.serialize(self.nested()?)?;
        Ok(tagged(variant, inner))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        SeqBuilder::new(self, len.unwrap_or(0), None)
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        SeqBuilder::new(self, len, None)
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        SeqBuilder::new(self, len, None)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, Error> {
        // `{"variant": [...]}`: the array is one level below the object.
        SeqBuilder::new(self.nested()?, len, Some(variant))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, Error> {
        MapBuilder::new(self, None)
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<StructBuilder, Error> {
        if name == RAW_VALUE_TOKEN {
            return Ok(StructBuilder::Raw {
                serializer: self,
                value: None,
            });
        }
        MapBuilder::new(self, None).map(StructBuilder::Map)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MapBuilder, Error> {
        MapBuilder::new(self.nested()?, Some(variant))
    }
}
