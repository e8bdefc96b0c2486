//! [`KeyInput`]: everything a strategy may look at for one call.

use std::time::SystemTime;

use serde_json::Value;

use crate::clock::{Clock, SystemClock};
use crate::context::Context;
use crate::envelope::Envelope;
use crate::error::KeyError;
use crate::key::Arguments;

/// One call as a strategy sees it: the tool id, the arguments, the caller's context, the key
/// fields configured at run time (the design document's `spec.idempotency.key_fields`) and the
/// clock of the call (the system clock, or the executor's).
#[derive(Clone, Copy)]
pub struct KeyInput<'a> {
    tool: &'a str,
    args: &'a dyn Arguments,
    context: &'a Context,
    key_fields: Option<&'a [String]>,
    clock: &'a dyn Clock,
}

impl<'a> KeyInput<'a> {
    /// A call of `tool` with `args` by `context`, with the key fields the arguments declare, on
    /// the system clock.
    pub fn new(tool: &'a str, args: &'a dyn Arguments, context: &'a Context) -> Self {
        Self {
            tool,
            args,
            context,
            key_fields: None,
            clock: &SystemClock,
        }
    }

    /// Reads time from `clock`: the windows of the built-in strategies (unless a window has a
    /// clock of its own) and [`KeyInput::now`]. The executor passes its own clock
    /// ([`Executor::with_clock`](crate::executor::Executor::with_clock)).
    #[must_use]
    pub fn with_clock(mut self, clock: &'a dyn Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Uses these key fields instead of the declared ones (an empty list keeps the declared
    /// ones).
    #[must_use]
    pub fn with_key_fields(mut self, key_fields: &'a [String]) -> Self {
        self.key_fields = Some(key_fields);
        self
    }

    /// The tool id.
    pub fn tool(&self) -> &'a str {
        self.tool
    }

    /// The arguments.
    pub fn args(&self) -> &'a dyn Arguments {
        self.args
    }

    /// The caller's context.
    pub fn context(&self) -> &'a Context {
        self.context
    }

    /// The key fields configured at run time, if any.
    pub fn key_fields(&self) -> Option<&'a [String]> {
        self.key_fields
    }

    /// The clock of the call.
    pub fn clock(&self) -> &'a dyn Clock {
        self.clock
    }

    /// The time of the call on its clock: what a [`CustomStrategy`](super::CustomStrategy)
    /// that puts time in its keys should read, so that a test clock governs it too.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The value of an argument as JSON, `None` when there is no such argument.
    ///
    /// # Errors
    /// When the argument has no canonical form.
    pub fn arg(&self, name: &str) -> Result<Option<Value>, KeyError> {
        self.args.field_json(name)
    }

    /// The value of an argument when it is a string (`None` otherwise), as the design document's
    /// `args.get('region')` reads it.
    pub fn arg_str(&self, name: &str) -> Option<String> {
        match self.arg(name) {
            Ok(Some(Value::String(s))) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn envelope(&self, window: Option<u64>) -> Envelope<'a, dyn Arguments + 'a> {
        Envelope {
            tool: self.tool,
            args: self.args,
            context: self.context,
            key_fields: self.key_fields,
            window,
        }
    }
}

impl std::fmt::Debug for KeyInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyInput")
            .field("tool", &self.tool)
            .field("context", &self.context)
            .field("key_fields", &self.key_fields)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}
