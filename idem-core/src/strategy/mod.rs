//! The key strategies of the design document as runtime values, behind one trait.
//!
//! | strategy | selected arguments | context in the key | digest |
//! |---|---|---|---|
//! | [`DefaultStrategy`] | key fields if any, else all | tenant, user, session | SHA-256 |
//! | [`FieldsStrategy`] | key fields (required) | tenant | SHA-256 |
//! | [`HashStrategy`] | key fields if any, else all | tenant, user and session as configured | SHA-256/384/512 |
//! | [`CustomStrategy`] | your function decides | your function decides | none: your string |

mod builtin;
mod custom;
mod default;
mod fields;
mod hash;
mod input;
mod options;
mod registry;

pub use crate::error::RegistryError;
pub use builtin::BuiltinStrategy;
pub use custom::CustomStrategy;
pub use default::DefaultStrategy;
pub use fields::FieldsStrategy;
pub use hash::HashStrategy;
pub use input::KeyInput;
pub use options::{KeyFields, KeyOptions};
pub use registry::Registry;

use std::fmt;

use crate::error::KeyError;
use crate::key::IdempotencyKey;

/// A way to turn a call (tool, arguments, context) into an idempotency key.
///
/// Strategies are shared between threads and kept by name in a [`Registry`].
///
/// ```
/// use idem::Context;
/// use idem::key::JsonArgs;
/// use idem::strategy::{FieldsStrategy, KeyInput, KeyStrategy};
/// use serde_json::json;
///
/// let args = json!({"transaction_id": "txn-0001", "amount": 10.5});
/// let args = JsonArgs::new(&args).unwrap();
/// let key_fields = ["transaction_id".to_owned()];
/// let ctx = Context::new();
/// let input = KeyInput::new("payment-processor-v1", &args, &ctx).with_key_fields(&key_fields);
/// let key = FieldsStrategy::new().key(&input).unwrap();
/// assert_eq!(key.as_str().len(), 64);
/// ```
pub trait KeyStrategy: Send + Sync + fmt::Debug {
    /// The key of one call.
    ///
    /// # Errors
    /// When the arguments do not allow a key (a missing key field, a NaN, ...) or the strategy
    /// itself fails.
    fn key(&self, input: &KeyInput<'_>) -> Result<IdempotencyKey, KeyError>;

    /// The canonical bytes the key is the digest of, for strategies that hash an envelope.
    /// `None` for strategies that do not (custom ones).
    fn canonical_bytes(&self, input: &KeyInput<'_>) -> Option<Result<Vec<u8>, KeyError>> {
        let _ = input;
        None
    }
}

fn _object_safe(_: &dyn KeyStrategy) {}
