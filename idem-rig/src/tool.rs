//! [`IdempotentTool`]: a rig [`Tool`] that runs each call once and replays it on duplicates.

use std::fmt;
use std::sync::Arc;

use idem_core::executor::{ExecuteError, Executor, OnFailure, StorableOutput};
use idem_core::spec::{SpecError, ToolSpec};
use idem_core::{Context, Idempotent};
use rig_core::tool::{Tool, ToolContext, ToolExecutionError};

use crate::error::tool_error;
use crate::record::IdemCall;

/// Gives the idem [`Context`] (tenant, user, session) of a call from rig's [`ToolContext`].
type ContextSupplier = dyn Fn(&ToolContext) -> Context + Send + Sync;

/// Decides whether a tool error is released (retried) or remembered (replayed).
type FailurePolicy<E> = dyn Fn(&E) -> OnFailure + Send + Sync;

/// A rig [`Tool`] made idempotent: a call whose key was seen before replays the first call's
/// output instead of running the tool again.
///
/// It is a rig `Tool` itself, with the wrapped tool's name, description, parameters, arguments
/// and output, so it goes wherever the tool went (a `ToolSet`, an agent builder's `.tool(..)`).
/// Each call is keyed on its arguments (the [`Idempotent`] derive of `T::Args`) and runs
/// through an idem [`Executor`]:
///
/// - the first call runs the tool and stores its output (so `T::Output` must be
///   [`StorableOutput`]); a duplicate gets the stored output back, byte for byte, without
///   running the tool; duplicates racing it wait for it and share its output;
/// - a duplicate whose other arguments differ follows the spec's
///   [`MismatchPolicy`](idem_core::spec::MismatchPolicy): refused by default, or replayed;
/// - a tool error releases the key (the next call runs again) unless the
///   [`on_failure`](IdempotentTool::on_failure) policy remembers it;
/// - a panic, or a call dropped while the tool runs, leaves an unknown outcome that no retry
///   runs again before the record expires;
/// - arguments rig cannot parse never reach idem: they claim no key.
///
/// Every idem error reaches rig as a [`ToolExecutionError`] with the code `idem.<kind>`
/// ([`ExecuteError::kind`]), feedback the model can act on, and the [`ExecuteError`] as its
/// source; the tool's own errors keep the tool's [`Tool::map_error`]. After each call the
/// result metadata of the [`ToolContext`] holds an [`IdemCall`] saying what happened.
///
/// ```
/// use std::sync::Arc;
///
/// use idem::executor::Executor;
/// use idem::rig::{IdemCall, IdempotentToolExt};
/// use idem::store::MemoryStore;
/// use idem::Idempotent;
/// use rig_agent::tool::ToolSet;
/// use rig_core::tool::{Tool, ToolContext};
/// use serde::{Deserialize, Serialize};
///
/// /// Register a new user account.
/// #[derive(Idempotent, Serialize, Deserialize)]
/// #[idem(tool = "user-registration-v1", strategy = "fields", ttl = "30d")]
/// struct RegisterUser {
///     #[idem(key)]
///     email: String,
///     username: String,
/// }
///
/// struct Registration;
///
/// impl Tool for Registration {
///     const NAME: &'static str = "register_user";
///     type Args = RegisterUser;
///     type Output = String;
///     type Error = std::io::Error;
///
///     fn description(&self) -> String {
///         "Register a new user account".into()
///     }
///
///     fn parameters(&self) -> rig_core::serde_json::Value {
///         serde_json::json!({"type": "object", "required": ["email", "username"]})
///     }
///
///     async fn call(&self, _: &mut ToolContext, args: RegisterUser) -> Result<String, Self::Error> {
///         Ok(format!("user:{}", args.username))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let executor = Arc::new(Executor::new(MemoryStore::new()));
/// let mut tools = ToolSet::default();
/// tools.add_tool(Registration.idempotent(executor)?);
///
/// // The model asks for the same registration twice: the second is a replay.
/// let args = r#"{"email": "ada@example.com", "username": "ada"}"#;
/// for outcome in ["executed", "replayed"] {
///     let mut context = ToolContext::new();
///     let result = tools.execute("register_user", args, &mut context).await;
///     assert_eq!(result.output().as_text(), Some("user:ada"));
///     assert_eq!(context.result::<IdemCall>()?.unwrap().outcome, outcome);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct IdempotentTool<T: Tool> {
    tool: T,
    executor: Arc<Executor>,
    spec: Arc<ToolSpec>,
    context: Option<Arc<ContextSupplier>>,
    on_failure: Option<Arc<FailurePolicy<T::Error>>>,
}

impl<T> IdempotentTool<T>
where
    T: Tool,
    T::Args: Idempotent,
    T::Output: StorableOutput + Send,
{
    /// `tool`, run through `executor` under the spec its arguments declare
    /// ([`ToolSpec::for_args`]: tool id, key strategy, TTL, lease).
    ///
    /// # Errors
    /// When the declared spec does not build ([`SpecError`]); a `#[derive(Idempotent)]` type's
    /// attributes are checked at compile time, so its spec always builds.
    pub fn new(tool: T, executor: impl Into<Arc<Executor>>) -> Result<Self, SpecError> {
        let spec = ToolSpec::for_args::<T::Args>().build()?;
        Ok(Self::with_spec(tool, executor, spec))
    }

    /// `tool`, run through `executor` under `spec`: for settings the derive does not declare,
    /// such as the [`MismatchPolicy`](idem_core::spec::MismatchPolicy) or the wait for a call
    /// running elsewhere.
    ///
    /// ```
    /// # use idem::Idempotent;
    /// # use rig_core::tool::{Tool, ToolContext};
    /// # #[derive(Idempotent, serde::Deserialize)]
    /// # #[idem(tool = "payment-processor-v1", strategy = "fields")]
    /// # struct ProcessPayment { #[idem(key)] transaction_id: String, amount: f64 }
    /// # struct Payments;
    /// # impl Tool for Payments {
    /// #     const NAME: &'static str = "process_payment";
    /// #     type Args = ProcessPayment;
    /// #     type Output = f64;
    /// #     type Error = std::io::Error;
    /// #     fn description(&self) -> String { String::new() }
    /// #     fn parameters(&self) -> serde_json::Value { serde_json::json!({}) }
    /// #     async fn call(&self, _: &mut ToolContext, p: ProcessPayment) -> std::io::Result<f64> { Ok(p.amount) }
    /// # }
    /// use std::sync::Arc;
    ///
    /// use idem::executor::Executor;
    /// use idem::rig::IdempotentTool;
    /// use idem::spec::{MismatchPolicy, ToolSpec};
    /// use idem::store::MemoryStore;
    ///
    /// // A retry of a transaction with another amount gets the first receipt, flagged.
    /// let spec = ToolSpec::for_args::<ProcessPayment>()
    ///     .configure(|config| config.on_mismatch(MismatchPolicy::Replay))
    ///     .build()?;
    /// let executor = Arc::new(Executor::new(MemoryStore::new()));
    /// let payments = IdempotentTool::with_spec(Payments, executor, spec);
    /// assert_eq!(payments.spec().idempotency().mismatch_policy(), MismatchPolicy::Replay);
    /// # Ok::<(), idem::spec::SpecError>(())
    /// ```
    pub fn with_spec(tool: T, executor: impl Into<Arc<Executor>>, spec: ToolSpec) -> Self {
        IdempotentTool {
            tool,
            executor: executor.into(),
            spec: Arc::new(spec),
            context: None,
            on_failure: None,
        }
    }

    /// Takes each call's idem [`Context`] (tenant, user, session: what the key strategy may
    /// scope keys by) from rig's [`ToolContext`], where the host put its inbound values.
    /// Without it, calls have an empty context.
    #[must_use]
    pub fn with_context(
        mut self,
        supplier: impl Fn(&ToolContext) -> Context + Send + Sync + 'static,
    ) -> Self {
        self.context = Some(Arc::new(supplier));
        self
    }

    /// Decides, per tool error, whether the key is released (the next call runs the tool
    /// again: transient errors) or the error remembered (the next call gets it back without
    /// running the tool: permanent errors, such as a declined card). Without it, every error
    /// is released.
    #[must_use]
    pub fn on_failure(
        mut self,
        policy: impl Fn(&T::Error) -> OnFailure + Send + Sync + 'static,
    ) -> Self {
        self.on_failure = Some(Arc::new(policy));
        self
    }
}

impl<T: Tool> IdempotentTool<T> {
    /// The wrapped tool.
    pub fn get_ref(&self) -> &T {
        &self.tool
    }

    /// The wrapped tool, unwrapped.
    pub fn into_inner(self) -> T {
        self.tool
    }

    /// The spec calls run under.
    pub fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    /// The executor calls run through.
    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }

    fn failure_policy(&self, error: &T::Error) -> OnFailure {
        self.on_failure
            .as_ref()
            .map_or(OnFailure::Release, |policy| policy(error))
    }
}

impl<T: Tool + Clone> Clone for IdempotentTool<T> {
    fn clone(&self) -> Self {
        IdempotentTool {
            tool: self.tool.clone(),
            executor: Arc::clone(&self.executor),
            spec: Arc::clone(&self.spec),
            context: self.context.clone(),
            on_failure: self.on_failure.clone(),
        }
    }
}

impl<T: Tool + fmt::Debug> fmt::Debug for IdempotentTool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotentTool")
            .field("tool", &self.tool)
            .field("spec", &self.spec.id())
            .finish_non_exhaustive()
    }
}

impl<T> Tool for IdempotentTool<T>
where
    T: Tool,
    T::Args: Idempotent,
    T::Output: StorableOutput + Send,
{
    const NAME: &'static str = T::NAME;
    type Args = T::Args;
    type Output = T::Output;
    type Error = ExecuteError<T::Error>;

    fn description(&self) -> String {
        self.tool.description()
    }

    fn parameters(&self) -> rig_core::serde_json::Value {
        self.tool.parameters()
    }

    fn map_error(&self, error: Self::Error) -> ToolExecutionError {
        match error {
            ExecuteError::Tool(error) => {
                let remembered = self.failure_policy(&error) == OnFailure::Remember;
                let mapped = self.tool.map_error(error);
                // A remembered error is replayed to every retry: retrying does not help.
                if remembered {
                    mapped.with_retryable(false)
                } else {
                    mapped
                }
            }
            error => {
                let key_fields: Vec<&str> = match self.spec.key_fields() {
                    Some(fields) => fields.as_slice().iter().map(String::as_str).collect(),
                    None => <T::Args as Idempotent>::KEY.key_fields.to_vec(),
                };
                tool_error(error, &key_fields)
            }
        }
    }

    async fn call(
        &self,
        context: &mut ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, Self::Error> {
        let idem_context = self
            .context
            .as_ref()
            .map_or_else(Context::new, |supplier| supplier(context));
        let tool = &self.tool;
        let dispatch: &mut ToolContext = &mut *context;
        let run = move |args| {
            // Moved out of the closure (which makes it `FnOnce`): the tool's future may borrow
            // the context for as long as it runs.
            let dispatch = dispatch;
            tool.call(dispatch, args)
        };
        let result = self
            .executor
            .execute_owned(
                &self.spec,
                &idem_context,
                args,
                |error: &T::Error| self.failure_policy(error),
                run,
            )
            .await;
        let (record, result) = match result {
            Ok(execution) => (IdemCall::from_execution(&execution), Ok(execution.output)),
            Err(error) => (IdemCall::from_error(&error), Err(error)),
        };
        // Host-only metadata: rig hands it to the caller of the dispatch, never to the model.
        // A value this crate defines always encodes, so there is no error to lose.
        let _ = context.insert_result(record);
        result
    }
}
