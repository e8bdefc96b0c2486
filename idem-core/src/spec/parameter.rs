//! [`Parameter`]: one argument of a tool, as a tool framework or a model sees it.

use serde::{Deserialize, Serialize};

pub use crate::canonical::ParameterType;

/// One parameter of a tool: a name, a JSON type, whether it is required.
///
/// ```
/// use idem::spec::{Parameter, ParameterType};
///
/// let p = Parameter::new("warehouse_id", ParameterType::String).optional();
/// assert!(!p.required);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// The name, as the arguments carry it.
    pub name: String,
    /// The JSON type.
    #[serde(rename = "type")]
    pub kind: ParameterType,
    /// Whether a call must give it.
    pub required: bool,
    /// What it means, when documented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Parameter {
    /// A required parameter.
    pub fn new(name: impl Into<String>, kind: ParameterType) -> Self {
        Parameter {
            name: name.into(),
            kind,
            required: true,
            description: None,
        }
    }

    /// A required string parameter (the design document's `StringParameter`).
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, ParameterType::String)
    }

    /// A required number parameter (the design document's `NumericParameter`).
    pub fn number(name: impl Into<String>) -> Self {
        Self::new(name, ParameterType::Number)
    }

    /// Marks the parameter as optional.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    /// Sets whether the parameter is required.
    #[must_use]
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Describes the parameter.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}
