//! [`HashStrategy`]: a chosen digest and a chosen context.

use super::default::{envelope_bytes, envelope_key};
use super::{KeyInput, KeyStrategy};
use crate::envelope::Layout;
use crate::error::KeyError;
use crate::key::Window;
use crate::key::{Algorithm, IdempotencyKey};

/// The hash-based strategy: like the default one, with a chosen algorithm (SHA-256, SHA-384,
/// SHA-512) and a choice of whether the user and the session take part. Defaults: SHA-256, user
/// on, session off.
///
/// With SHA-256 and both contexts on it gives the same key as [`DefaultStrategy`](super::DefaultStrategy).
///
/// ```
/// use idem::Context;
/// use idem::key::{Algorithm, JsonArgs};
/// use idem::strategy::{HashStrategy, KeyInput, KeyStrategy};
/// use serde_json::json;
///
/// let args = json!({"transaction_id": "t-1", "amount": 99.5});
/// let args = JsonArgs::new(&args).unwrap();
/// let ctx = Context::new().with_user("alice").with_session("s-1");
/// let strategy = HashStrategy::new().algorithm(Algorithm::Sha512).include_session(false);
/// let key = strategy.key(&KeyInput::new("secure-payment-v1", &args, &ctx)).unwrap();
/// assert_eq!(key.as_str().len(), 128);
/// ```
#[derive(Debug, Clone)]
pub struct HashStrategy {
    algorithm: Algorithm,
    include_user: bool,
    include_session: bool,
    window: Option<Window>,
}

impl Default for HashStrategy {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha256,
            include_user: true,
            include_session: false,
            window: None,
        }
    }
}

impl HashStrategy {
    /// SHA-256, user on, session off, no window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the digest.
    #[must_use]
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Whether the user id takes part (`"user"` in the envelope).
    #[must_use]
    pub fn include_user(mut self, include: bool) -> Self {
        self.include_user = include;
        self
    }

    /// Whether the session id takes part (`"session"` in the envelope).
    #[must_use]
    pub fn include_session(mut self, include: bool) -> Self {
        self.include_session = include;
        self
    }

    /// Adds a time window.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = Some(window);
        self
    }

    fn layout(&self) -> Layout {
        Layout::hash(self.algorithm, self.include_user, self.include_session)
    }
}

impl KeyStrategy for HashStrategy {
    fn key(&self, input: &KeyInput<'_>) -> Result<IdempotencyKey, KeyError> {
        envelope_key(input, self.window.as_ref(), &self.layout())
    }

    fn canonical_bytes(&self, input: &KeyInput<'_>) -> Option<Result<Vec<u8>, KeyError>> {
        Some(envelope_bytes(input, self.window.as_ref(), &self.layout()))
    }
}
