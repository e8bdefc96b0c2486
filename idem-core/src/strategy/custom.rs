//! [`CustomStrategy`]: your own function decides the key.

use std::fmt;
use std::sync::Arc;

use super::{KeyInput, KeyStrategy};
use crate::error::{BoxError, KeyError};
use crate::key::IdempotencyKey;

type KeyFn = dyn Fn(&KeyInput<'_>) -> Result<String, BoxError> + Send + Sync;

/// A strategy whose key is the string your function returns, used as it is once it passes the
/// rules of key format v1 (1 to 255 bytes, no control characters).
///
/// A function that puts time in its keys reads [`KeyInput::now`]: the clock of the call, which
/// is the executor's ([`Executor::with_clock`](crate::executor::Executor::with_clock)), so that a
/// test clock governs it as it governs the built-in windows.
///
/// ```
/// use idem::Context;
/// use idem::key::JsonArgs;
/// use idem::strategy::{CustomStrategy, KeyInput, KeyStrategy};
/// use serde_json::json;
///
/// // The design document's geographic partitioning.
/// let geo = CustomStrategy::new(|input| {
///     let region = input.arg_str("region").unwrap_or_else(|| "default".into());
///     let user = input.context().user_id().unwrap_or("anonymous");
///     let order = input.arg_str("order_id").unwrap_or_default();
///     Ok(format!("{}:{region}:{user}:{order}", input.tool()))
/// });
/// let args = json!({"order_id": "o-9", "region": "us-west"});
/// let args = JsonArgs::new(&args).unwrap();
/// let ctx = Context::new().with_user("alice");
/// let key = geo.key(&KeyInput::new("geo-distributed-v1", &args, &ctx)).unwrap();
/// assert_eq!(key.as_str(), "geo-distributed-v1:us-west:alice:o-9");
/// ```
#[derive(Clone)]
pub struct CustomStrategy {
    f: Arc<KeyFn>,
}

impl CustomStrategy {
    /// A strategy calling `f` for every key. `f` may fail (an external id service that is down):
    /// its error comes back as [`KeyError::Custom`].
    pub fn new<F>(f: F) -> Self
    where
        F: Fn(&KeyInput<'_>) -> Result<String, BoxError> + Send + Sync + 'static,
    {
        Self { f: Arc::new(f) }
    }
}

impl KeyStrategy for CustomStrategy {
    fn key(&self, input: &KeyInput<'_>) -> Result<IdempotencyKey, KeyError> {
        let key = (self.f)(input).map_err(|source| KeyError::Custom {
            tool: input.tool().to_owned(),
            source,
        })?;
        IdempotencyKey::custom(key)
    }
}

impl fmt::Debug for CustomStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomStrategy").finish_non_exhaustive()
    }
}
