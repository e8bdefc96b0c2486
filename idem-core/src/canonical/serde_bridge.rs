//! [`SerdeCanonical`]: any `T: Serialize` as part of a key, through `serde_json::Value`.

use serde::Serialize;

use super::{Canonical, CanonicalWriter, Presence, serde_value};
use crate::error::EncodeError;

/// Encodes a `Serialize` value through serde: the value is first turned into a
/// `serde_json::Value`, then written canonically. This costs an allocation per value; the
/// derive uses it for fields marked `#[idem(serde)]`.
///
/// The `Value` is the one `serde_json::to_value` builds, with its silent losses refused: NaN
/// and the infinities are [`EncodeError::NonFiniteNumber`] (serde_json writes `null`), two map
/// keys that serialize to the same string are [`EncodeError::DuplicateMember`] (serde_json
/// keeps the last), and a value nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH) is
/// [`EncodeError::TooDeep`] before serde's recursion can exhaust the stack.
///
/// ```
/// use idem::canonical::{Canonical, SerdeCanonical};
///
/// #[derive(serde::Serialize)]
/// struct Address { zip: &'static str, city: &'static str }
///
/// let bytes = SerdeCanonical(&Address { zip: "75001", city: "Paris" }).to_canonical_vec().unwrap();
/// assert_eq!(bytes, br#"{"city":"Paris","zip":"75001"}"#);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SerdeCanonical<'a, T: ?Sized>(pub &'a T);

impl<T: Serialize + ?Sized> SerdeCanonical<'_, T> {
    /// The value, as one that sits inside `depth` open arrays and objects.
    fn to_value(&self, depth: usize) -> Result<serde_json::Value, EncodeError> {
        serde_value::to_value(self.0, depth)
    }
}

impl<T: Serialize + ?Sized> Canonical for SerdeCanonical<'_, T> {
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.check_depth()?;
        self.to_value(w.depth())?.write_canonical(w)
    }

    fn presence(&self) -> Presence {
        self.to_value(0)
            .map_or(Presence::Present, |value| value.presence())
    }
}
