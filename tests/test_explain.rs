//! Explaining a key: the canonical envelope a key is the digest of, as `Executor::explain` and
//! `ToolInput::explain_key` give it, agrees with the key every other path computes.

use std::sync::Arc;
use std::time::Duration;

use idem::clock::ManualClock;
use idem::executor::{Executor, ToolInput};
use idem::spec::{IdempotencyConfig, ToolSpec};
use idem::store::MemoryStore;
use idem::strategy::{FieldsStrategy, KeyInput, KeyOptions, Registry};
use idem::{Context, Idempotent, KeyError};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256, Sha512};

#[derive(Idempotent, Serialize)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    amount: f64,
}

#[derive(Idempotent, Serialize)]
#[idem(
    tool = "search-v1",
    strategy = "hash",
    algorithm = "sha512",
    include_session = true,
    window = "1m"
)]
struct Search {
    query: String,
}

#[derive(Idempotent)]
#[idem(tool = "geo-v1", key_with = geo_key)]
struct GeoOrder {
    order_id: String,
}

fn geo_key(args: &GeoOrder, input: &KeyInput<'_>) -> String {
    format!("{}:{}", input.tool(), args.order_id)
}

const T0: u64 = 1_800_000_000;

fn executor(clock: &Arc<ManualClock>) -> Executor {
    Executor::new(MemoryStore::new()).with_clock(clock.clone())
}

#[tokio::test]
async fn a_digest_key_is_the_digest_of_the_envelope_it_explains() {
    let clock = Arc::new(ManualClock::at_unix_seconds(T0 + 59));
    let executor = executor(&clock);
    let ctx = Context::new().with_user("alice").with_session("s-1");

    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    let args = ProcessPayment {
        transaction_id: "txn-1".into(),
        amount: 10.5,
    };
    let why = executor.explain(&spec, &ctx, &args).unwrap();
    let canonical = r#"{"args":{"transaction_id":"txn-1"},"tool":"payment-processor-v1","v":1}"#;
    assert_eq!(why.canonical(), Some(canonical));
    assert_eq!(why.key().as_str(), hex::encode(Sha256::digest(canonical)));
    let run = executor
        .execute(&spec, &ctx, &args, || async { Ok::<_, KeyError>(1) })
        .await
        .unwrap();
    assert_eq!(
        run.key.as_ref(),
        Some(why.key()),
        "execute uses the key explained"
    );
    assert_eq!(why.to_string(), format!("{canonical}\n{}", why.key()));

    // SHA-512, the session and the window start, read from the executor's clock.
    let spec = ToolSpec::for_args::<Search>().build().unwrap();
    let args = Search {
        query: "weather".into(),
    };
    let why = executor.explain(&spec, &ctx, &args).unwrap();
    let canonical = format!(
        r#"{{"args":{{"query":"weather"}},"session":"s-1","tool":"search-v1","user":"alice","v":1,"window":{T0}}}"#
    );
    assert_eq!(why.canonical(), Some(canonical.as_str()));
    assert_eq!(why.key().as_str(), hex::encode(Sha512::digest(&canonical)));
    clock.advance(Duration::from_secs(1));
    let next = executor.explain(&spec, &ctx, &args).unwrap();
    assert!(
        next.canonical()
            .unwrap()
            .contains(&format!(r#""window":{}"#, T0 + 60))
    );
    assert_ne!(next.key(), why.key());
}

#[test]
fn json_arguments_explain_to_the_same_envelope_as_the_derived_type() {
    let derived = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    let runtime = ToolSpec::function("payment-processor-v1", "process_payment")
        .idempotency(IdempotencyConfig::new().key_fields(["transaction_id"]))
        .generator(FieldsStrategy::new())
        .build()
        .unwrap();
    let ctx = Context::new();
    let options = KeyOptions::new();
    let typed = ProcessPayment {
        transaction_id: "txn-2".into(),
        amount: 3.0,
    }
    .explain_key(&derived, &ctx, &options)
    .unwrap();
    let json = json!({"transaction_id": "txn-2", "amount": 3.0})
        .explain_key(&runtime, &ctx, &options)
        .unwrap();
    assert_eq!(typed, json);
    assert!(typed.canonical().is_some());
}

#[test]
fn a_custom_key_has_no_envelope() {
    let spec = ToolSpec::for_args::<GeoOrder>().build().unwrap();
    let args = GeoOrder {
        order_id: "o-9".into(),
    };
    let why = args
        .explain_key(&spec, &Context::new(), &KeyOptions::new())
        .unwrap();
    assert_eq!(why.canonical(), None);
    assert_eq!(why.key().as_str(), "geo-v1:o-9");
    assert_eq!(why.to_string(), "geo-v1:o-9");
    assert_eq!(why.into_key().as_str(), "geo-v1:o-9");
}

#[test]
fn a_call_without_a_key_explains_with_the_error_execute_gives() {
    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    let args = ProcessPayment {
        transaction_id: String::new(),
        amount: 1.0,
    };
    let explained = Executor::new(MemoryStore::new())
        .explain(&spec, &Context::new(), &args)
        .unwrap_err();
    let keyed = Idempotent::idempotency_key(&args, &Context::new()).unwrap_err();
    assert_eq!(explained.to_string(), keyed.to_string());
    // A generator the registry does not know: the same registry error.
    #[derive(Idempotent)]
    #[idem(tool = "tenant-op-v1", generator = "explain_unknown")]
    struct TenantOp {
        action: String,
    }
    let spec = ToolSpec::for_args::<TenantOp>().build().unwrap();
    let op = TenantOp {
        action: "sync".into(),
    };
    let err = Executor::new(MemoryStore::new())
        .with_registry(Arc::new(Registry::new()))
        .explain(&spec, &Context::new(), &op)
        .unwrap_err();
    assert!(err.to_string().contains("explain_unknown"), "{err}");
}
