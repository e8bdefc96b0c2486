//! [`Canonical`] for `serde_json` values: the form arguments take when a tool has no Rust type.

use serde_json::{Map, Number, Value};

use super::ParameterType;
use super::impls::{write_array, write_object};
use super::{Canonical, CanonicalWriter, Presence};
use crate::error::EncodeError;

impl Canonical for Number {
    const PARAMETER_TYPE: ParameterType = ParameterType::Number;

    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        if let Some(n) = self.as_u64() {
            w.write_integer(n);
        } else if let Some(n) = self.as_i64() {
            w.write_integer(n);
        } else {
            // Without `arbitrary_precision` every other number is an f64.
            w.write_f64(self.as_f64().unwrap_or(f64::NAN))?;
        }
        Ok(())
    }
}

impl Canonical for Value {
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        match self {
            Value::Null => w.write_null(),
            Value::Bool(b) => w.write_bool(*b),
            Value::Number(n) => n.write_canonical(w)?,
            Value::String(s) => w.write_str(s),
            Value::Array(items) => write_array(w, items)?,
            Value::Object(members) => members.write_canonical(w)?,
        }
        Ok(())
    }

    fn presence(&self) -> Presence {
        match self {
            Value::Null => Presence::Null,
            Value::String(s) if s.is_empty() => Presence::Empty,
            _ => Presence::Present,
        }
    }
}

impl Canonical for Map<String, Value> {
    const PARAMETER_TYPE: ParameterType = ParameterType::Object;

    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        write_object(w, self)
    }
}

/// Writes the members of a JSON object, without braces, in canonical order, as members of an
/// object that is already open. Returns whether any member was written.
///
/// # Errors
/// When a member's value has no canonical form.
pub fn write_json_object_members(
    w: &mut CanonicalWriter,
    members: &[(&str, &Value)],
    mut first: bool,
) -> Result<bool, EncodeError> {
    for (name, value) in members {
        w.write_member_name(first, name);
        value.write_canonical(w)?;
        first = false;
    }
    Ok(!first)
}

/// The JSON type of a value, for error messages.
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
