//! [`KeyDeclaration`]: what `#[derive(Idempotent)]` settles about keys, and how it makes the key
//! of one call.

use std::fmt;
use std::sync::Arc;

use crate::context::Context;
use crate::envelope::{Envelope, Layout};
use crate::error::{BoxError, KeyError};
use crate::key::{Arguments, IdempotencyKey, window_start};
use crate::strategy::{BuiltinStrategy, KeyFields, KeyInput, KeyOptions, KeyStrategy};

/// The strategy a type declares.
pub enum DeclaredStrategy<T> {
    /// `strategy = "default" | "fields" | "hash"` and the hash strategy's settings.
    Builtin(BuiltinStrategy),
    /// `strategy = "custom", key_with = path::to::fn`: the function, called with the arguments
    /// and the call (tool id, context, key fields, clock).
    Custom(fn(&T, &KeyInput<'_>) -> Result<String, BoxError>),
    /// `generator = "name"`: looked up in the registry at run time.
    Generator(&'static str),
}

impl<T> fmt::Debug for DeclaredStrategy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeclaredStrategy::Builtin(builtin) => f.debug_tuple("Builtin").field(builtin).finish(),
            DeclaredStrategy::Custom(_) => f.write_str("Custom"),
            DeclaredStrategy::Generator(name) => f.debug_tuple("Generator").field(name).finish(),
        }
    }
}

/// Everything `#[derive(Idempotent)]` settles at compile time.
#[derive(Debug)]
pub struct KeyDeclaration<T> {
    /// The tool id (`tool = "..."`).
    pub tool: &'static str,
    /// The strategy.
    pub strategy: DeclaredStrategy<T>,
    /// The time window in seconds (`window = "1m"`), for the built-in strategies.
    pub window_seconds: Option<u64>,
    /// The serialized names of the fields that take part, in canonical order.
    pub fields: &'static [&'static str],
    /// The serialized names of the declared key fields, in canonical order.
    pub key_fields: &'static [&'static str],
}

impl<T: Arguments> KeyDeclaration<T> {
    /// The key of `args` called by `context`.
    ///
    /// # Errors
    /// A [`KeyError`] naming the field or rule at fault.
    pub fn key(
        &self,
        args: &T,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError> {
        match self.plan(args, context, options)? {
            Plan::Envelope(envelope, layout) => envelope.key(&layout),
            Plan::Custom(f, input) => {
                let key = f(args, &input).map_err(|source| KeyError::Custom {
                    tool: input.tool().to_owned(),
                    source,
                })?;
                IdempotencyKey::custom(key)
            }
            Plan::Strategy(strategy, input) => strategy.key(&input),
        }
    }

    /// The canonical bytes [`key`](KeyDeclaration::key) is the digest of; `None` for a custom
    /// key (and a generator's strategy that hashes no envelope), whose key is the string itself.
    pub fn canonical_bytes(
        &self,
        args: &T,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Option<Result<Vec<u8>, KeyError>> {
        match self.plan(args, context, options) {
            Ok(Plan::Envelope(envelope, layout)) => Some(envelope.canonical_bytes(&layout)),
            Ok(Plan::Custom(..)) => None,
            Ok(Plan::Strategy(strategy, input)) => strategy.canonical_bytes(&input),
            Err(err) => Some(Err(err)),
        }
    }

    /// How the key of this call is made.
    fn plan<'a>(
        &self,
        args: &'a T,
        context: &'a Context,
        options: &KeyOptions<'a>,
    ) -> Result<Plan<'a, T>, KeyError> {
        let key_fields = options.key_fields.map(KeyFields::as_slice);
        let tool = options.tool.unwrap_or(self.tool);
        // The call as a run-time strategy or a `key_with` function sees it.
        let input = || options.call(tool, args, context);
        let layout = match &self.strategy {
            DeclaredStrategy::Builtin(builtin) => builtin.layout(),
            DeclaredStrategy::Custom(f) => return Ok(Plan::Custom(*f, input())),
            DeclaredStrategy::Generator(name) => {
                return Ok(Plan::Strategy(options.registry.get(name)?, input()));
            }
        };
        let window = self
            .window_seconds
            .map(|seconds| window_start(seconds, options.clock))
            .transpose()?;
        let envelope = Envelope {
            tool,
            args,
            context,
            key_fields,
            window,
        };
        Ok(Plan::Envelope(envelope, layout))
    }
}

/// How a [`KeyDeclaration`] makes the key of one call.
enum Plan<'a, T> {
    /// A built-in strategy: the digest of this envelope.
    Envelope(Envelope<'a, T>, Layout),
    /// `key_with`: the function's string.
    Custom(
        fn(&T, &KeyInput<'_>) -> Result<String, BoxError>,
        KeyInput<'a>,
    ),
    /// `generator`: the registered strategy.
    Strategy(Arc<dyn KeyStrategy>, KeyInput<'a>),
}
