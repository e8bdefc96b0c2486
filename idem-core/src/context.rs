//! [`Context`]: who is calling (tenant, user, session).

use serde::{Deserialize, Serialize};

/// The caller of a tool: tenant, user and session ids, each optional.
///
/// Tenants never share keys: every built-in strategy puts the tenant id in the key when there is
/// one. Whether user and session take part depends on the strategy.
///
/// ```
/// use idem::Context;
///
/// let ctx = Context::new().with_tenant("acme").with_user("alice");
/// assert_eq!(ctx.tenant_id(), Some("acme"));
/// assert_eq!(ctx.session_id(), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
}

impl Context {
    /// An empty context: no tenant, user or session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the tenant id.
    #[must_use]
    pub fn with_tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sets the user id.
    #[must_use]
    pub fn with_user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the session id.
    #[must_use]
    pub fn with_session(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The user id.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The session id.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
}
