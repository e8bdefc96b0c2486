//! [`Idempotent`]: the key function a type declares with `#[derive(Idempotent)]`.

use std::fmt;
use std::sync::Arc;

use crate::arguments::Arguments;
use crate::canonical::Canonical;
use crate::canonical::ParameterType;
use crate::clock::{Clock, SystemClock};
use crate::context::Context;
use crate::envelope::{Envelope, Layout};
use crate::error::{BoxError, KeyError};
use crate::key::{Algorithm, IdempotencyKey};
use crate::registry::Registry;
use crate::strategy::{KeyInput, KeyStrategy};
use crate::window::window_start;

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

/// The strategy a type declares.
pub enum DeclaredStrategy<T> {
    /// `strategy = "default"`.
    Default,
    /// `strategy = "fields"`.
    Fields,
    /// `strategy = "hash"`.
    Hash {
        /// `algorithm = "..."`.
        algorithm: Algorithm,
        /// `include_user = ...`.
        include_user: bool,
        /// `include_session = ...`.
        include_session: bool,
    },
    /// `strategy = "custom", key_with = path::to::fn`: the function, called with the arguments
    /// and the call (tool id, context, key fields, clock).
    Custom(fn(&T, &KeyInput<'_>) -> Result<String, BoxError>),
    /// `generator = "name"`: looked up in the registry at run time.
    Generator(&'static str),
}

impl<T> fmt::Debug for DeclaredStrategy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeclaredStrategy::Default => f.write_str("Default"),
            DeclaredStrategy::Fields => f.write_str("Fields"),
            DeclaredStrategy::Hash {
                algorithm,
                include_user,
                include_session,
            } => f
                .debug_struct("Hash")
                .field("algorithm", algorithm)
                .field("include_user", include_user)
                .field("include_session", include_session)
                .finish(),
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
            DeclaredStrategy::Default => Layout::DEFAULT,
            DeclaredStrategy::Fields => Layout::FIELDS,
            DeclaredStrategy::Hash {
                algorithm,
                include_user,
                include_session,
            } => Layout::hash(*algorithm, *include_user, *include_session),
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

/// What `#[derive(Idempotent)]` declares about the tool: what
/// [`ToolSpec::for_args`](crate::spec::ToolSpec::for_args) starts from.
#[derive(Debug, Clone, Copy)]
pub struct ToolDeclaration {
    /// The tool's name (`name = "..."`, or the struct's name in snake case).
    pub name: &'static str,
    /// The struct's doc comment.
    pub description: &'static str,
    /// Every serialized field, in declaration order (skipped ones too: they are still arguments).
    pub parameters: &'static [ParameterDeclaration],
    /// `ttl = "24h"`, in seconds.
    pub ttl_seconds: Option<u64>,
    /// `lease = "60s"`, in seconds.
    pub lease_seconds: Option<u64>,
    /// `persist_result = true | false`.
    pub persist_result: Option<bool>,
}

/// One field of a derived argument type, as a tool parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParameterDeclaration {
    /// The serialized name.
    pub name: &'static str,
    /// The JSON type.
    pub kind: ParameterType,
    /// Whether it is required (`Option` fields are not).
    pub required: bool,
    /// The field's doc comment.
    pub description: &'static str,
}

/// Options for one key computation; [`KeyOptions::new`] is the system clock, the declared key
/// fields and the global registry.
#[derive(Debug, Clone, Copy)]
pub struct KeyOptions<'a> {
    tool: Option<&'a str>,
    clock: &'a dyn Clock,
    key_fields: Option<&'a KeyFields>,
    registry: &'a Registry,
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
    pub fn tool(mut self, tool: &'a str) -> Self {
        self.tool = Some(tool);
        self
    }

    /// Reads time (windows, and [`KeyInput::now`] for generators) from `clock`.
    #[must_use]
    pub fn clock(mut self, clock: &'a dyn Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock these options read.
    pub fn get_clock(&self) -> &'a dyn Clock {
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
    pub fn key_fields(mut self, key_fields: &'a KeyFields) -> Self {
        self.key_fields = Some(key_fields);
        self
    }

    /// Looks generators up in `registry`.
    #[must_use]
    pub fn registry(mut self, registry: &'a Registry) -> Self {
        self.registry = registry;
        self
    }
}

/// Key fields chosen at run time (the design document's `spec.idempotency.key_fields`), checked
/// against the argument type when they are built rather than at the first call.
///
/// ```
/// use idem_core::KeyFields;
///
/// let fields = KeyFields::unchecked(["email"]);
/// assert_eq!(fields.as_slice(), ["email"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyFields {
    names: Vec<String>,
}

impl KeyFields {
    /// Key fields for `T`, each checked to be one of its fields.
    ///
    /// # Errors
    /// [`KeyError::UnknownKeyField`] naming the field and listing the fields `T` has.
    pub fn for_type<T: Idempotent>(
        names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, KeyError> {
        let fields = Self::unchecked(names);
        for name in &fields.names {
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
