//! Canonical JSON (RFC 8785, with the integer extension of key format v1), streamed.
//!
//! [`Canonical`] is idem's own encoding trait: a value writes its canonical bytes straight into
//! a [`CanonicalWriter`], which hashes them as they come. It is implemented for the standard
//! types, for `serde_json::Value`, for types that `#[derive(Canonical)]`, and for any
//! `T: Serialize` through [`SerdeCanonical`].

mod impls;
pub(crate) mod json;
pub(crate) mod json_text;
mod order;
mod parameter_type;
mod serde_bridge;
mod serde_value;
mod writer;

pub use json::write_json_object_members;
pub use order::cmp_member_names;
pub use parameter_type::ParameterType;
pub use serde_bridge::SerdeCanonical;
pub use writer::{CanonicalWriter, MAX_DEPTH};

use crate::error::EncodeError;

/// A value that can be part of an idempotency key.
///
/// The bytes written must be the RFC 8785 form of the value's serde data model: the same bytes
/// `serde_json::to_value(value)` would canonicalize to. Derive it with `#[derive(Canonical)]`
/// for nested structs and enums, or mark a field `#[idem(serde)]` to go through serde.
///
/// ```
/// use idem::canonical::{Canonical, CanonicalWriter};
///
/// let mut writer = CanonicalWriter::buffer();
/// ("tab\t", Some(3_u8), None::<u8>).write_canonical(&mut writer).unwrap();
/// assert_eq!(writer.into_bytes().unwrap(), br#"["tab\t",3,null]"#);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of an idempotency key",
    label = "this type does not implement `Canonical`",
    note = "derive it with `#[derive(idem::Canonical)]`, or mark the field `#[idem(serde)]` \
            to encode a `Serialize` type through serde, or `#[idem(skip)]` to leave it out"
)]
pub trait Canonical {
    /// The JSON type of the value, for the parameter list of a tool spec.
    const PARAMETER_TYPE: ParameterType = ParameterType::Any;

    /// Whether the value may be absent (`Option`): its parameter is then not required.
    const OPTIONAL: bool = false;

    /// Writes the canonical bytes of `self`.
    ///
    /// # Errors
    /// When the value has no canonical form (a NaN, a map with a key that is not a string, two
    /// map keys with the same name, a nesting deeper than [`MAX_DEPTH`]).
    fn write_canonical(&self, writer: &mut CanonicalWriter) -> Result<(), EncodeError>;

    /// Whether the value counts as present when it is a key field: `None`, JSON `null` and the
    /// empty string do not.
    fn presence(&self) -> Presence {
        Presence::Present
    }

    /// The canonical bytes of `self`, collected in a buffer.
    ///
    /// # Errors
    /// As [`write_canonical`](Canonical::write_canonical).
    fn to_canonical_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut writer = CanonicalWriter::buffer();
        self.write_canonical(&mut writer)?;
        Ok(writer.into_bytes().unwrap_or_default())
    }
}

/// Whether a key field has a usable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A value that can identify a call.
    Present,
    /// `None` or JSON `null`.
    Null,
    /// The empty string.
    Empty,
}

impl Presence {
    /// How an error message describes the value, or `None` when it is present.
    pub fn describe_absence(self) -> Option<&'static str> {
        match self {
            Presence::Present => None,
            Presence::Null => Some("null"),
            Presence::Empty => Some("an empty string"),
        }
    }
}
