//! [`SpecError`]: a tool spec that cannot be built.

/// Why a [`ToolSpec`](super::ToolSpec) was refused when it was built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The tool id is empty.
    #[error("a tool spec needs a non-empty id")]
    EmptyId,
    /// A TTL or lease of zero.
    #[error("the {what} of tool `{tool}` is zero; give it a positive duration")]
    ZeroDuration {
        /// The tool id.
        tool: String,
        /// `"result TTL"`, `"in-progress TTL (lease)"`, `"wait timeout"` or `"request timeout"`.
        what: &'static str,
    },
    /// A setting of HTTP tools given to another kind of tool.
    #[error("the {setting} applies to HTTP tools; tool `{tool}` is not one")]
    NotHttp {
        /// The tool id.
        tool: String,
        /// `"request timeout"`.
        setting: &'static str,
    },
    /// A key field that is not one of the tool's parameters.
    #[error("key field `{field}` is not a parameter of tool `{tool}`; its parameters are: {}", available.join(", "))]
    UnknownKeyField {
        /// The tool id.
        tool: String,
        /// The key field.
        field: String,
        /// The parameter names.
        available: Vec<String>,
    },
    /// Two parameters with the same name.
    #[error("tool `{tool}` declares the parameter `{name}` twice")]
    DuplicateParameter {
        /// The tool id.
        tool: String,
        /// The name.
        name: String,
    },
}
