//! A caller's own key, sent in the request's `_meta` under [`meta::KEY`].

use idem_core::executor::ToolInput;
use idem_core::spec::ToolSpec;
use idem_core::strategy::KeyOptions;
use idem_core::{Context, IdempotencyKey, KeyError};
use rmcp::model::RequestMetaObject;

use crate::error::ErrorKind;
use crate::meta;

/// The prefix of every key a caller chose: such a key can never equal a key idem derived (a hex
/// digest), so a caller cannot name another call's record.
const PREFIX: &str = "mcp-key:";

/// The caller's key in `meta`, scoped by the tenant of `context`, or `None` when the caller sent
/// none. The tool scopes it too: a store keeps each tool's records apart.
///
/// The stored key is `mcp-key:<n>:<tenant>:<key>`, `<n>` the tenant's length in bytes (empty
/// without a tenant), so that no tenant and key can be read as another tenant and key.
///
/// # Errors
/// An MCP invalid-params error when the value is not a string, or not a valid custom key
/// ([`IdempotencyKey::custom`]: 1 to 255 bytes, no control characters, prefix included).
pub(crate) fn from_meta(
    meta: &RequestMetaObject,
    context: &Context,
) -> Result<Option<IdempotencyKey>, rmcp::ErrorData> {
    let Some(value) = meta.get(meta::KEY) else {
        return Ok(None);
    };
    let Some(key) = value.as_str() else {
        return Err(ErrorKind::InvalidKey.mcp_error(
            rmcp::model::ErrorCode::INVALID_PARAMS,
            format!("`_meta` `{}` must be a string", meta::KEY),
        ));
    };
    let invalid = |err: KeyError| {
        ErrorKind::InvalidKey.mcp_error(
            rmcp::model::ErrorCode::INVALID_PARAMS,
            format!(
                "`_meta` `{}` is not a valid idempotency key: {err}",
                meta::KEY
            ),
        )
    };
    // The caller's key alone first, so that the error names its own mistake.
    IdempotencyKey::custom(key).map_err(invalid)?;
    let scoped = match context.tenant_id() {
        Some(tenant) => format!("{PREFIX}{}:{tenant}:{key}", tenant.len()),
        None => format!("{PREFIX}:{key}"),
    };
    IdempotencyKey::custom(scoped).map(Some).map_err(|err| {
        ErrorKind::InvalidKey.mcp_error(
            rmcp::model::ErrorCode::INVALID_PARAMS,
            format!(
                "`_meta` `{}` is too long once scoped by tenant (`{PREFIX}<n>:<tenant>:<key>`): \
                 {err}",
                meta::KEY
            ),
        )
    })
}

/// Arguments keyed by the caller's key, when it sent one, instead of their derived one; the
/// fingerprint (what tells a retry from a reuse of the key with other arguments) is always that
/// of all the arguments.
pub(crate) struct CallerKeyed<'a, T: ?Sized> {
    pub(crate) key: Option<&'a IdempotencyKey>,
    pub(crate) args: &'a T,
}

impl<T: ToolInput + ?Sized> ToolInput for CallerKeyed<'_, T> {
    fn idempotency_key(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError> {
        match self.key {
            Some(key) => Ok(key.clone()),
            None => self.args.idempotency_key(spec, context, options),
        }
    }

    fn fingerprint(&self) -> Result<String, KeyError> {
        self.args.fingerprint()
    }

    fn canonical_envelope(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Option<Result<Vec<u8>, KeyError>> {
        // A caller's key is no digest: it has no envelope.
        match self.key {
            Some(_) => None,
            None => self.args.canonical_envelope(spec, context, options),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(value: serde_json::Value) -> RequestMetaObject {
        let mut meta = RequestMetaObject::new();
        meta.insert(meta::KEY.to_owned(), value);
        meta
    }

    #[test]
    fn tenants_never_share_a_caller_key() {
        let key = |tenant: Option<&str>, key: &str| {
            let context = tenant.map_or_else(Context::new, |t| Context::new().with_tenant(t));
            from_meta(&meta(json!(key)), &context)
                .unwrap()
                .unwrap()
                .as_str()
                .to_owned()
        };
        assert_eq!(key(None, "k-1"), "mcp-key::k-1");
        assert_eq!(key(Some("acme"), "k-1"), "mcp-key:4:acme:k-1");
        // A tenant and key that would read alike without the length.
        assert_ne!(key(Some("a:b"), "c"), key(Some("a"), "b:c"));
        assert_ne!(key(None, "k-1"), key(Some("acme"), "k-1"));
    }

    #[test]
    fn a_bad_caller_key_is_refused_naming_the_rule() {
        let context = Context::new();
        assert!(
            from_meta(&RequestMetaObject::new(), &context)
                .unwrap()
                .is_none()
        );
        let refused = |value| from_meta(&meta(value), &context).unwrap_err().message;
        assert!(refused(json!(7)).contains("must be a string"));
        assert!(refused(json!("")).contains("must not be empty"));
        assert!(refused(json!("a\nb")).contains("control characters"));
        assert!(refused(json!("k".repeat(256))).contains("at most 255 bytes"));
        // Valid alone, too long with the prefix.
        assert!(refused(json!("k".repeat(250))).contains("too long once scoped"));
    }
}
