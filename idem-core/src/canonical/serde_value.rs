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
use serde::ser::{self, Impossible};
use serde_json::{Map, Number, Value};

use super::json_text;
use super::writer::MAX_DEPTH;
use crate::error::EncodeError;

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

/// An array being built; with `variant`, wrapped as `{"variant": [...]}`.
struct SeqBuilder {
    items: Vec<Value>,
    inner: ValueSerializer,
    variant: Option<&'static str>,
}

impl SeqBuilder {
    fn new(
        outer: ValueSerializer,
        len: usize,
        variant: Option<&'static str>,
    ) -> Result<Self, Error> {
        Ok(Self {
            // serde's length is a hint from the value, not a promise: bounded like serde_json.
            items: Vec::with_capacity(len.min(4096)),
            inner: outer.nested()?,
            variant,
        })
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(self.inner)?);
        Ok(())
    }

    fn finish(self) -> Value {
        let array = Value::Array(self.items);
        match self.variant {
            Some(variant) => tagged(variant, array),
            None => array,
        }
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

/// An object being built; with `variant`, wrapped as `{"variant": {...}}`.
struct MapBuilder {
    map: Map<String, Value>,
    next_key: Option<String>,
    inner: ValueSerializer,
    variant: Option<&'static str>,
}

impl MapBuilder {
    fn new(outer: ValueSerializer, variant: Option<&'static str>) -> Result<Self, Error> {
        Ok(Self {
            map: Map::new(),
            next_key: None,
            inner: outer.nested()?,
            variant,
        })
    }

    /// Adds a member; a name that is already there is an error, not an overwrite.
    fn insert<T: Serialize + ?Sized>(&mut self, name: String, value: &T) -> Result<(), Error> {
        if self.map.contains_key(&name) {
            return Err(Error(EncodeError::DuplicateMember { name }));
        }
        let value = value.serialize(self.inner)?;
        self.map.insert(name, value);
        Ok(())
    }

    fn finish(self) -> Value {
        let object = Value::Object(self.map);
        match self.variant {
            Some(variant) => tagged(variant, object),
            None => object,
        }
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.next_key = Some(key.serialize(MapKeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let name = self.next_key.take().ok_or_else(|| {
            Error(EncodeError::Serde(
                "serialize_value was called before serialize_key".to_owned(),
            ))
        })?;
        self.insert(name, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.insert(key.to_owned(), value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

/// A struct being built: an object, or serde_json's `RawValue`, whose text is read back with
/// the same checks as JSON arguments.
enum StructBuilder {
    Map(MapBuilder),
    Raw {
        serializer: ValueSerializer,
        value: Option<Value>,
    },
}

impl ser::SerializeStruct for StructBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        match self {
            StructBuilder::Map(map) => map.insert(key.to_owned(), value),
            StructBuilder::Raw {
                serializer,
                value: out,
            } => match value.serialize(*serializer)? {
                Value::String(text) => {
                    *out = Some(json_text::parse_value(text.as_bytes(), serializer.depth)?);
                    Ok(())
                }
                _ => Err(Error(EncodeError::Serde(
                    "a serde_json RawValue did not hold JSON text".to_owned(),
                ))),
            },
        }
    }
    fn end(self) -> Result<Value, Error> {
        match self {
            StructBuilder::Map(map) => Ok(map.finish()),
            StructBuilder::Raw { value, .. } => value.ok_or_else(|| {
                Error(EncodeError::Serde(
                    "a serde_json RawValue did not hold JSON text".to_owned(),
                ))
            }),
        }
    }
}

/// Serializes a map key into a member name, as serde_json does: strings and chars as they
/// are, integers and booleans as their text, finite floats as serde_json writes them, unit
/// variants as their name.
struct MapKeySerializer;

fn unsupported_key(found: &'static str) -> Error {
    Error(EncodeError::UnsupportedMapKey { found })
}

impl ser::Serializer for MapKeySerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(if v { "true" } else { "false" }.to_owned())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_i128(self, v: i128) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_u128(self, v: u128) -> Result<String, Error> {
        Ok(itoa::Buffer::new().format(v).to_owned())
    }
    fn serialize_f32(self, v: f32) -> Result<String, Error> {
        if !v.is_finite() {
            return Err(Error(EncodeError::NonFiniteNumber(f64::from(v))));
        }
        // serde_json writes a float key exactly as it writes the float.
        serde_json::to_string(&v).map_err(ser::Error::custom)
    }
    fn serialize_f64(self, v: f64) -> Result<String, Error> {
        if !v.is_finite() {
            return Err(Error(EncodeError::NonFiniteNumber(v)));
        }
        serde_json::to_string(&v).map_err(ser::Error::custom)
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(unsupported_key("bytes"))
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(unsupported_key("an Option"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, Error> {
        Err(unsupported_key("an Option"))
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(unsupported_key("()"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, Error> {
        Err(unsupported_key("a unit struct"))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(unsupported_key("an enum variant with data"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported_key("a sequence"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(unsupported_key("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(unsupported_key("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported_key("an enum variant with data"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(unsupported_key("a map"))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(unsupported_key("a struct"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported_key("an enum variant with data"))
    }
}
