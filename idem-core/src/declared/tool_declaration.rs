//! [`ToolDeclaration`]: what `#[derive(Idempotent)]` declares about the tool itself.

use crate::canonical::ParameterType;

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
