//! [`ParameterType`]: the JSON type a canonical value is written as, which a tool spec shows as
//! its parameter's type.

use serde::{Deserialize, Serialize};

/// The JSON type of a value, as a tool spec shows a parameter's type (also re-exported as
/// [`spec::ParameterType`](crate::spec::ParameterType)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterType {
    /// A string.
    String,
    /// A number with a fraction.
    Number,
    /// An integer.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A list.
    Array,
    /// An object (a nested struct or a map).
    Object,
    /// Any JSON value (a type idem cannot describe, e.g. one encoded through serde).
    Any,
}
