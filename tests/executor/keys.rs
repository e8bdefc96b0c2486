//! How the executor keys a call: JSON arguments, idempotency turned off, generators from its
//! registry, strategies that read its clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use idem::executor::{Executor, Outcome};
use idem::key::Window;
use idem::spec::{IdempotencyConfig, ToolSpec};
use idem::store::MemoryStore;
use idem::strategy::{CustomStrategy, FieldsStrategy, HashStrategy};
use idem::{Context, Idempotent};
use serde::Serialize;
use serde_json::json;

use super::{Gateway, PaymentError, ProcessPayment, T0, payment, setup};

#[tokio::test]
async fn json_arguments_and_disabled_idempotency() {
    let (executor, _clock, _) = setup();
    let spec = ToolSpec::function("payment-processor-v1", "process_payment")
        .idempotency(IdempotencyConfig::new().key_fields(["transaction_id"]))
        .generator(FieldsStrategy::new())
        .build()
        .unwrap();
    let derived = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    let gateway = Gateway::default();
    let ctx = Context::new();
    let args = payment("txn-json", 2.5);
    let typed = executor
        .execute(&derived, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap();
    let as_json = serde_json::to_value(&args).unwrap();
    let replay = executor
        .execute(&spec, &ctx, &as_json, || gateway.charge(&args))
        .await
        .unwrap();
    assert_eq!(
        replay.key, typed.key,
        "JSON and derived arguments share the key"
    );
    assert_eq!(replay.outcome, Outcome::Replayed { args_differ: false });

    let off = ToolSpec::function("log-v1", "log")
        .idempotency(IdempotencyConfig::disabled())
        .build()
        .unwrap();
    let log = Mutex::new(Vec::new());
    for _ in 0..2 {
        let out = executor
            .execute(&off, &ctx, &json!({"line": "x"}), || async {
                log.lock().unwrap().push(1);
                Ok::<_, PaymentError>(())
            })
            .await
            .unwrap();
        assert_eq!(out.outcome, Outcome::NotIdempotent);
    }
    assert_eq!(log.lock().unwrap().len(), 2);
    assert_eq!(gateway.count(), 1);
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "tenant-op-v1", generator = "executor_local_tenant")]
struct TenantOp {
    action: String,
}

#[tokio::test]
async fn generators_are_looked_up_in_the_executors_registry() {
    let registry = Arc::new(idem::strategy::Registry::new());
    registry
        .register(
            "executor_local_tenant",
            idem::strategy::CustomStrategy::new(|input| {
                Ok(format!(
                    "{}:{}",
                    input.tool(),
                    input.context().tenant_id().unwrap_or("default")
                ))
            }),
        )
        .unwrap();
    let spec = ToolSpec::for_args::<TenantOp>().build().unwrap();
    let ctx = Context::new().with_tenant("acme");
    let args = TenantOp {
        action: "sync".into(),
    };
    let run = || async { Ok::<_, PaymentError>(1_u8) };
    let local = Executor::new(MemoryStore::new()).with_registry(registry);
    let done = local.execute(&spec, &ctx, &args, run).await.unwrap();
    assert_eq!(done.key.unwrap().as_str(), "tenant-op-v1:acme");
    // Without it, the global registry does not know the name: a typed error, nothing runs.
    let global = Executor::new(MemoryStore::new());
    let err = global.execute(&spec, &ctx, &args, run).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no key strategy named `executor_local_tenant`"),
        "{err}"
    );
}

#[tokio::test]
async fn every_strategy_reads_the_executors_clock() {
    let (executor, clock, _) = setup();
    // A runtime strategy with a window, and a custom one that puts the minute in its key: both
    // read the executor's manual clock, not the wall clock.
    let windowed = ToolSpec::function("report-v1", "report")
        .generator(HashStrategy::new().with_window(Window::parse("1m").unwrap()))
        .build()
        .unwrap();
    let stamped = ToolSpec::function("stamp-v1", "stamp")
        .generator(CustomStrategy::new(|input| {
            let minute = input.now().duration_since(UNIX_EPOCH)?.as_secs() / 60;
            Ok(format!("{}:{minute}", input.tool()))
        }))
        .build()
        .unwrap();
    let ctx = Context::new().with_user("alice");
    let args = json!({"report": "daily"});
    for spec in [&windowed, &stamped] {
        clock.set_unix_seconds(T0);
        let runs = AtomicUsize::new(0);
        let run = || async { Ok::<_, PaymentError>(runs.fetch_add(1, Ordering::SeqCst)) };
        let first = executor.execute(spec, &ctx, &args, run).await.unwrap();
        assert_eq!(first.outcome, Outcome::Executed { took_over: false });
        clock.advance(Duration::from_secs(59));
        let same_minute = executor.execute(spec, &ctx, &args, run).await.unwrap();
        assert_eq!(
            same_minute.outcome,
            Outcome::Replayed { args_differ: false }
        );
        assert_eq!(same_minute.key, first.key);
        clock.advance(Duration::from_secs(1));
        let next_minute = executor.execute(spec, &ctx, &args, run).await.unwrap();
        assert_eq!(next_minute.outcome, Outcome::Executed { took_over: false });
        assert_ne!(next_minute.key, first.key);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "{}", spec.id());
        if spec.id() == "stamp-v1" {
            let minute = T0 / 60;
            assert_eq!(first.key.unwrap().as_str(), format!("stamp-v1:{minute}"));
            let next = next_minute.key.unwrap();
            assert_eq!(next.as_str(), format!("stamp-v1:{}", minute + 1));
        }
    }
}
