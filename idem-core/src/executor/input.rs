//! [`ToolInput`]: arguments the executor can key and fingerprint.

use serde_json::Value;

use crate::canonical::Canonical;
use crate::context::Context;
use crate::declared::Idempotent;
use crate::error::KeyError;
use crate::key::JsonArgs;
use crate::key::explanation::Stopped;
use crate::key::{Algorithm, IdempotencyKey, KeyExplanation, KeyHasher};
use crate::spec::ToolSpec;
use crate::strategy::KeyOptions;
use crate::strategy::{DefaultStrategy, KeyInput, KeyStrategy};

/// Arguments the executor accepts: a derived struct, or a JSON object for tools without a Rust
/// type.
pub trait ToolInput {
    /// The call's key under `spec`: the spec's strategy when it has one; otherwise the type's
    /// declared strategy (its generators from `options`' registry), or the default strategy for
    /// JSON. Every strategy reads time (windows, [`KeyInput::now`]) from `options`' clock.
    ///
    /// # Errors
    /// When no key can be computed.
    fn idempotency_key(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError>;

    /// SHA-256 (hex) of the canonical bytes of all the arguments, whatever the strategy selects:
    /// what tells a true retry from a reuse of the key with other arguments.
    ///
    /// # Errors
    /// When an argument has no canonical form.
    fn fingerprint(&self) -> Result<String, KeyError>;

    /// The canonical bytes [`idempotency_key`](ToolInput::idempotency_key) is the digest of, or
    /// `None` when the key is not a digest (a custom key). `None` by default.
    fn canonical_envelope(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Option<Result<Vec<u8>, KeyError>> {
        let _ = (spec, context, options);
        None
    }

    /// The key and the canonical envelope it is the digest of, read at one instant of `options`'
    /// clock (see [`KeyExplanation`]).
    ///
    /// # Errors
    /// As [`idempotency_key`](ToolInput::idempotency_key).
    fn explain_key(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<KeyExplanation, KeyError> {
        let stopped = Stopped(options.clock().now());
        let options = options.with_clock(&stopped);
        let key = self.idempotency_key(spec, context, &options)?;
        let canonical = self
            .canonical_envelope(spec, context, &options)
            .transpose()?;
        Ok(KeyExplanation::new(key, canonical))
    }
}

impl<T: Idempotent> ToolInput for T {
    fn idempotency_key(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError> {
        match keying(self, spec, context, options) {
            Keying::Strategy(strategy, input) => strategy.key(&input),
            Keying::Declared(options) => T::KEY.key(self, context, &options),
        }
    }

    fn fingerprint(&self) -> Result<String, KeyError> {
        fingerprint_of(self)
    }

    fn canonical_envelope(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Option<Result<Vec<u8>, KeyError>> {
        match keying(self, spec, context, options) {
            Keying::Strategy(strategy, input) => strategy.canonical_bytes(&input),
            Keying::Declared(options) => T::KEY.canonical_bytes(self, context, &options),
        }
    }
}

impl ToolInput for Value {
    fn idempotency_key(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError> {
        json_keying(self, spec, context, options, |strategy, input| {
            strategy.key(input)
        })?
    }

    fn fingerprint(&self) -> Result<String, KeyError> {
        fingerprint_of(self)
    }

    fn canonical_envelope(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Option<Result<Vec<u8>, KeyError>> {
        json_keying(self, spec, context, options, |strategy, input| {
            strategy.canonical_bytes(input)
        })
        .unwrap_or_else(|err| Some(Err(err)))
    }
}

/// How a spec keys a derived argument type's call.
enum Keying<'a> {
    /// The spec's own strategy, over this call.
    Strategy(&'a dyn KeyStrategy, KeyInput<'a>),
    /// The type's declared strategy, with these options (the spec's tool id and key fields).
    Declared(KeyOptions<'a>),
}

fn keying<'a, T: Idempotent>(
    args: &'a T,
    spec: &'a ToolSpec,
    context: &'a Context,
    options: &KeyOptions<'a>,
) -> Keying<'a> {
    let options = spec_options(spec, options);
    match spec.generator() {
        Some(strategy) => Keying::Strategy(&**strategy, options.call(spec.id(), args, context)),
        None => Keying::Declared(options),
    }
}

/// `f` over the strategy that keys JSON arguments under `spec` (its own, or the default one)
/// and the call.
fn json_keying<R>(
    args: &Value,
    spec: &ToolSpec,
    context: &Context,
    options: &KeyOptions<'_>,
    f: impl FnOnce(&dyn KeyStrategy, &KeyInput<'_>) -> R,
) -> Result<R, KeyError> {
    let args = JsonArgs::new(args)?;
    let default = DefaultStrategy::new();
    let strategy: &dyn KeyStrategy = spec.generator().map_or(&default, |s| &**s);
    let call = spec_options(spec, options).call(spec.id(), &args, context);
    Ok(f(strategy, &call))
}

/// `options` with the spec's tool id and the key fields it configures at run time.
fn spec_options<'a>(spec: &'a ToolSpec, options: &KeyOptions<'a>) -> KeyOptions<'a> {
    let options = options.with_tool(spec.id());
    match spec.key_fields() {
        Some(fields) => options.with_key_fields(fields),
        None => options,
    }
}

fn fingerprint_of(value: &(impl Canonical + ?Sized)) -> Result<String, KeyError> {
    let mut hasher = KeyHasher::new(Algorithm::Sha256);
    value
        .write_canonical(hasher.writer())
        .map_err(|source| KeyError::Encode {
            field: "(arguments)".to_owned(),
            source,
        })?;
    Ok(hasher.finish().as_str().to_owned())
}
