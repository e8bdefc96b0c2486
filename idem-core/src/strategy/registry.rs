//! [`Registry`]: strategies kept by name (the design document's factory).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::error::RegistryError;
use crate::strategy::{BuiltinStrategy, KeyStrategy};

/// Key strategies by name. A new registry holds the built-ins under `default`, `fields` and
/// `hash` (SHA-256, user on, session off).
///
/// The process-wide [`Registry::global`] is the one `#[idem(generator = "name")]` looks in.
///
/// ```
/// use idem::strategy::{CustomStrategy, Registry};
///
/// let registry = Registry::new();
/// registry
///     .register("tenant_based", CustomStrategy::new(|input| {
///         Ok(format!("{}:{}", input.tool(), input.context().tenant_id().unwrap_or("default")))
///     }))
///     .unwrap();
/// assert!(registry.get("tenant_based").is_ok());
/// assert!(registry.register("fields", CustomStrategy::new(|_| Ok("x".into()))).is_err());
/// let err = registry.get("tenant").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "no key strategy named `tenant`; registered: default, fields, hash, tenant_based"
/// );
/// ```
#[derive(Debug)]
pub struct Registry {
    strategies: RwLock<BTreeMap<String, Arc<dyn KeyStrategy>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry with the built-in strategies.
    pub fn new() -> Self {
        let registry = Self::empty();
        for name in BuiltinStrategy::NAMES {
            if let Some(builtin) = BuiltinStrategy::from_name(name) {
                // A new registry has none of these names yet.
                let _ = registry.register_arc(name, builtin.into_strategy(None));
            }
        }
        registry
    }

    /// A registry with no strategy at all.
    pub fn empty() -> Self {
        Self {
            strategies: RwLock::new(BTreeMap::new()),
        }
    }

    /// The process-wide registry, created with the built-ins on first use.
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
    }

    /// Registers `strategy` under `name`.
    ///
    /// # Errors
    /// [`RegistryError::AlreadyRegistered`] when the name is taken (names are never silently
    /// replaced: keys would change), [`RegistryError::EmptyName`] for `""`.
    pub fn register(
        &self,
        name: impl Into<String>,
        strategy: impl KeyStrategy + 'static,
    ) -> Result<(), RegistryError> {
        self.register_arc(name, Arc::new(strategy))
    }

    /// Registers a shared strategy under `name`.
    ///
    /// # Errors
    /// As [`Registry::register`].
    pub fn register_arc(
        &self,
        name: impl Into<String>,
        strategy: Arc<dyn KeyStrategy>,
    ) -> Result<(), RegistryError> {
        let name = name.into();
        if name.is_empty() {
            return Err(RegistryError::EmptyName);
        }
        let mut strategies = self
            .strategies
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if strategies.contains_key(&name) {
            return Err(RegistryError::AlreadyRegistered { name });
        }
        strategies.insert(name, strategy);
        Ok(())
    }

    /// The strategy registered under `name`.
    ///
    /// # Errors
    /// [`RegistryError::Unknown`], listing the registered names.
    pub fn get(&self, name: &str) -> Result<Arc<dyn KeyStrategy>, RegistryError> {
        let strategies = self
            .strategies
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        strategies
            .get(name)
            .cloned()
            .ok_or_else(|| RegistryError::Unknown {
                name: name.to_owned(),
                registered: strategies.keys().cloned().collect(),
            })
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.strategies
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}
