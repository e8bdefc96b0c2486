//! Tool specs (the design document's `FunctionToolSpec` and `HttpToolSpec`): what a tool is, its
//! parameters, and its idempotency settings.

mod error;
mod idempotency;
mod parameter;

pub use error::SpecError;
pub use idempotency::{IdempotencyConfig, InProgressPolicy, MismatchPolicy};
pub use parameter::{Parameter, ParameterType};

use std::sync::Arc;
use std::time::Duration;

use crate::declared::Idempotent;
use crate::strategy::KeyFields;
use crate::strategy::KeyStrategy;

/// How a tool is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolKind {
    /// A function of this program.
    Function,
    /// An HTTP endpoint.
    #[non_exhaustive]
    Http {
        /// The URL.
        url: String,
        /// The method (`POST`, `GET`, ...).
        method: String,
        /// How long one request may take before the caller gives up on it (none: the HTTP
        /// client's own timeout, if any). Set with [`ToolSpecBuilder::timeout`].
        timeout: Option<Duration>,
    },
}

/// What a tool returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnType {
    /// A JSON value.
    #[default]
    Json,
    /// Text.
    Text,
    /// Nothing.
    Nothing,
}

/// Where a tool's result goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnTarget {
    /// To the step that called it.
    #[default]
    Step,
    /// To the agent.
    Agent,
    /// To the user.
    User,
}

/// A tool: id, name, description, kind, parameters, return type and target, idempotency settings
/// and an optional key strategy (none means the type's declared strategy, or the default
/// strategy for JSON arguments: the design document's migration promise).
///
/// ```
/// use std::time::Duration;
/// use idem::spec::{IdempotencyConfig, Parameter, ToolSpec};
/// use idem::strategy::FieldsStrategy;
///
/// let spec = ToolSpec::function("ecommerce-payment-v1", "process_payment")
///     .description("Process e-commerce payment")
///     .parameter(Parameter::string("transaction_id"))
///     .parameter(Parameter::string("order_id"))
///     .parameter(Parameter::number("amount"))
///     .idempotency(
///         IdempotencyConfig::new()
///             .ttl(Duration::from_secs(86_400))
///             .key_fields(["transaction_id"]),
///     )
///     .generator(FieldsStrategy::new())
///     .build()
///     .unwrap();
/// assert_eq!(spec.id(), "ecommerce-payment-v1");
///
/// let err = ToolSpec::function("ecommerce-payment-v1", "process_payment")
///     .parameter(Parameter::string("transaction_id"))
///     .idempotency(IdempotencyConfig::new().key_fields(["txn_id"]))
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("`txn_id`"));
/// ```
#[derive(Debug, Clone)]
pub struct ToolSpec {
    id: String,
    name: String,
    description: String,
    kind: ToolKind,
    parameters: Vec<Parameter>,
    return_type: ReturnType,
    return_target: ReturnTarget,
    idempotency: IdempotencyConfig,
    generator: Option<Arc<dyn KeyStrategy>>,
}

impl ToolSpec {
    /// A function tool.
    pub fn function(id: impl Into<String>, name: impl Into<String>) -> ToolSpecBuilder {
        ToolSpecBuilder::new(id.into(), name.into(), ToolKind::Function)
    }

    /// An HTTP tool.
    pub fn http(
        id: impl Into<String>,
        name: impl Into<String>,
        method: impl Into<String>,
        url: impl Into<String>,
    ) -> ToolSpecBuilder {
        ToolSpecBuilder::new(
            id.into(),
            name.into(),
            ToolKind::Http {
                url: url.into(),
                method: method.into(),
                timeout: None,
            },
        )
    }

    /// The spec a derived argument type declares: id, name, parameters (from the fields),
    /// description (the doc comment) and idempotency settings (`ttl`, `persist_result`, `lease`).
    /// Key fields set on the builder are checked against the type's fields.
    pub fn for_args<T: Idempotent>() -> ToolSpecBuilder {
        let decl = &T::TOOL;
        let mut builder = ToolSpecBuilder::new(
            T::KEY.tool.to_owned(),
            decl.name.to_owned(),
            ToolKind::Function,
        )
        .description(decl.description);
        builder.parameters = decl
            .parameters
            .iter()
            .map(|p| {
                let parameter = Parameter::new(p.name, p.kind).required(p.required);
                if p.description.is_empty() {
                    parameter
                } else {
                    parameter.description(p.description)
                }
            })
            .collect();
        let mut config = IdempotencyConfig::new();
        if let Some(seconds) = decl.ttl_seconds {
            config = config.ttl(Duration::from_secs(seconds));
        }
        if let Some(seconds) = decl.lease_seconds {
            config = config.in_progress_ttl(Duration::from_secs(seconds));
        }
        if let Some(persist) = decl.persist_result {
            config = config.persist_result(persist);
        }
        builder.idempotency = config;
        builder.key_field_names = Some(T::KEY.fields.iter().map(|f| (*f).to_owned()).collect());
        builder
    }

    /// The tool id: part of every key, and the namespace of its records in a store.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the tool does.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// How the tool is reached.
    pub fn kind(&self) -> &ToolKind {
        &self.kind
    }

    /// The parameters.
    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    /// What the tool returns.
    pub fn return_type(&self) -> ReturnType {
        self.return_type
    }

    /// Where the result goes.
    pub fn return_target(&self) -> ReturnTarget {
        self.return_target
    }

    /// The idempotency settings.
    pub fn idempotency(&self) -> &IdempotencyConfig {
        &self.idempotency
    }

    /// The key strategy, when one is set.
    pub fn generator(&self) -> Option<&Arc<dyn KeyStrategy>> {
        self.generator.as_ref()
    }

    /// The key fields configured at run time.
    pub fn key_fields(&self) -> Option<&KeyFields> {
        self.idempotency.key_fields.as_ref()
    }
}

/// Builds a [`ToolSpec`], checking it in [`build`](ToolSpecBuilder::build).
#[derive(Debug, Clone)]
#[must_use]
pub struct ToolSpecBuilder {
    id: String,
    name: String,
    description: String,
    kind: ToolKind,
    parameters: Vec<Parameter>,
    return_type: ReturnType,
    return_target: ReturnTarget,
    idempotency: IdempotencyConfig,
    generator: Option<Arc<dyn KeyStrategy>>,
    /// The field names of a derived argument type: key fields must be among them.
    key_field_names: Option<Vec<String>>,
    /// The request timeout of an HTTP tool.
    timeout: Option<Duration>,
}

impl ToolSpecBuilder {
    fn new(id: String, name: String, kind: ToolKind) -> Self {
        ToolSpecBuilder {
            id,
            name,
            description: String::new(),
            kind,
            parameters: Vec::new(),
            return_type: ReturnType::Json,
            return_target: ReturnTarget::Step,
            idempotency: IdempotencyConfig::new(),
            generator: None,
            key_field_names: None,
            timeout: None,
        }
    }

    /// Describes the tool.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds a parameter.
    pub fn parameter(mut self, parameter: Parameter) -> Self {
        self.parameters.push(parameter);
        self
    }

    /// Sets what the tool returns and where it goes.
    pub fn returns(mut self, return_type: ReturnType, target: ReturnTarget) -> Self {
        self.return_type = return_type;
        self.return_target = target;
        self
    }

    /// Sets how long one request of an HTTP tool may take before the caller gives up on it
    /// (and retries it under the same key, or records an unknown outcome: the request may have
    /// run remotely). [`build`](Self::build) refuses a timeout on a function tool.
    ///
    /// ```
    /// use std::time::Duration;
    /// use idem::spec::{ToolKind, ToolSpec};
    ///
    /// let spec = ToolSpec::http("quote-v1", "quote", "GET", "https://api.example.com/quote")
    ///     .timeout(Duration::from_secs(5))
    ///     .build()?;
    /// assert!(matches!(spec.kind(), ToolKind::Http { timeout: Some(_), .. }));
    /// assert!(ToolSpec::function("f-v1", "f").timeout(Duration::from_secs(5)).build().is_err());
    /// let zero = ToolSpec::http("quote-v1", "quote", "GET", "https://api.example.com/quote");
    /// assert!(zero.timeout(Duration::ZERO).build().is_err());
    /// # Ok::<(), idem::spec::SpecError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the idempotency settings.
    pub fn idempotency(mut self, config: IdempotencyConfig) -> Self {
        self.idempotency = config;
        self
    }

    /// Changes the idempotency settings in place (keeps what a derive declared).
    pub fn configure(mut self, f: impl FnOnce(IdempotencyConfig) -> IdempotencyConfig) -> Self {
        self.idempotency = f(self.idempotency);
        self
    }

    /// Sets the key strategy (for example one taken from a [`Registry`](crate::strategy::Registry)).
    pub fn generator(mut self, strategy: impl KeyStrategy + 'static) -> Self {
        self.generator = Some(Arc::new(strategy));
        self
    }

    /// Sets a shared key strategy.
    pub fn generator_arc(mut self, strategy: Arc<dyn KeyStrategy>) -> Self {
        self.generator = Some(strategy);
        self
    }

    /// Checks the spec and builds it.
    ///
    /// # Errors
    /// An empty id, a zero TTL, lease, wait or request timeout, a request timeout on a function
    /// tool, a parameter declared twice, or a key field that is not a parameter (checked when
    /// parameters are declared).
    pub fn build(mut self) -> Result<ToolSpec, SpecError> {
        if self.id.is_empty() {
            return Err(SpecError::EmptyId);
        }
        let zero = |what| SpecError::ZeroDuration {
            tool: self.id.clone(),
            what,
        };
        let config = &self.idempotency;
        if config.ttl.is_zero() {
            return Err(zero("result TTL"));
        }
        if config.in_progress_ttl.is_zero() {
            return Err(zero("in-progress TTL (lease)"));
        }
        if let InProgressPolicy::Wait { timeout } = config.on_in_progress
            && timeout.is_zero()
        {
            return Err(zero("wait timeout"));
        }
        if let Some(request_timeout) = self.timeout {
            let ToolKind::Http { timeout, .. } = &mut self.kind else {
                return Err(SpecError::NotHttp {
                    tool: self.id.clone(),
                    setting: "request timeout",
                });
            };
            if request_timeout.is_zero() {
                return Err(zero("request timeout"));
            }
            *timeout = Some(request_timeout);
        }
        for (i, parameter) in self.parameters.iter().enumerate() {
            if self.parameters[..i]
                .iter()
                .any(|p| p.name == parameter.name)
            {
                return Err(SpecError::DuplicateParameter {
                    tool: self.id.clone(),
                    name: parameter.name.clone(),
                });
            }
        }
        let known: Option<Vec<String>> = self.key_field_names.clone().or_else(|| {
            (!self.parameters.is_empty())
                .then(|| self.parameters.iter().map(|p| p.name.clone()).collect())
        });
        if let (Some(known), Some(fields)) = (&known, &config.key_fields)
            && let Some(field) = fields.as_slice().iter().find(|f| !known.contains(f))
        {
            return Err(SpecError::UnknownKeyField {
                tool: self.id.clone(),
                field: field.clone(),
                available: known.clone(),
            });
        }
        Ok(ToolSpec {
            id: self.id,
            name: self.name,
            description: self.description,
            kind: self.kind,
            parameters: self.parameters,
            return_type: self.return_type,
            return_target: self.return_target,
            idempotency: self.idempotency,
            generator: self.generator,
        })
    }
}
