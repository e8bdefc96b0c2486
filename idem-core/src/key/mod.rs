//! The key model of key format v1 (`docs/key-format.md`): the [`IdempotencyKey`], the digest
//! [`Algorithm`]s and the [`KeyHasher`] that digests canonical bytes, the [`Arguments`] a key is
//! made of (from a derived struct, or JSON: [`JsonArgs`]), time [`Window`]s, and what can go
//! wrong ([`KeyError`], [`EncodeError`]).
//!
//! ```
//! use idem::Context;
//! use idem::key::JsonArgs;
//! use idem::strategy::{HashStrategy, KeyInput, KeyStrategy};
//! use serde_json::json;
//!
//! let args = json!({"endpoint": "/data", "page": 2});
//! let args = JsonArgs::new(&args)?;
//! let ctx = Context::new().with_user("alice").with_session("s-7");
//! let key = HashStrategy::new().key(&KeyInput::new("api-call-v1", &args, &ctx))?;
//! assert_eq!(key.as_str().len(), 64);
//! # Ok::<(), idem::KeyError>(())
//! ```

mod algorithm;
pub(crate) mod arguments;
pub(crate) mod explanation;
mod hasher;
mod window;

pub use crate::error::{BoxError, EncodeError, KeyError, UnknownAlgorithm};
pub use algorithm::Algorithm;
pub use arguments::{Arguments, JsonArgs, parse_json_arguments};
pub use explanation::KeyExplanation;
pub use hasher::KeyHasher;
pub use window::Window;
pub(crate) use window::window_start;

use std::fmt;
use std::hash::{Hash, Hasher};

/// The longest hex digest: SHA-512, 128 characters.
const MAX_HEX: usize = 128;

/// The longest custom key, in bytes.
pub const MAX_CUSTOM_KEY_LEN: usize = 255;

/// An idempotency key: the lowercase hex digest of a call's canonical envelope, or the string a
/// custom strategy returned.
///
/// A hashed key lives inline (no heap allocation). Keys compare, hash and print as their
/// string form.
///
/// ```
/// use idem::IdempotencyKey;
///
/// let key = IdempotencyKey::custom("timed-operation-v1:alice:req-1:2026-11-27-10-31").unwrap();
/// assert_eq!(key.as_str(), "timed-operation-v1:alice:req-1:2026-11-27-10-31");
/// assert!(IdempotencyKey::custom("").is_err());
/// ```
#[derive(Clone)]
pub struct IdempotencyKey(Repr);

#[derive(Clone)]
enum Repr {
    Digest { len: u8, hex: [u8; MAX_HEX] },
    Custom(Box<str>),
}

impl IdempotencyKey {
    /// The key of a digest: its lowercase hex form.
    pub(crate) fn from_digest(digest: &[u8]) -> Self {
        let mut hex = [0u8; MAX_HEX];
        let len = digest.len() * 2;
        debug_assert!(len <= MAX_HEX);
        // Cannot fail: the buffer is large enough for every supported digest.
        let _ = ::hex::encode_to_slice(digest, &mut hex[..len]);
        IdempotencyKey(Repr::Digest {
            len: len as u8,
            hex,
        })
    }

    /// A key chosen by a custom strategy, checked against the rules of key format v1: 1 to 255
    /// bytes, no control characters.
    ///
    /// # Errors
    /// [`KeyError::InvalidCustomKey`] naming the rule the key breaks.
    pub fn custom(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        let reason = if key.is_empty() {
            Some("a key must not be empty")
        } else if key.len() > MAX_CUSTOM_KEY_LEN {
            Some("a key must be at most 255 bytes long")
        } else if key.chars().any(char::is_control) {
            Some("a key must not contain control characters")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(KeyError::InvalidCustomKey {
                key: key.chars().take(64).collect(),
                reason,
            }),
            None => Ok(IdempotencyKey(Repr::Custom(key.into_boxed_str()))),
        }
    }

    /// Reads a key back from its string form, as a store keeps it.
    ///
    /// # Errors
    /// As [`IdempotencyKey::custom`]: the string must be a valid key.
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        let is_digest = matches!(key.len(), 64 | 96 | 128)
            && key
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if is_digest {
            let mut hex = [0u8; MAX_HEX];
            hex[..key.len()].copy_from_slice(key.as_bytes());
            return Ok(IdempotencyKey(Repr::Digest {
                len: key.len() as u8,
                hex,
            }));
        }
        Self::custom(key)
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ASCII hex digits are ever written to the buffer.
            Repr::Digest { len, hex } => {
                std::str::from_utf8(&hex[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Custom(key) => key,
        }
    }

    /// Whether the key is a digest (as opposed to a custom key).
    pub fn is_digest(&self) -> bool {
        matches!(self.0, Repr::Digest { .. })
    }
}

impl PartialEq for IdempotencyKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for IdempotencyKey {}

impl Hash for IdempotencyKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for IdempotencyKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdempotencyKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey")
            .field(&self.as_str())
            .finish()
    }
}

impl serde::Serialize for IdempotencyKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for IdempotencyKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        IdempotencyKey::parse(&s).map_err(serde::de::Error::custom)
    }
}
