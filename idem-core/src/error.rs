//! Typed errors of key generation and of the strategy registry.

use std::error::Error as StdError;

/// A boxed error from user code (a custom key function, an external service).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a value could not be written in canonical form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// NaN and the infinities have no JSON form (RFC 8785, section 3.2.2.3).
    #[error("the number {0} is not finite; NaN and infinities cannot be part of a key")]
    NonFiniteNumber(f64),
    /// A map key that is neither a string nor an integer.
    #[error("a map key must be a string or an integer, found {found}")]
    UnsupportedMapKey {
        /// What was found instead.
        found: &'static str,
    },
    /// Two members of one object have the same name: two map keys that serialize to the same
    /// string, or a name repeated in JSON text.
    #[error("the object has the member `{name}` twice")]
    DuplicateMember {
        /// The repeated member name.
        name: String,
    },
    /// Arrays and objects nested deeper than [`MAX_DEPTH`](crate::canonical::MAX_DEPTH) levels
    /// inside one argument.
    #[error("the value nests arrays and objects more than {limit} levels deep")]
    TooDeep {
        /// The deepest nesting allowed.
        limit: usize,
    },
    /// An integer outside the range of `i64` and `u64`, which serde_json would round to a
    /// double (so that two different integers would share a key).
    #[error(
        "the integer {literal} is outside the 64-bit range (-2^63 to 2^64-1) and would be \
         rounded; send it as a string"
    )]
    IntegerOutOfRange {
        /// The integer's decimal digits.
        literal: String,
    },
    /// A value encoded through serde (`#[idem(serde)]`) failed to serialize.
    #[error("serde could not serialize the value: {0}")]
    Serde(String),
    /// An enum variant marked `#[serde(skip)]` or `#[serde(skip_serializing)]`: serde fails to
    /// serialize it, and `#[derive(Canonical)]` fails the same way.
    #[error(
        "the enum variant {type_name}::{variant} cannot be serialized: serde skips it \
         (`#[serde(skip)]`), so it cannot be part of a key"
    )]
    SkippedVariant {
        /// The enum's name.
        type_name: &'static str,
        /// The variant's name in Rust.
        variant: &'static str,
    },
}

/// Why an idempotency key could not be computed.
///
/// Every variant names what was wrong and where, so a log line is enough to fix the call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key field is absent from the arguments.
    #[error("key field `{field}` is missing from the arguments of tool `{tool}`")]
    MissingKeyField {
        /// The tool id.
        tool: String,
        /// The serialized name of the field.
        field: String,
    },
    /// A key field is null or an empty string: two unrelated calls would share one key.
    #[error(
        "key field `{field}` of tool `{tool}` is {found}; a key field needs a value \
         (mark it `#[idem(key, allow_empty)]` if an empty value is meaningful)"
    )]
    EmptyKeyField {
        /// The tool id.
        tool: String,
        /// The serialized name of the field.
        field: String,
        /// `"null"` or `"an empty string"`.
        found: &'static str,
    },
    /// The `fields` strategy was used without any key field.
    #[error(
        "tool `{tool}` uses the `fields` strategy but declares no key field; \
         mark a field `#[idem(key)]` or configure key fields"
    )]
    NoKeyFields {
        /// The tool id.
        tool: String,
    },
    /// A configured key field does not exist on the argument type.
    #[error("key field `{field}` is not a field of `{type_name}`; its fields are: {}", available.join(", "))]
    UnknownKeyField {
        /// The configured name.
        field: String,
        /// The argument type.
        type_name: &'static str,
        /// The serialized names the type has.
        available: Vec<&'static str>,
    },
    /// The arguments given as JSON are not a JSON object.
    #[error("the arguments must be a JSON object, found {found}")]
    ArgumentsNotObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// An argument could not be written in canonical form.
    #[error("argument `{field}` cannot be encoded: {source}")]
    Encode {
        /// The serialized name of the argument.
        field: String,
        /// What went wrong.
        #[source]
        source: EncodeError,
    },
    /// The arguments given as JSON text are not valid JSON.
    #[error("the arguments are not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The arguments given as JSON text repeat a member name in one object (RFC 8785 and
    /// I-JSON, RFC 7493, refuse it; a parser would keep one of the two values silently).
    #[error(
        "the arguments JSON has the member `{name}` twice in one object (at `{pointer}`); \
         member names must be unique"
    )]
    DuplicateMember {
        /// The JSON pointer (RFC 6901) of the repeated member, e.g. `/items/0/id`.
        pointer: String,
        /// The repeated name.
        name: String,
    },
    /// The arguments given as JSON text hold an integer literal beyond the 64-bit range, which
    /// would be rounded to a double (so that two different integers would share a key).
    #[error(
        "the arguments JSON has the integer {literal} at `{pointer}`, outside the 64-bit range \
         (-2^63 to 2^64-1): it would be rounded to a double; send it as a string \
         (\"{literal}\")"
    )]
    IntegerOutOfRange {
        /// The JSON pointer (RFC 6901) of the number.
        pointer: String,
        /// The literal as written.
        literal: String,
    },
    /// The tool id is empty.
    #[error("the tool id is empty")]
    EmptyToolId,
    /// A custom key is empty, longer than 255 bytes or has a control character.
    #[error("custom key {key:?} is invalid: {reason}")]
    InvalidCustomKey {
        /// The key as returned (cut to 64 characters).
        key: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// A custom key function failed.
    #[error("the custom key function of tool `{tool}` failed: {source}")]
    Custom {
        /// The tool id.
        tool: String,
        /// The function's error.
        #[source]
        source: BoxError,
    },
    /// A time window or duration is not valid.
    #[error("invalid window: {0}")]
    InvalidWindow(String),
    /// The clock is before the Unix epoch.
    #[error("the clock reads a time before the Unix epoch")]
    ClockBeforeEpoch,
    /// A strategy named at run time could not be found.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Errors of the named strategy [`Registry`](crate::strategy::Registry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A strategy is already registered under this name.
    #[error("a key strategy named `{name}` is already registered")]
    AlreadyRegistered {
        /// The name.
        name: String,
    },
    /// No strategy is registered under this name.
    #[error("no key strategy named `{name}`; registered: {}", registered.join(", "))]
    Unknown {
        /// The name looked up.
        name: String,
        /// The names that are registered.
        registered: Vec<String>,
    },
    /// A strategy name must not be empty.
    #[error("a key strategy name must not be empty")]
    EmptyName,
}

/// An unknown hash algorithm name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hash algorithm `{name}`; expected one of: sha256, sha384, sha512")]
pub struct UnknownAlgorithm {
    /// The name given.
    pub name: String,
}
