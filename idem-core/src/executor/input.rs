//! [`ToolInput`]: arguments the executor can key and fingerprint.

use serde_json::Value;

use crate::arguments::JsonArgs;
use crate::canonical::{Canonical, CanonicalWriter};
use crate::context::Context;
use crate::declared::{Idempotent, KeyOptions};
use crate::error::KeyError;
use crate::key::{Algorithm, IdempotencyKey};
use crate::spec::ToolSpec;
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
}

impl<T: Idempotent> ToolInput for T {
    fn idempotency_key(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError> {
        let key_fields = spec.key_fields();
        if let Some(strategy) = spec.generator() {
            let mut input = KeyInput::new(spec.id(), self, context).with_clock(options.get_clock());
            if let Some(fields) = key_fields {
                input = input.with_key_fields(fields.as_slice());
            }
            return strategy.key(&input);
        }
        let mut options = options.tool(spec.id());
        if let Some(fields) = key_fields {
            options = options.key_fields(fields);
        }
        T::KEY.key(self, context, &options)
    }

    fn fingerprint(&self) -> Result<String, KeyError> {
        fingerprint_of(self)
    }
}

impl ToolInput for Value {
    fn idempotency_key(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError> {
        let args = JsonArgs::new(self)?;
        let mut input = KeyInput::new(spec.id(), &args, context).with_clock(options.get_clock());
        if let Some(fields) = spec.key_fields() {
            input = input.with_key_fields(fields.as_slice());
        }
        match spec.generator() {
            Some(strategy) => strategy.key(&input),
            None => DefaultStrategy::new().key(&input),
        }
    }

    fn fingerprint(&self) -> Result<String, KeyError> {
        fingerprint_of(self)
    }
}

fn fingerprint_of(value: &(impl Canonical + ?Sized)) -> Result<String, KeyError> {
    let mut writer = CanonicalWriter::hasher(Algorithm::Sha256);
    value
        .write_canonical(&mut writer)
        .map_err(|source| KeyError::Encode {
            field: "(arguments)".to_owned(),
            source,
        })?;
    Ok(writer.finish().as_str().to_owned())
}
