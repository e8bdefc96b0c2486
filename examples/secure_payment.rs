//! Hash-based strategy, example 1 of the design document: high-security payment processing.
//!
//! SHA-512 over the tool id, the user (not the session) and the key fields `transaction_id`,
//! `amount` and `timestamp`. The same payment retried from another session of the same user is
//! a duplicate; the same payment sent by another user is not. The same key with other
//! arguments (another card) is refused.
//!
//! The design document declares this tool with `parameters=[]`, so it is described at run time
//! with `ToolSpec::function` and called with JSON arguments.
//!
//! `cargo run --example secure_payment`

use std::sync::atomic::{AtomicUsize, Ordering};

use idem::executor::{ExecuteError, Executor, Outcome};
use idem::key::{Algorithm, JsonArgs};
use idem::spec::{IdempotencyConfig, ToolSpec};
use idem::store::MemoryStore;
use idem::strategy::{HashStrategy, KeyInput};
use idem::{Context, Idempotent};
use serde_json::{Value, json};

/// The same tool as a typed struct: `strategy = "hash"` with the same options gives the same
/// keys as the runtime `HashStrategy` over JSON.
#[derive(Idempotent)]
#[idem(
    tool = "secure-payment-v1",
    strategy = "hash",
    algorithm = "sha512",
    include_user = true,
    include_session = false
)]
struct SecurePayment {
    #[idem(key)]
    transaction_id: String,
    #[idem(key)]
    amount: f64,
    #[idem(key)]
    timestamp: u64,
    /// Not a key field: it takes no part in the key.
    card_token: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = ToolSpec::function("secure-payment-v1", "secure_payment")
        .description("High-security payment processing")
        .idempotency(IdempotencyConfig::new().key_fields(["transaction_id", "amount", "timestamp"]))
        .generator(
            HashStrategy::new()
                .algorithm(Algorithm::Sha512) // more secure than SHA-256
                .include_user(true) // include user_id
                .include_session(false), // exclude session_id
        )
        .build()?;
    let executor = Executor::new(MemoryStore::new());
    let charges = AtomicUsize::new(0);
    let charge = |user: &str| {
        let n = charges.fetch_add(1, Ordering::SeqCst) + 1;
        let user = user.to_owned();
        async move { Ok::<_, std::io::Error>(json!({"charge_id": format!("sec_{n}"), "user": user})) }
    };

    let args = json!({
        "transaction_id": "txn-7731",
        "amount": 249.99,
        "timestamp": 1_764_240_000,
        "card_token": "tok_visa_4242",
    });

    // What the key is the SHA-512 of: user in, session out, only the key fields of the args.
    let alice_phone = Context::new().with_user("alice").with_session("phone-1");
    let json_args = JsonArgs::new(&args)?;
    let key_fields = spec.key_fields().map(|f| f.as_slice()).unwrap_or_default();
    let input = KeyInput::new(spec.id(), &json_args, &alice_phone).with_key_fields(key_fields);
    let generator = spec.generator().expect("a generator is set");
    if let Some(bytes) = generator.canonical_bytes(&input) {
        println!("canonical envelope: {}", String::from_utf8(bytes?)?);
    }

    // 1. Alice pays from her phone.
    let first = executor
        .execute(&spec, &alice_phone, &args, || charge("alice"))
        .await?;
    let key = first.key.clone().expect("idempotency is on");
    println!(
        "alice (session phone-1):  {:?}, output {}",
        first.outcome, first.output
    );
    println!("key ({} hex chars, SHA-512): {key}", key.as_str().len());
    assert_eq!(key.as_str().len(), 128);
    assert!(first.outcome.executed());

    // 2. The same payment retried from Alice's laptop (another session): a duplicate.
    let alice_laptop = Context::new().with_user("alice").with_session("laptop-7");
    let retry = executor
        .execute(&spec, &alice_laptop, &args, || charge("alice"))
        .await?;
    println!(
        "alice (session laptop-7): {:?}, same key: {}, output {}",
        retry.outcome,
        retry.key.as_ref() == Some(&key),
        retry.output
    );
    assert_eq!(retry.outcome, Outcome::Replayed { args_differ: false });
    assert_eq!(retry.key.as_ref(), Some(&key));

    // 3. The same arguments sent by Bob: another user, another key, another charge.
    let bob = Context::new().with_user("bob").with_session("phone-1");
    let other = executor
        .execute(&spec, &bob, &args, || charge("bob"))
        .await?;
    println!(
        "bob (session phone-1):    {:?}, same key: {}, output {}",
        other.outcome,
        other.key.as_ref() == Some(&key),
        other.output
    );
    assert!(other.outcome.executed());
    assert_ne!(other.key.as_ref(), Some(&key));

    // 4. A non-key argument (the card token) does not change the key, but it does change the
    //    arguments' fingerprint: the same payment sent with another card is refused (the
    //    default `MismatchPolicy::Reject`), as a security-critical payment tool wants. Replaying
    //    the visa receipt would tell the caller the mastercard was charged; running it again
    //    would charge twice.
    let mut new_card = args.clone();
    new_card["card_token"] = Value::from("tok_mastercard_5555");
    match executor
        .execute(&spec, &alice_laptop, &new_card, || charge("alice"))
        .await
    {
        Err(err @ ExecuteError::ArgumentsMismatch { .. }) => {
            let so_far = charges.load(Ordering::SeqCst);
            println!(
                "alice with another card token: refused (ArgumentsMismatch), charges {so_far}"
            );
            assert!(err.to_string().contains(key.as_str()));
            assert_eq!(so_far, 2, "a refused call does not charge");
        }
        other => panic!("expected ArgumentsMismatch, got {other:?}"),
    }

    // The typed struct gives the very same key.
    let typed = SecurePayment {
        transaction_id: "txn-7731".into(),
        amount: 249.99,
        timestamp: 1_764_240_000,
        card_token: "tok_visa_4242".into(),
    };
    let typed_key = typed.idempotency_key(&alice_phone)?;
    println!(
        "typed #[derive(Idempotent)] key equals the JSON key: {}",
        typed_key == key
    );
    assert_eq!(typed_key, key);

    let charges = charges.load(Ordering::SeqCst);
    println!("charges: {charges} (alice once, bob once)");
    assert_eq!(charges, 2);
    Ok(())
}
