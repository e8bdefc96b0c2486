//! The factory pattern of the design document: register a `tenant_based` strategy by name, then
//! use it by name.
//!
//! - `Registry::global()` is the registry `#[idem(generator = "tenant_based")]` looks in, at run
//!   time, when the key is computed;
//! - a local `Registry` hands strategies to specs built at run time with
//!   `ToolSpec::...generator_arc(registry.get("tenant_based")?)`.
//!
//! Tenants never share keys. Registering a name twice is an error (keys would silently change),
//! and an unknown name is an error that lists the registered ones.
//!
//! `cargo run --example tenant_factory`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use idem::executor::{ExecuteError, Executor, Outcome};
use idem::key::JsonArgs;
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::strategy::{HashStrategy, KeyInput, KeyStrategy, Registry, RegistryError};
use idem::{Context, IdempotencyKey, Idempotent, KeyError};
use serde::Serialize;
use serde_json::json;

/// The design document's `TenantBasedIdempotencyKeyGenerator`: SHA-256 over the tool id, the
/// tenant (`default` when absent), the user (`anonymous` when absent) and all the arguments.
///
/// Instead of hashing `f"{spec.id}:{tenant}:{user}:{json.dumps(args, sort_keys=True)}"` by hand,
/// it fills in the defaults and delegates to the hash strategy (user on, session off), whose
/// envelope `{"args":..,"tenant":..,"tool":..,"user":..,"v":1}` is canonical JSON (RFC 8785)
/// and so reproducible from any language.
#[derive(Debug, Default)]
struct TenantBased {
    inner: HashStrategy,
}

impl TenantBased {
    /// The caller's context with the design document's defaults filled in.
    fn context(input: &KeyInput<'_>) -> Context {
        let ctx = input.context();
        let mut filled = Context::new()
            .with_tenant(ctx.tenant_id().unwrap_or("default"))
            .with_user(ctx.user_id().unwrap_or("anonymous"));
        if let Some(session) = ctx.session_id() {
            filled = filled.with_session(session);
        }
        filled
    }

    /// `input` with another context.
    fn rebind<'a>(input: &KeyInput<'a>, ctx: &'a Context) -> KeyInput<'a> {
        let rebound = KeyInput::new(input.tool(), input.args(), ctx);
        match input.key_fields() {
            Some(fields) => rebound.with_key_fields(fields),
            None => rebound,
        }
    }
}

impl KeyStrategy for TenantBased {
    fn key(&self, input: &KeyInput<'_>) -> Result<IdempotencyKey, KeyError> {
        let ctx = Self::context(input);
        self.inner.key(&Self::rebind(input, &ctx))
    }

    fn canonical_bytes(&self, input: &KeyInput<'_>) -> Option<Result<Vec<u8>, KeyError>> {
        let ctx = Self::context(input);
        self.inner.canonical_bytes(&Self::rebind(input, &ctx))
    }
}

/// Multi-tenant operation, keyed by the strategy registered as `tenant_based`.
#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "multi-tenant-tool-v1", generator = "tenant_based")]
struct TenantOperation {
    action: String,
    target: String,
}

/// The same tool with a typo in the generator's name: it compiles (names are looked up at run
/// time) and every call fails with a typed error.
#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "multi-tenant-tool-v1", generator = "tenant_base")]
struct Misconfigured {
    action: String,
    target: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Register the generator, once, at start-up. One shared instance serves both registries.
    let tenant_based: Arc<dyn KeyStrategy> = Arc::new(TenantBased::default());
    Registry::global().register_arc("tenant_based", Arc::clone(&tenant_based))?;
    let registry = Registry::new();
    registry.register_arc("tenant_based", Arc::clone(&tenant_based))?;
    println!("global registry: {}", Registry::global().names().join(", "));

    // A name cannot be registered twice: the keys of every tool using it would change.
    let twice = Registry::global().register("tenant_based", HashStrategy::new());
    println!(
        "registering `tenant_based` again: {}",
        twice.as_ref().unwrap_err()
    );
    assert!(matches!(
        twice,
        Err(RegistryError::AlreadyRegistered { .. })
    ));

    // An unknown name lists the registered ones.
    let unknown = registry.get("tenant").unwrap_err();
    println!("looking up `tenant`: {unknown}");
    assert_eq!(
        unknown.to_string(),
        "no key strategy named `tenant`; registered: default, fields, hash, tenant_based"
    );

    // 2. Use it by name from a derived argument type (global registry).
    let executor = Executor::new(MemoryStore::new());
    let spec = ToolSpec::for_args::<TenantOperation>().build()?;
    let runs = AtomicUsize::new(0);
    let sync = |tenant: &str| {
        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
        let output = json!({"run": n, "tenant": tenant});
        async move { Ok::<_, std::io::Error>(output) }
    };
    let op = TenantOperation {
        action: "sync".into(),
        target: "crm".into(),
    };
    let acme = Context::new().with_tenant("acme").with_user("alice");
    let globex = Context::new().with_tenant("globex").with_user("alice");

    let a = executor.execute(&spec, &acme, &op, || sync("acme")).await?;
    let g = executor
        .execute(&spec, &globex, &op, || sync("globex"))
        .await?;
    let a_again = executor.execute(&spec, &acme, &op, || sync("acme")).await?;
    for (label, run) in [("acme", &a), ("globex", &g), ("acme again", &a_again)] {
        println!(
            "{label:<10} (alice): {:?}, key {}, output {}",
            run.outcome,
            run.key.as_ref().map_or("-", |k| k.as_str()),
            run.output
        );
    }
    assert!(a.outcome.executed() && g.outcome.executed());
    assert_ne!(a.key, g.key, "tenants never share keys");
    assert_eq!(a_again.outcome, Outcome::Replayed { args_differ: false });

    // What the key is the digest of.
    let args = serde_json::to_value(&op)?;
    let json_args = JsonArgs::new(&args)?;
    if let Some(bytes) = tenant_based.canonical_bytes(&KeyInput::new(spec.id(), &json_args, &acme))
    {
        println!("acme envelope: {}", String::from_utf8(bytes?)?);
    }
    let no_tenant = op.idempotency_key(&Context::new())?;
    let explicit_default =
        op.idempotency_key(&Context::new().with_tenant("default").with_user("anonymous"))?;
    println!("no tenant, no user -> tenant `default`, user `anonymous`: {no_tenant}");
    assert_eq!(no_tenant, explicit_default);

    // 3. Use it by name in a spec built at run time (local registry), with JSON arguments. Same
    //    tool, same strategy, same key: the call replays the typed call's result.
    let runtime_spec = ToolSpec::function("multi-tenant-tool-v1", "tenant_operation")
        .description("Multi-tenant operation")
        .generator_arc(registry.get("tenant_based")?)
        .build()?;
    let json_call = executor
        .execute(&runtime_spec, &globex, &args, || sync("globex"))
        .await?;
    println!(
        "globex via ToolSpec::function + JSON: {:?}, same key as the typed call: {}",
        json_call.outcome,
        json_call.key == g.key
    );
    assert_eq!(json_call.outcome, Outcome::Replayed { args_differ: false });
    assert_eq!(json_call.key, g.key);

    // A generator name with a typo fails at the call, with a typed error; the tool does not run.
    let broken = Misconfigured {
        action: "sync".into(),
        target: "crm".into(),
    };
    let broken_spec = ToolSpec::for_args::<Misconfigured>().build()?;
    let err = executor
        .execute(&broken_spec, &acme, &broken, || sync("acme"))
        .await
        .expect_err("unknown generator");
    println!("generator = \"tenant_base\": {err}");
    assert!(matches!(
        err,
        ExecuteError::Key(KeyError::Registry(RegistryError::Unknown { .. }))
    ));

    let runs = runs.load(Ordering::SeqCst);
    println!("runs: {runs} (acme once, globex once)");
    assert_eq!(runs, 2);
    Ok(())
}
