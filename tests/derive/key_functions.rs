//! Keys that depend on more than the arguments: time windows, custom key functions (that may read
//! the call and its clock, and fail), generators looked up in a registry, key fields given at run
//! time.

use std::sync::Arc;

use idem::clock::ManualClock;
use idem::key::Window;
use idem::strategy::{CustomStrategy, FieldsStrategy, KeyFields, KeyInput, KeyOptions, Registry};
use idem::{Context, Idempotent, KeyError};
use serde::Serialize;
use serde_json::json;

use super::{ProcessPayment, json_key_fields, payment, sha256_hex};

#[derive(Idempotent)]
#[idem(tool = "timed-operation-v1", strategy = "fields", window = "1m")]
struct TimedOperation {
    #[idem(key)]
    request_id: String,
}

#[test]
fn window_keys_change_with_the_minute_and_not_within_it() {
    let clock = ManualClock::at_unix_seconds(1_700_000_040);
    let op = TimedOperation {
        request_id: "r-1".into(),
    };
    let ctx = Context::new();
    let at = |clock: &ManualClock| {
        op.idempotency_key_with(&ctx, &KeyOptions::new().with_clock(clock))
            .unwrap()
    };
    let first = at(&clock);
    assert_eq!(
        first.as_str(),
        sha256_hex(
            r#"{"args":{"request_id":"r-1"},"tool":"timed-operation-v1","v":1,"window":1700000040}"#
        )
    );
    clock.set_unix_seconds(1_700_000_099);
    assert_eq!(at(&clock), first);
    clock.set_unix_seconds(1_700_000_100);
    assert_ne!(at(&clock), first);
    // The runtime strategy with the same window agrees.
    let json = json!({"request_id": "r-1"});
    let window = Window::parse("1m")
        .unwrap()
        .with_clock(Arc::new(ManualClock::at_unix_seconds(1_700_000_041)));
    assert_eq!(
        json_key_fields(
            &FieldsStrategy::new().with_window(window),
            "timed-operation-v1",
            &json,
            &ctx,
            &["request_id"]
        ),
        first
    );
}

fn geo_key(args: &GeoOrder, ctx: &Context, tool: &str) -> String {
    format!(
        "{tool}:{}:{}:{}",
        args.region,
        ctx.user_id().unwrap_or("anonymous"),
        args.order_id
    )
}

#[derive(Idempotent)]
#[idem(tool = "geo-distributed-v1", strategy = "custom", key_with = geo_key)]
struct GeoOrder {
    order_id: String,
    region: String,
}

#[test]
fn custom_key_functions_are_used_as_they_are() {
    let order = GeoOrder {
        order_id: "o-9".into(),
        region: "us-west".into(),
    };
    let key = order
        .idempotency_key(&Context::new().with_user("alice"))
        .unwrap();
    assert_eq!(key.as_str(), "geo-distributed-v1:us-west:alice:o-9");
    assert!(!key.is_digest());
    let eu = GeoOrder {
        region: "eu-central".into(),
        ..order
    };
    assert_ne!(
        key,
        eu.idempotency_key(&Context::new().with_user("alice"))
            .unwrap()
    );
}

/// The design document's time-based key, on the call's clock: `fn(&Self, &KeyInput)`.
#[derive(Idempotent)]
#[idem(tool = "timed-operation-v1", key_with = minute_key)]
struct TimedCustom {
    request_id: String,
}

fn minute_key(args: &TimedCustom, input: &KeyInput<'_>) -> Result<String, KeyError> {
    let seconds = input
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| KeyError::ClockBeforeEpoch)?
        .as_secs();
    let user = input.context().user_id().unwrap_or("anonymous");
    Ok(format!(
        "{}:{user}:{}:{}",
        input.tool(),
        args.request_id,
        seconds - seconds % 60
    ))
}

#[test]
fn a_key_function_may_take_the_call_and_read_its_clock() {
    let op = TimedCustom {
        request_id: "r-1".into(),
    };
    let ctx = Context::new().with_user("alice");
    let clock = ManualClock::at_unix_seconds(1_700_000_059);
    let at = |clock: &ManualClock| {
        op.idempotency_key_with(&ctx, &KeyOptions::new().with_clock(clock))
            .unwrap()
    };
    let first = at(&clock);
    assert_eq!(first.as_str(), "timed-operation-v1:alice:r-1:1700000040");
    clock.set_unix_seconds(1_700_000_099);
    assert_eq!(at(&clock), first);
    clock.set_unix_seconds(1_700_000_100);
    assert_eq!(
        at(&clock).as_str(),
        "timed-operation-v1:alice:r-1:1700000100"
    );
    // The tool id a spec gives is the one the function sees.
    let renamed = op
        .idempotency_key_with(
            &ctx,
            &KeyOptions::new().with_clock(&clock).with_tool("timed-v2"),
        )
        .unwrap();
    assert_eq!(renamed.as_str(), "timed-v2:alice:r-1:1700000100");
}

#[derive(Debug)]
struct ServiceDown;
impl std::fmt::Display for ServiceDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("id service unreachable")
    }
}
impl std::error::Error for ServiceDown {}

fn external_id(args: &Distributed, _: &Context, _: &str) -> Result<String, ServiceDown> {
    if args.payload.is_empty() {
        Err(ServiceDown)
    } else {
        Ok(format!("ext-{}", args.payload.len()))
    }
}

#[derive(Idempotent)]
#[idem(tool = "distributed-tool-v1", key_with = external_id)]
struct Distributed {
    payload: String,
}

#[test]
fn custom_key_function_errors_and_invalid_keys_are_typed_errors() {
    let ok = Distributed {
        payload: "abc".into(),
    };
    assert_eq!(
        ok.idempotency_key(&Context::new()).unwrap().as_str(),
        "ext-3"
    );
    let down = Distributed {
        payload: String::new(),
    };
    let err = down.idempotency_key(&Context::new()).unwrap_err();
    assert!(matches!(&err, KeyError::Custom { tool, .. } if tool == "distributed-tool-v1"));
    assert!(err.to_string().contains("id service unreachable"), "{err}");
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "multi-tenant-tool-v1", generator = "tenant_based_test")]
struct TenantOperation {
    action: String,
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "unregistered-v1", generator = "nobody_registered_this")]
struct Unregistered {
    action: String,
}

#[test]
fn generators_are_looked_up_in_the_registry_at_run_time() {
    let registry = Registry::new();
    registry
        .register(
            "tenant_based_test",
            CustomStrategy::new(|input| {
                let tenant = input.context().tenant_id().unwrap_or("default");
                let user = input.context().user_id().unwrap_or("anonymous");
                let action = input.arg_str("action").unwrap_or_default();
                Ok(format!("{}:{tenant}:{user}:{action}", input.tool()))
            }),
        )
        .unwrap();
    let op = TenantOperation {
        action: "sync".into(),
    };
    let ctx = Context::new().with_tenant("acme").with_user("ada");
    let key = op
        .idempotency_key_with(&ctx, &KeyOptions::new().with_registry(&registry))
        .unwrap();
    assert_eq!(key.as_str(), "multi-tenant-tool-v1:acme:ada:sync");

    let err = Unregistered { action: "x".into() }
        .idempotency_key(&ctx)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no key strategy named `nobody_registered_this`; registered: default, fields, hash"
    );
}

#[test]
fn runtime_key_fields_override_the_declared_ones_and_are_checked_when_built() {
    let fields = KeyFields::for_type::<ProcessPayment>(["customer_id"]).unwrap();
    let ctx = Context::new();
    let a = payment("txn-1", 1.0)
        .idempotency_key_with(&ctx, &KeyOptions::new().with_key_fields(&fields))
        .unwrap();
    assert_eq!(
        a.as_str(),
        sha256_hex(r#"{"args":{"customer_id":"cust-7"},"tool":"payment-processor-v1","v":1}"#)
    );
    let err = KeyFields::for_type::<ProcessPayment>(["txn_id"]).unwrap_err();
    assert!(matches!(&err, KeyError::UnknownKeyField { field, .. } if field == "txn_id"));
    assert!(
        err.to_string()
            .contains("its fields are: amount, currency, customer_id, transaction_id"),
        "{err}"
    );
}
