//! [`FieldsStrategy`]: the tool id and the key fields, nothing else.

use super::default::{envelope_bytes, envelope_key};
use super::{KeyInput, KeyStrategy};
use crate::envelope::Layout;
use crate::error::KeyError;
use crate::key::IdempotencyKey;
use crate::key::Window;

/// The field-based strategy: SHA-256 of the tool id, the tenant (when there is one) and the key
/// fields only. User and session do not take part: the same transaction id is the same payment,
/// whoever retries it.
///
/// A call with no key field is an error, and so is a key field that is missing, null or empty.
///
/// ```
/// use idem::Context;
/// use idem::key::JsonArgs;
/// use idem::strategy::{FieldsStrategy, KeyInput, KeyStrategy};
/// use serde_json::json;
///
/// let fields = ["order_id".to_owned()];
/// let ctx = Context::new();
/// let key = |args: serde_json::Value| {
///     let args = JsonArgs::new(&args).unwrap();
///     FieldsStrategy::new().key(&KeyInput::new("order-fulfillment-v1", &args, &ctx).with_key_fields(&fields))
/// };
/// let a = key(json!({"order_id": "o-1", "warehouse_id": "w-1"})).unwrap();
/// let b = key(json!({"order_id": "o-1", "warehouse_id": "w-2"})).unwrap();
/// assert_eq!(a, b);
/// assert!(key(json!({"order_id": ""})).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct FieldsStrategy {
    window: Option<Window>,
}

impl FieldsStrategy {
    /// The field-based strategy, with no time window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a time window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = Some(window);
        self
    }
}

impl KeyStrategy for FieldsStrategy {
    fn key(&self, input: &KeyInput<'_>) -> Result<IdempotencyKey, KeyError> {
        envelope_key(input, self.window.as_ref(), &Layout::FIELDS)
    }

    fn canonical_bytes(&self, input: &KeyInput<'_>) -> Option<Result<Vec<u8>, KeyError>> {
        Some(envelope_bytes(input, self.window.as_ref(), &Layout::FIELDS))
    }
}
