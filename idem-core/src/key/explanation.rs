//! [`KeyExplanation`]: a key and the canonical bytes it is the digest of.

use std::fmt;
use std::time::SystemTime;

use super::IdempotencyKey;
use crate::clock::Clock;

/// A call's key and what it was made from: for reading why two calls share a key, or do not.
///
/// For a built-in strategy, [`canonical`](KeyExplanation::canonical) is the canonical JSON
/// envelope of key format v1 (arguments, tool id, the context that takes part, window, version)
/// and the key is its digest; for a custom key there is no envelope, the key is the string
/// itself.
///
/// ```
/// use idem::executor::ToolInput;
/// use idem::spec::{IdempotencyConfig, ToolSpec};
/// use idem::Context;
/// use idem::strategy::{FieldsStrategy, KeyOptions};
/// use serde_json::json;
///
/// let spec = ToolSpec::function("payment-processor-v1", "process_payment")
///     .idempotency(IdempotencyConfig::new().key_fields(["transaction_id"]))
///     .generator(FieldsStrategy::new())
///     .build()?;
/// let args = json!({"transaction_id": "txn-1", "amount": 10.5});
/// let ctx = Context::new();
/// let why = args.explain_key(&spec, &ctx, &KeyOptions::new())?;
/// assert_eq!(
///     why.canonical(),
///     Some(r#"{"args":{"transaction_id":"txn-1"},"tool":"payment-processor-v1","v":1}"#)
/// );
/// assert_eq!(why.key(), &args.idempotency_key(&spec, &ctx, &KeyOptions::new())?);
/// println!("{why}"); // the envelope, then the key
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExplanation {
    key: IdempotencyKey,
    canonical: Option<String>,
}

impl KeyExplanation {
    /// `key`, made from the canonical bytes `canonical` (none for a custom key).
    pub(crate) fn new(key: IdempotencyKey, canonical: Option<Vec<u8>>) -> Self {
        // Canonical JSON is UTF-8 by construction.
        let canonical = canonical.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        Self { key, canonical }
    }

    /// The key.
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    /// The canonical envelope the key is the digest of; `None` for a custom key.
    pub fn canonical(&self) -> Option<&str> {
        self.canonical.as_deref()
    }

    /// The key, dropping the rest.
    pub fn into_key(self) -> IdempotencyKey {
        self.key
    }
}

/// The envelope on one line (when there is one), then the key on the next.
impl fmt::Display for KeyExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(canonical) = &self.canonical {
            writeln!(f, "{canonical}")?;
        }
        f.write_str(self.key.as_str())
    }
}

/// A clock stopped at one reading, so that a key and its explanation see the same time (a window
/// boundary could fall between two readings).
#[derive(Debug)]
pub(crate) struct Stopped(pub(crate) SystemTime);

impl Clock for Stopped {
    fn now(&self) -> SystemTime {
        self.0
    }
}
