//! What `#[derive(Idempotent)]` implements: the [`Idempotent`] trait, and the declarations the
//! generated code fills in (reached by generated code through `__private`, not public API).

mod key_declaration;
mod tool_declaration;

pub use key_declaration::{DeclaredStrategy, KeyDeclaration};
pub use tool_declaration::{ParameterDeclaration, ToolDeclaration};

use crate::canonical::Canonical;
use crate::context::Context;
use crate::error::KeyError;
use crate::key::{Arguments, IdempotencyKey};
use crate::strategy::{KeyFields, KeyOptions};

/// A tool's argument type that knows its idempotency key.
///
/// Implement it with `#[derive(Idempotent)]`: the attributes become [`Idempotent::KEY`], and the
/// key is computed by streaming the canonical envelope straight into the hasher.
pub trait Idempotent: Arguments + Canonical + Sized {
    /// What the attributes declare about keys: tool id, strategy, window, fields.
    const KEY: KeyDeclaration<Self>;

    /// What the type declares about its tool: name, description, parameters, TTLs.
    const TOOL: ToolDeclaration;

    /// The key of a call with these arguments by `context`, as declared, on the system clock.
    ///
    /// # Errors
    /// A [`KeyError`] naming the field or rule at fault.
    fn idempotency_key(&self, context: &Context) -> Result<IdempotencyKey, KeyError> {
        Self::KEY.key(self, context, &KeyOptions::new())
    }

    /// The key with run-time options: another clock, key fields that override the declared ones,
    /// another registry.
    ///
    /// # Errors
    /// As [`Idempotent::idempotency_key`].
    fn idempotency_key_with(
        &self,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError> {
        Self::KEY.key(self, context, options)
    }
}

/// The key fields a derived type declares, checked when they are built.
impl KeyFields {
    /// Key fields for `T`, each checked to be one of its fields.
    ///
    /// # Errors
    /// [`KeyError::UnknownKeyField`] naming the field and listing the fields `T` has.
    pub fn for_type<T: Idempotent>(
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, KeyError> {
        let fields = Self::unchecked(names);
        for name in fields.as_slice() {
            if !T::KEY.fields.contains(&name.as_str()) {
                return Err(KeyError::UnknownKeyField {
                    field: name.clone(),
                    type_name: std::any::type_name::<T>(),
                    available: T::KEY.fields.to_vec(),
                });
            }
        }
        Ok(fields)
    }
}
