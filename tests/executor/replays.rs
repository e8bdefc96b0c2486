//! Run once, replay: a derived spec, a retry replayed and a mismatch refused or flagged,
//! failures released for a retry or remembered, results that expire, results that are not kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use idem::Context;
use idem::executor::{ExecuteError, OnFailure, Outcome};
use idem::spec::{MismatchPolicy, ParameterType, ToolSpec};

use super::{Gateway, PaymentError, ProcessPayment, Receipt, payment, setup};

#[test]
fn derived_spec_is_prefilled_from_the_struct() {
    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    assert_eq!(spec.id(), "payment-processor-v1");
    assert_eq!(spec.name(), "process_payment");
    assert_eq!(spec.description(), "Charge a customer's card.");
    let params: Vec<(&str, ParameterType, bool)> = spec
        .parameters()
        .iter()
        .map(|p| (p.name.as_str(), p.kind, p.required))
        .collect();
    assert_eq!(
        params,
        [
            ("transaction_id", ParameterType::String, true),
            ("customer_id", ParameterType::String, true),
            ("amount", ParameterType::Number, true),
            ("note", ParameterType::String, false),
        ]
    );
    assert_eq!(
        spec.parameters()[0].description.as_deref(),
        Some("The caller's transaction id.")
    );
    assert_eq!(spec.idempotency().result_ttl(), Duration::from_secs(86_400));
    assert_eq!(spec.idempotency().lease(), Duration::from_secs(30));
    // A runtime key field the type lacks is refused when the spec is built.
    let err = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.key_fields(["txn"]))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "key field `txn` is not a parameter of tool `payment-processor-v1`; its parameters are: amount, customer_id, note, transaction_id"
    );
    let zero = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.ttl(Duration::ZERO))
        .build()
        .unwrap_err();
    assert!(zero.to_string().contains("result TTL"), "{zero}");
    assert!(ToolSpec::function("", "x").build().is_err());
}

#[tokio::test]
async fn a_retry_replays_and_a_different_amount_is_refused_or_flagged() {
    let (executor, _clock, spec) = setup();
    let gateway = Gateway::default();
    let ctx = Context::new().with_user("alice");
    let args = payment("txn-1", 10.0);
    let first = executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Executed { took_over: false });
    let retry = executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap();
    assert_eq!(retry.outcome, Outcome::Replayed { args_differ: false });
    assert_eq!(retry.output, first.output);
    assert_eq!(retry.key, first.key);

    // By default, another amount under the same key is refused: nobody gets a receipt that is
    // not theirs.
    let other_amount = payment("txn-1", 99.0);
    let refused = executor
        .execute(&spec, &ctx, &other_amount, || gateway.charge(&other_amount))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ExecuteError::ArgumentsMismatch { .. }),
        "{refused}"
    );
    assert_eq!(gateway.count(), 1);

    // Replaying and flagging is an opt-in.
    let lenient = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.on_mismatch(MismatchPolicy::Replay))
        .build()
        .unwrap();
    let flagged = executor
        .execute(&lenient, &ctx, &other_amount, || {
            gateway.charge(&other_amount)
        })
        .await
        .unwrap();
    assert_eq!(flagged.outcome, Outcome::Replayed { args_differ: true });
    assert_eq!(flagged.output.amount, 10.0);
    assert_eq!(gateway.count(), 1);
    let m = executor.metrics();
    assert_eq!(
        (m.executions, m.replays, m.mismatches, m.errors),
        (1, 2, 2, 1)
    );
}

#[tokio::test]
async fn failures_are_released_for_retry_or_remembered_when_permanent() {
    let (executor, _clock, spec) = setup();
    let ctx = Context::new();
    let runs = AtomicUsize::new(0);
    let args = payment("txn-fail", 5.0);
    let flaky = || async {
        runs.fetch_add(1, Ordering::SeqCst);
        Err::<Receipt, _>(PaymentError::Timeout)
    };
    let err = executor
        .execute(&spec, &ctx, &args, flaky)
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::Tool(PaymentError::Timeout)));
    // Released: the retry runs the tool again.
    let gateway = Gateway::default();
    let ok = executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap();
    assert_eq!(ok.outcome, Outcome::Executed { took_over: false });
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let declined = payment("txn-declined", 5.0);
    let permanent = |e: &PaymentError| {
        if *e == PaymentError::Declined {
            OnFailure::Remember
        } else {
            OnFailure::Release
        }
    };
    let err = executor
        .execute_with(&spec, &ctx, &declined, permanent, || async {
            Err::<Receipt, _>(PaymentError::Declined)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::Tool(PaymentError::Declined)));
    let again = executor
        .execute_with(&spec, &ctx, &declined, permanent, || {
            gateway.charge(&declined)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&again, ExecuteError::PreviouslyFailed { error, .. } if error == "card declined"),
        "{again}"
    );
    assert_eq!(gateway.count(), 1);
}

#[tokio::test]
async fn results_expire_after_their_ttl() {
    let (executor, clock, spec) = setup();
    let gateway = Gateway::default();
    let ctx = Context::new();
    let args = payment("txn-ttl", 1.0);
    for _ in 0..2 {
        executor
            .execute(&spec, &ctx, &args, || gateway.charge(&args))
            .await
            .unwrap();
    }
    assert_eq!(gateway.count(), 1);
    clock.advance(Duration::from_secs(86_400 - 1));
    let still = executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap();
    assert_eq!(still.outcome, Outcome::Replayed { args_differ: false });
    clock.advance(Duration::from_secs(1));
    let fresh = executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap();
    assert_eq!(fresh.outcome, Outcome::Executed { took_over: false });
    assert_eq!(gateway.count(), 2);
}

#[tokio::test]
async fn without_persisted_results_a_retry_is_told_the_call_already_ran() {
    let (executor, _clock, _) = setup();
    let spec = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.persist_result(false))
        .build()
        .unwrap();
    let gateway = Gateway::default();
    let ctx = Context::new();
    let args = payment("txn-marker", 1.0);
    executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap();
    let err = executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::AlreadyRan { .. }), "{err}");
    assert_eq!(gateway.count(), 1);
}
