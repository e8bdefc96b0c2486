//! [`BuiltinStrategy`]: the built-in strategies by name and settings, as one value.

use std::sync::Arc;

use super::{DefaultStrategy, FieldsStrategy, HashStrategy, KeyStrategy};
use crate::envelope::Layout;
use crate::key::{Algorithm, Window};

/// A built-in strategy with its settings: what `#[idem(strategy = "...")]` names, what the
/// `idem key --strategy` command builds, and what a new [`Registry`](super::Registry) holds.
///
/// ```
/// use idem::key::Algorithm;
/// use idem::strategy::BuiltinStrategy;
///
/// let hash = BuiltinStrategy::from_name("hash").unwrap();
/// assert_eq!(
///     hash,
///     BuiltinStrategy::Hash { algorithm: Algorithm::Sha256, include_user: true, include_session: false }
/// );
/// assert_eq!(hash.name(), "hash");
/// assert_eq!(BuiltinStrategy::from_name("custom"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinStrategy {
    /// `"default"`: key fields if any, else all fields; tenant, user and session; SHA-256.
    Default,
    /// `"fields"`: the key fields only (at least one); tenant; SHA-256.
    Fields,
    /// `"hash"`: key fields if any, else all fields; tenant, and user and session as chosen.
    Hash {
        /// The digest.
        algorithm: Algorithm,
        /// Whether the user id takes part.
        include_user: bool,
        /// Whether the session id takes part.
        include_session: bool,
    },
}

impl BuiltinStrategy {
    /// The names of the built-in strategies.
    pub const NAMES: [&'static str; 3] = ["default", "fields", "hash"];

    /// The strategy named `name`, with its default settings (`hash`: SHA-256, user on, session
    /// off); `None` for a name that is not built in.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "default" => Some(Self::Default),
            "fields" => Some(Self::Fields),
            "hash" => Some(Self::Hash {
                algorithm: Algorithm::Sha256,
                include_user: true,
                include_session: false,
            }),
            _ => None,
        }
    }

    /// The strategy's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Fields => "fields",
            Self::Hash { .. } => "hash",
        }
    }

    /// The strategy as a run-time value, with a time window when one is given.
    pub fn into_strategy(self, window: Option<Window>) -> Arc<dyn KeyStrategy> {
        /// `strategy`, with `window` when there is one.
        fn windowed<S: KeyStrategy + 'static>(
            strategy: S,
            window: Option<Window>,
            with_window: fn(S, Window) -> S,
        ) -> Arc<dyn KeyStrategy> {
            Arc::new(match window {
                Some(window) => with_window(strategy, window),
                None => strategy,
            })
        }
        match self {
            Self::Default => windowed(DefaultStrategy::new(), window, DefaultStrategy::with_window),
            Self::Fields => windowed(FieldsStrategy::new(), window, FieldsStrategy::with_window),
            Self::Hash {
                algorithm,
                include_user,
                include_session,
            } => {
                let strategy = HashStrategy::new()
                    .algorithm(algorithm)
                    .include_user(include_user)
                    .include_session(include_session);
                windowed(strategy, window, HashStrategy::with_window)
            }
        }
    }

    /// The envelope of key format v1 this strategy hashes.
    pub(crate) const fn layout(&self) -> Layout {
        match *self {
            Self::Default => Layout::DEFAULT,
            Self::Fields => Layout::FIELDS,
            Self::Hash {
                algorithm,
                include_user,
                include_session,
            } => Layout::hash(algorithm, include_user, include_session),
        }
    }
}
