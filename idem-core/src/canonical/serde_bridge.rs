//! [`SerdeCanonical`]: any `T: Serialize` as part of a key, through `serde_json::Value`.

use serde::Serialize;

use super::{Canonical, CanonicalWriter, Presence};
use crate::error::EncodeError;

/// Encodes a `Serialize` value through serde: the value is first turned into a
/// `serde_json::Value`, then written canonically. This costs an allocation per value; the
/// derive uses it for fields marked `#[idem(serde)]`.
///
/// ```
/// use idem_core::canonical::{Canonical, SerdeCanonical};
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
    fn to_value(&self) -> Result<serde_json::Value, EncodeError> {
        serde_json::to_value(self.0).map_err(|e| EncodeError::Serde(e.to_string()))
    }
}

impl<T: Serialize + ?Sized> Canonical for SerdeCanonical<'_, T> {
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        self.to_value()?.write_canonical(w)
    }

    fn presence(&self) -> Presence {
        self.to_value()
            .map_or(Presence::Present, |value| value.presence())
    }
}
