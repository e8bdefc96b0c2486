//! [`IdempotentToolExt`]: `tool.idempotent(executor)`.

use std::sync::Arc;

use idem_core::Idempotent;
use idem_core::executor::{Executor, StorableOutput};
use idem_core::spec::SpecError;
use rig_core::tool::Tool;

use crate::tool::IdempotentTool;

/// Makes any rig [`Tool`] whose arguments derive [`Idempotent`] idempotent, in one call where
/// the tool is registered: `tools.add_tool(Payments.idempotent(executor)?)`.
pub trait IdempotentToolExt: Tool + Sized
where
    Self::Args: Idempotent,
    Self::Output: StorableOutput + Send,
{
    /// This tool, run through `executor` under the spec its arguments declare: see
    /// [`IdempotentTool::new`].
    ///
    /// # Errors
    /// As [`IdempotentTool::new`].
    fn idempotent(
        self,
        executor: impl Into<Arc<Executor>>,
    ) -> Result<IdempotentTool<Self>, SpecError> {
        IdempotentTool::new(self, executor)
    }
}

impl<T> IdempotentToolExt for T
where
    T: Tool,
    T::Args: Idempotent,
    T::Output: StorableOutput + Send,
{
}
