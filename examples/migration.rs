//! Migration from the old system, as the design document describes it.
//!
//! Old tools set `key_fields` and no generator; their keys were "hardcoded in the executor". In
//! idem a tool with key fields and no generator uses the default strategy over the key fields,
//! with the user and the session: the same keys as before (the document's backward
//! compatibility promise). This example computes that key three ways and shows the exact
//! canonical envelope it is the SHA-256 of:
//!
//! 1. a `#[derive(Idempotent)]` struct with a key field and no strategy;
//! 2. a spec built at run time with `key_fields` and no generator, called with JSON;
//! 3. by hand: SHA-256 of the envelope written out.
//!
//! It then shows what changes when a tool switches to an explicit field-based generator (the
//! document's "new way"): the keys change, so records made under the old keys are not found.
//!
//! `cargo run --example migration`

use std::sync::atomic::{AtomicUsize, Ordering};

use idem::executor::{Executor, Outcome};
use idem::key::JsonArgs;
use idem::spec::{IdempotencyConfig, ToolSpec};
use idem::store::MemoryStore;
use idem::strategy::{DefaultStrategy, FieldsStrategy, KeyInput, KeyStrategy};
use idem::{Context, Idempotent};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Process payment transaction: a tool of the old system, with key fields and no generator.
#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "payment-processor-v1", name = "process_payment")]
struct LegacyPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
}

/// The envelope of key format v1 for this call (`docs/key-format.md`): the key fields only, the
/// user and the session, members in RFC 8785 order.
const ENVELOPE: &str = r#"{"args":{"transaction_id":"txn-0001"},"session":"s-1","tool":"payment-processor-v1","user":"alice","v":1}"#;

/// The envelope of the field-based strategy for the same call: no user, no session.
const FIELDS_ENVELOPE: &str =
    r#"{"args":{"transaction_id":"txn-0001"},"tool":"payment-processor-v1","v":1}"#;

/// SHA-256 of `bytes` in lowercase hex, by the `sha2` crate: what another implementation of key
/// format v1 does by hand.
fn sha256_hex(bytes: &str) -> String {
    hex::encode(Sha256::digest(bytes.as_bytes()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new().with_user("alice").with_session("s-1");
    let payment = LegacyPayment {
        transaction_id: "txn-0001".into(),
        customer_id: "cust-42".into(),
        amount: 10.5,
    };

    // 1. The derived struct (no `strategy`: the default one).
    let derived = payment.idempotency_key(&ctx)?;

    // 2. The spec built at run time: key fields, no generator (`idempotency_key_generator =
    //    None`). The runtime default strategy shows what it hashes.
    let legacy_spec = ToolSpec::function("payment-processor-v1", "process_payment")
        .idempotency(IdempotencyConfig::new().key_fields(["transaction_id"]))
        .build()?;
    assert!(legacy_spec.generator().is_none());
    let json = serde_json::to_value(&payment)?;
    let json_args = JsonArgs::new(&json)?;
    let key_fields = ["transaction_id".to_owned()];
    let input = KeyInput::new(legacy_spec.id(), &json_args, &ctx).with_key_fields(&key_fields);
    let envelope = DefaultStrategy::new()
        .canonical_bytes(&input)
        .expect("the default strategy hashes an envelope")?;
    let envelope = String::from_utf8(envelope)?;
    let runtime = DefaultStrategy::new().key(&input)?;

    // 3. By hand.
    let by_hand = sha256_hex(ENVELOPE);

    println!("canonical envelope: {envelope}");
    println!("derived key:        {derived}");
    println!("runtime key:        {runtime}");
    println!("sha256(envelope):   {by_hand}");
    assert_eq!(envelope, ENVELOPE);
    assert_eq!(derived.as_str(), by_hand);
    assert_eq!(runtime.as_str(), by_hand);
    // Check it with any SHA-256: printf '%s' '<the envelope>' | sha256sum
    assert_eq!(
        by_hand,
        "6ae6aae9e180c3f151f34eeaabb99b058bb1e3fc5452b7857ab759536d7a9a73"
    );
    println!(
        "all three agree: the default strategy over the key fields, user and session included"
    );

    // Through the executor: the typed call and the JSON call are one and the same call.
    let executor = Executor::new(MemoryStore::new());
    let typed_spec = ToolSpec::for_args::<LegacyPayment>().build()?;
    let charges = AtomicUsize::new(0);
    let charge = || {
        let n = charges.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok::<_, std::io::Error>(format!("ch_{n}")) }
    };
    let typed = executor
        .execute(&typed_spec, &ctx, &payment, charge)
        .await?;
    let replay = executor.execute(&legacy_spec, &ctx, &json, charge).await?;
    println!(
        "typed call: {:?} ({}); JSON call with key_fields, no generator: {:?} ({})",
        typed.outcome, typed.output, replay.outcome, replay.output
    );
    assert!(typed.outcome.executed());
    assert_eq!(replay.outcome, Outcome::Replayed { args_differ: false });
    assert_eq!(typed.key.as_ref(), Some(&derived));
    assert_eq!(replay.key.as_ref(), Some(&derived));

    // The old behaviour, kept as it was: the session is part of the key, so the same
    // transaction from another session of the same user runs again.
    let other_session = Context::new().with_user("alice").with_session("s-2");
    let again = executor
        .execute(&legacy_spec, &other_session, &json, charge)
        .await?;
    println!(
        "same transaction, session s-2: {:?} ({}) - the session takes part in default keys",
        again.outcome, again.output
    );
    assert!(again.outcome.executed());

    // The "new way": an explicit field-based generator. Its key leaves user and session out,
    // so it differs from every key the old system made: switching finds none of the old
    // records, and a retry in flight during the switch runs again. Switch when no retry of an
    // old call can still come (after the TTL), or keep the default.
    let fields_spec = ToolSpec::function("payment-processor-v1", "process_payment")
        .idempotency(IdempotencyConfig::new().key_fields(["transaction_id"]))
        .generator(FieldsStrategy::new())
        .build()?;
    let switched = executor.execute(&fields_spec, &ctx, &json, charge).await?;
    let fields_key = switched.key.clone().expect("idempotency is on");
    println!(
        "explicit FieldsStrategy: key {fields_key} (sha256 of {FIELDS_ENVELOPE}), {:?} ({})",
        switched.outcome, switched.output
    );
    assert_ne!(fields_key, derived);
    assert_eq!(fields_key.as_str(), sha256_hex(FIELDS_ENVELOPE));
    assert!(switched.outcome.executed());

    let charges = charges.load(Ordering::SeqCst);
    println!("charges: {charges} (first call, session s-2, after the switch)");
    assert_eq!(charges, 3);
    Ok(())
}
