//! The builders of arrays, maps and structs: serde's compound serializers, each building one
//! `Value` while checking depth and duplicate members.

use serde::Serialize;
use serde::ser;
use serde_json::{Map, Value};

use super::{Error, MapKeySerializer, ValueSerializer, tagged};
use crate::error::EncodeError;

/// An array being built; with `variant`, wrapped as `{"variant": [...]}`.
pub(super) struct SeqBuilder {
    items: Vec<Value>,
    inner: ValueSerializer,
    variant: Option<&'static str>,
}

impl SeqBuilder {
    pub(super) fn new(
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

    pub(super) fn finish(self) -> Value {
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
pub(super) struct MapBuilder {
    map: Map<String, Value>,
    next_key: Option<String>,
    inner: ValueSerializer,
    variant: Option<&'static str>,
}

impl MapBuilder {
    pub(super) fn new(
        outer: ValueSerializer,
        variant: Option<&'static str>,
    ) -> Result<Self, Error> {
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

    pub(super) fn finish(self) -> Value {
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
pub(super) enum StructBuilder {
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
                    *out = Some(crate::canonical::json_text::parse_value(
                        text.as_bytes(),
                        serializer.depth,
                    )?);
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
