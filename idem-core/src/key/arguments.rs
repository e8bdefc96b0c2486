//! [`Arguments`]: a tool's arguments as the strategies see them, from a derived struct or JSON.

use serde_json::{Map, Value};

use crate::canonical::json::json_type_name;
use crate::canonical::{Canonical, CanonicalWriter, Presence, cmp_member_names};
use crate::error::{EncodeError, KeyError};

/// A tool's arguments: named fields in canonical order, each able to write its canonical value.
///
/// `#[derive(Idempotent)]` implements it for a struct (field names and their order are settled
/// at compile time); [`JsonArgs`] implements it for a JSON object, for tools that have no Rust
/// type. Both give the same key for the same arguments.
///
/// Field indices run from `0` to `field_count() - 1`, in the RFC 8785 order of the names.
pub trait Arguments {
    /// How many fields take part (fields marked `#[idem(skip)]` do not).
    fn field_count(&self) -> usize;

    /// The serialized name of field `index`.
    fn field_name(&self, index: usize) -> &str;

    /// The presence of field `index` (`None`, `null` and `""` are not present).
    fn field_presence(&self, index: usize) -> Presence;

    /// Writes the canonical value of field `index`.
    ///
    /// # Errors
    /// When the value has no canonical form (a NaN, for instance).
    fn write_field(&self, index: usize, writer: &mut CanonicalWriter) -> Result<(), EncodeError>;

    /// Whether field `index` is a declared key field (`#[idem(key)]`).
    fn is_key_field(&self, index: usize) -> bool {
        let _ = index;
        false
    }

    /// Whether field `index` may be null or empty although it is a key field
    /// (`#[idem(key, allow_empty)]`).
    fn allows_empty(&self, index: usize) -> bool {
        let _ = index;
        false
    }

    /// The index of the field with this serialized name.
    fn field_index(&self, name: &str) -> Option<usize> {
        (0..self.field_count()).find(|&i| self.field_name(i) == name)
    }

    /// Whether any field is a declared key field.
    fn has_key_fields(&self) -> bool {
        (0..self.field_count()).any(|i| self.is_key_field(i))
    }

    /// The value of a field as JSON, for custom strategies that read arguments by name.
    ///
    /// # Errors
    /// When the field's value has no canonical form.
    fn field_json(&self, name: &str) -> Result<Option<Value>, KeyError> {
        let Some(index) = self.field_index(name) else {
            return Ok(None);
        };
        // Inside a document: the value's levels count as they do in a key.
        let writer = CanonicalWriter::buffer().inside_document();
        written_json(name, writer, |writer| self.write_field(index, writer)).map(Some)
    }

    /// All the fields that take part, as one JSON object in canonical order: for custom
    /// strategies that hand the arguments to another service.
    ///
    /// ```
    /// use idem::key::{Arguments, JsonArgs};
    /// use serde_json::json;
    ///
    /// let value = json!({"b": [1, 2], "a": "x"});
    /// let args = JsonArgs::new(&value)?;
    /// assert_eq!(args.to_json()?.to_string(), r#"{"a":"x","b":[1,2]}"#);
    /// # Ok::<(), idem::KeyError>(())
    /// ```
    ///
    /// # Errors
    /// When a field's value has no canonical form.
    fn to_json(&self) -> Result<Value, KeyError> {
        written_json("(arguments)", CanonicalWriter::buffer(), |writer| {
            write_arguments_object(self, writer)
        })
    }
}

/// What `write` writes to `writer` (a buffer), read back as JSON; `field` names what failed in
/// the error.
fn written_json(
    field: &str,
    mut writer: CanonicalWriter,
    write: impl FnOnce(&mut CanonicalWriter) -> Result<(), EncodeError>,
) -> Result<Value, KeyError> {
    let failed = |source| KeyError::Encode {
        field: field.to_owned(),
        source,
    };
    write(&mut writer).map_err(failed)?;
    let bytes = writer.into_bytes().unwrap_or_default();
    serde_json::from_slice(&bytes).map_err(|e| failed(EncodeError::Serde(e.to_string())))
}

/// Writes every field of `args` as one JSON object (the form used for fingerprints and nesting).
///
/// When the object is the start of the writer's document (a fingerprint), it is not a level of
/// nesting, as the envelope's `"args"` object is not: each argument may nest
/// [`MAX_DEPTH`](crate::canonical::MAX_DEPTH) levels in both.
///
/// # Errors
/// When a field has no canonical form.
pub fn write_arguments_object<A: Arguments + ?Sized>(
    args: &A,
    writer: &mut CanonicalWriter,
) -> Result<(), EncodeError> {
    writer.begin_object()?;
    for i in 0..args.field_count() {
        writer.write_member_name(i == 0, args.field_name(i));
        args.write_field(i, writer)?;
    }
    writer.end_object();
    writer.check_depth()
}

/// Reads the arguments of a tool call from JSON text, refusing what would make two different
/// calls share a key. Use it (then [`JsonArgs::new`], or hand the `Value` to the executor)
/// for arguments that arrive as text, such as a model's tool call.
///
/// `serde_json::from_slice` accepts all of these and loses information; this function refuses
/// them with an error that says where:
/// - a member name repeated in one object ([`KeyError::DuplicateMember`]; RFC 8785 and I-JSON
///   require unique names, and a parser keeps only one of the values);
/// - an integer literal outside the range of `i64` and `u64` ([`KeyError::IntegerOutOfRange`]:
///   it would be rounded to a double, so `18446744073709551616` and `18446744073709551617` would
///   share a key; send such numbers as strings). A literal with a fraction or an exponent is a
///   double (RFC 8785), read as the nearest one, however many digits it has;
/// - an argument nested deeper than [`MAX_DEPTH`](crate::canonical::MAX_DEPTH) levels
///   ([`KeyError::Encode`] with [`EncodeError::TooDeep`]).
///
/// ```
/// use idem::KeyError;
/// use idem::key::{Arguments, JsonArgs, parse_json_arguments};
///
/// let value = parse_json_arguments(r#"{"order_id": "o-1", "qty": 2}"#).unwrap();
/// let args = JsonArgs::new(&value).unwrap();
/// assert_eq!(args.field_name(0), "order_id");
///
/// let err = parse_json_arguments(r#"{"order_id": "o-1", "order_id": "o-2"}"#).unwrap_err();
/// assert!(matches!(err, KeyError::DuplicateMember { ref name, .. } if name == "order_id"));
/// ```
///
/// # Errors
/// The ones above; [`KeyError::InvalidJson`] for text that is not JSON, and
/// [`KeyError::ArgumentsNotObject`] for JSON that is not an object.
pub fn parse_json_arguments(json: impl AsRef<[u8]>) -> Result<Value, KeyError> {
    crate::canonical::json_text::parse_arguments(json.as_ref())
}

/// Arguments given as a JSON object, for tools that have no Rust type.
///
/// ```
/// use idem::key::{Arguments, JsonArgs};
/// use serde_json::json;
///
/// let value = json!({"order_id": "o-1", "region": "eu-central"});
/// let args = JsonArgs::new(&value).unwrap();
/// assert_eq!(args.field_count(), 2);
/// assert_eq!(args.field_name(0), "order_id");
/// assert!(JsonArgs::new(&json!([1, 2])).is_err());
/// ```
///
/// A `Value` cannot hold a member twice, so `JsonArgs` has none; arguments that arrive as JSON
/// text should be read with [`parse_json_arguments`], which refuses a repeated member (and
/// integers beyond 64 bits) instead of keeping one of them silently.
///
/// Without a Rust type there is no schema: an optional argument that is left out and the same
/// argument given as `null` are two different sets of arguments, with two different keys
/// (`{}` and `{"note":null}`). With a derived type, the key comes from the typed value, where
/// an omitted `Option` field and `null` are both `None`, so they share a key.
#[derive(Debug, Clone)]
pub struct JsonArgs<'a> {
    members: Vec<(&'a str, &'a Value)>,
}

impl<'a> JsonArgs<'a> {
    /// Reads the members of a JSON object.
    ///
    /// # Errors
    /// [`KeyError::ArgumentsNotObject`] when `value` is not an object.
    pub fn new(value: &'a Value) -> Result<Self, KeyError> {
        match value {
            Value::Object(map) => Ok(Self::from_map(map)),
            other => Err(KeyError::ArgumentsNotObject {
                found: json_type_name(other),
            }),
        }
    }

    /// Reads the members of a JSON map.
    pub fn from_map(map: &'a Map<String, Value>) -> Self {
        let mut members: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
        // serde_json's map is ordered by bytes; RFC 8785 orders by UTF-16 code units.
        members.sort_by(|a, b| cmp_member_names(a.0, b.0));
        Self { members }
    }
}

impl Arguments for JsonArgs<'_> {
    fn field_count(&self) -> usize {
        self.members.len()
    }

    fn field_name(&self, index: usize) -> &str {
        self.members.get(index).map_or("", |m| m.0)
    }

    fn field_presence(&self, index: usize) -> Presence {
        self.members
            .get(index)
            .map_or(Presence::Null, |m| m.1.presence())
    }

    fn write_field(&self, index: usize, writer: &mut CanonicalWriter) -> Result<(), EncodeError> {
        match self.members.get(index) {
            Some((_, value)) => value.write_canonical(writer),
            None => {
                writer.write_null();
                Ok(())
            }
        }
    }

    fn field_index(&self, name: &str) -> Option<usize> {
        self.members
            .binary_search_by(|m| cmp_member_names(m.0, name))
            .ok()
    }
}
