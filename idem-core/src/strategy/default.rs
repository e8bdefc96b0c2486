//! [`DefaultStrategy`]: tool id, user, session and all arguments.

use super::{KeyInput, KeyStrategy};
use crate::envelope::Layout;
use crate::error::KeyError;
use crate::key::IdempotencyKey;
use crate::key::Window;

/// The default strategy: SHA-256 of the tool id, the tenant, the user and session ids (null when
/// absent) and all arguments, or only the key fields when some are configured (the design
/// document's migration promise: a tool with `key_fields` and no generator keeps its keys).
///
/// A tool with no strategy configured uses this one.
///
/// ```
/// use idem::Context;
/// use idem::key::JsonArgs;
/// use idem::strategy::{DefaultStrategy, KeyInput, KeyStrategy};
/// use serde_json::json;
///
/// let args = json!({"query": "weather in Paris"});
/// let args = JsonArgs::new(&args).unwrap();
/// let alice = Context::new().with_user("alice").with_session("s-1");
/// let bob = Context::new().with_user("bob").with_session("s-1");
/// let strategy = DefaultStrategy::new();
/// let a = strategy.key(&KeyInput::new("search-v1", &args, &alice)).unwrap();
/// let b = strategy.key(&KeyInput::new("search-v1", &args, &bob)).unwrap();
/// assert_ne!(a, b);
/// ```
#[derive(Debug, Clone, Default)]
pub struct DefaultStrategy {
    window: Option<Window>,
}

impl DefaultStrategy {
    /// The default strategy, with no time window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a time window: the same call in another window gets another key.
    #[must_use]
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = Some(window);
        self
    }
}

impl KeyStrategy for DefaultStrategy {
    fn key(&self, input: &KeyInput<'_>) -> Result<IdempotencyKey, KeyError> {
        envelope_key(input, self.window.as_ref(), &Layout::DEFAULT)
    }

    fn canonical_bytes(&self, input: &KeyInput<'_>) -> Option<Result<Vec<u8>, KeyError>> {
        Some(envelope_bytes(
            input,
            self.window.as_ref(),
            &Layout::DEFAULT,
        ))
    }
}

/// The key of the envelope of `input` with this layout, in the current window if there is one:
/// what the three built-in strategies share.
pub(super) fn envelope_key(
    input: &KeyInput<'_>,
    window: Option<&Window>,
    layout: &Layout,
) -> Result<IdempotencyKey, KeyError> {
    let start = window.map(|w| w.start_on(input.clock())).transpose()?;
    input.envelope(start).key(layout)
}

/// The canonical bytes [`envelope_key`] hashes.
pub(super) fn envelope_bytes(
    input: &KeyInput<'_>,
    window: Option<&Window>,
    layout: &Layout,
) -> Result<Vec<u8>, KeyError> {
    let start = window.map(|w| w.start_on(input.clock())).transpose()?;
    input.envelope(start).canonical_bytes(layout)
}
