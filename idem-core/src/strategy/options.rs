//! [`KeyOptions`] and [`KeyFields`]: what a key computation may change at run time.

use crate::clock::{Clock, SystemClock};
use crate::context::Context;
use crate::key::Arguments;

use super::{KeyInput, Registry};

/// Options for one key computation; [`KeyOptions::new`] is the system clock, the declared key
/// fields and the global registry.
#[derive(Debug, Clone, Copy)]
pub struct KeyOptions<'a> {
    pub(crate) tool: Option<&'a str>,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) key_fields: Option<&'a KeyFields>,
    pub(crate) registry: &'a Registry,
}

impl Default for KeyOptions<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> KeyOptions<'a> {
    /// The system clock, the declared key fields, the global registry.
    pub fn new() -> Self {
        Self {
            tool: None,
            clock: &SystemClock,
            key_fields: None,
            registry: Registry::global(),
        }
    }

    /// Uses this tool id instead of the declared one (a spec may rename a tool).
    #[must_use]
    pub fn with_tool(mut self, tool: &'a str) -> Self {
        self.tool = Some(tool);
        self
    }

    /// Reads time (windows, and [`KeyInput::now`] for generators) from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: &'a dyn Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock these options read.
    pub fn clock(&self) -> &'a dyn Clock {
        self.clock
    }

    /// The call of `tool` with `args` by `context` as a run-time strategy or a `key_with`
    /// function sees it: these options' key fields and clock.
    pub(crate) fn call<'b>(
        &self,
        tool: &'b str,
        args: &'b dyn Arguments,
        context: &'b Context,
    ) -> KeyInput<'b>
    where
        'a: 'b,
    {
        let input = KeyInput::new(tool, args, context).with_clock(self.clock);
        match self.key_fields {
            Some(fields) => input.with_key_fields(fields.as_slice()),
            None => input,
        }
    }

    /// Uses these key fields instead of the declared ones.
    #[must_use]
    pub fn with_key_fields(mut self, key_fields: &'a KeyFields) -> Self {
        self.key_fields = Some(key_fields);
        self
    }

    /// Looks generators up in `registry`.
    #[must_use]
    pub fn with_registry(mut self, registry: &'a Registry) -> Self {
        self.registry = registry;
        self
    }
}

/// Key fields chosen at run time (the design document's `spec.idempotency.key_fields`), checked
/// against the argument type when they are built rather than at the first call.
///
/// ```
/// use idem::strategy::KeyFields;
///
/// let fields = KeyFields::unchecked(["email"]);
/// assert_eq!(fields.as_slice(), ["email"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyFields {
    names: Vec<String>,
}

impl KeyFields {
    /// Key fields for arguments that have no Rust type (JSON): checked at each call instead.
    pub fn unchecked(names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let mut names: Vec<String> = names.into_iter().map(Into::into).collect();
        names.sort_unstable();
        names.dedup();
        Self { names }
    }

    /// The names.
    pub fn as_slice(&self) -> &[String] {
        &self.names
    }

    /// Whether no field is named.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
