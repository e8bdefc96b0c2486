//! Leases and concurrency: an expired lease taken over and a live one waited for or refused, a
//! call that lost its lease, duplicates racing in one process, a cancelled call.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idem::clock::ManualClock;
use idem::executor::{ExecuteError, Executor, OnFailure, Outcome};
use idem::spec::{InProgressPolicy, ToolSpec};
use idem::store::{Claim, ClaimOutcome, MemoryStore, RecordKey, Store, UnixMillis};
use idem::{Context, Idempotent};

use super::{Gateway, PaymentError, ProcessPayment, Receipt, T0, payment, setup};

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_a_live_one_is_waited_for_or_refused() {
    let (executor, clock, spec) = setup();
    let ctx = Context::new();
    let args = payment("txn-crashed", 3.0);
    let key = args.idempotency_key(&ctx).unwrap();
    // A worker that claimed the key and then crashed.
    let crashed = Claim {
        token: "crashed-worker",
        fingerprint: "f",
        now: UnixMillis(T0 * 1000),
        lease: Duration::from_secs(30),
    };
    let record = RecordKey {
        tool: spec.id(),
        key: key.as_str(),
    };
    assert_eq!(
        executor.store().claim(record, &crashed).await.unwrap(),
        ClaimOutcome::Claimed
    );
    let gateway = Gateway::default();
    let no_wait = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.on_in_progress(InProgressPolicy::Fail))
        .build()
        .unwrap();
    let err = executor
        .execute(&no_wait, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::InProgress { .. }), "{err}");
    let short_wait = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| {
            c.on_in_progress(InProgressPolicy::Wait {
                timeout: Duration::from_millis(50),
            })
        })
        .build()
        .unwrap();
    let err = executor
        .execute(&short_wait, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::WaitTimedOut { .. }), "{err}");
    assert_eq!(gateway.count(), 0);

    clock.advance(Duration::from_secs(30));
    let taken = executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap();
    assert_eq!(taken.outcome, Outcome::Executed { took_over: true });
    assert_eq!(gateway.count(), 1);
    assert_eq!(executor.metrics().takeovers, 1);
}

#[tokio::test]
async fn a_call_that_lost_its_lease_cannot_overwrite_the_newer_record() {
    let clock = Arc::new(ManualClock::at_unix_seconds(T0));
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new().with_clock(clock.clone()));
    let slow = Executor::with_store(store.clone()).with_clock(clock.clone());
    let fast = Executor::with_store(store.clone()).with_clock(clock.clone());
    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    let ctx = Context::new();
    let args = payment("txn-stale", 7.0);
    let err = slow
        .execute(&spec, &ctx, &args, || async {
            // The slow worker stalls past its lease; another worker takes the key over.
            clock.advance(Duration::from_secs(31));
            let newer = fast
                .execute(&spec, &ctx, &args, || async {
                    Ok::<_, PaymentError>(Receipt {
                        charge_id: 2,
                        amount: 7.0,
                    })
                })
                .await
                .unwrap();
            assert_eq!(newer.outcome, Outcome::Executed { took_over: true });
            Ok::<_, PaymentError>(Receipt {
                charge_id: 1,
                amount: 7.0,
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::ClaimLost { .. }), "{err}");
    let replay = fast
        .execute(&spec, &ctx, &args, || async {
            Ok::<_, PaymentError>(Receipt {
                charge_id: 3,
                amount: 7.0,
            })
        })
        .await
        .unwrap();
    assert_eq!(replay.output.charge_id, 2, "the newer record stands");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_racing_in_one_process_share_one_execution() {
    let (executor, _clock, spec) = setup();
    let executor = Arc::new(executor);
    let spec = Arc::new(spec);
    let gateway = Gateway::default();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (executor, spec, gateway) = (executor.clone(), spec.clone(), gateway.clone());
        tasks.push(tokio::spawn(async move {
            let args = payment("txn-race", 42.0);
            executor
                .execute(&spec, &Context::new(), &args, || async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    gateway.charge(&args).await
                })
                .await
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        let execution = task.await.unwrap();
        assert_eq!(execution.output.charge_id, 1);
        outcomes.push(execution.outcome);
    }
    assert_eq!(gateway.count(), 1);
    assert_eq!(outcomes.iter().filter(|o| o.executed()).count(), 1);
    assert!(outcomes.iter().all(|o| o.executed()
        || *o == Outcome::Joined { args_differ: false }
        || *o == Outcome::Replayed { args_differ: false }));
}

#[tokio::test]
async fn a_cancelled_call_leaves_an_unknown_outcome_that_no_retry_runs_again() {
    let (executor, _clock, spec) = setup();
    let ctx = Context::new();
    let args = payment("txn-cancel", 1.0);
    let charged = AtomicUsize::new(0);
    let hung = executor.execute(&spec, &ctx, &args, || async {
        // The charge goes through, then the tool waits on something slow...
        charged.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await;
        Ok::<_, PaymentError>(Receipt {
            charge_id: 0,
            amount: 0.0,
        })
    });
    // ... and the caller gives up (an agent's tool-call timeout).
    assert!(
        tokio::time::timeout(Duration::from_millis(20), hung)
            .await
            .is_err()
    );
    assert_eq!(charged.load(Ordering::SeqCst), 1);
    // The retry must not charge again: the first run may have taken effect.
    let gateway = Gateway::default();
    let err = loop {
        match executor
            .execute(&spec, &ctx, &args, || gateway.charge(&args))
            .await
        {
            Err(ExecuteError::OutcomeUnknown { reason, .. }) => break reason,
            // The unknown outcome is recorded in the background: until then the claim holds.
            Err(ExecuteError::WaitTimedOut { .. }) => continue,
            other => panic!("expected OutcomeUnknown, got {other:?}"),
        }
    };
    assert!(err.contains("stopped waiting"), "{err}");
    assert_eq!(gateway.count(), 0, "the retry did not run the tool");
}

/// A tool that failed without knowing whether it took effect (a request that timed out) under
/// `OnFailure::Unknown`: its caller gets its error, and no retry runs it again.
#[tokio::test]
async fn a_failure_of_unknown_outcome_is_never_run_again() {
    let (executor, _clock, spec) = setup();
    let ctx = Context::new();
    let args = payment("txn-timeout", 3.0);
    let sent_with = Mutex::new(None);
    let unknown = |_: &PaymentError| OnFailure::Unknown;
    let err = executor
        .execute_keyed(&spec, &ctx, &args, unknown, |key| {
            // The tool gets the call's key, to send on (an `Idempotency-Key` header).
            *sent_with.lock().unwrap() = key;
            async { Err::<Receipt, _>(PaymentError::Timeout) }
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecuteError::Tool(PaymentError::Timeout)),
        "{err}"
    );
    let key = executor.explain(&spec, &ctx, &args).unwrap().into_key();
    assert_eq!(sent_with.lock().unwrap().as_ref(), Some(&key));

    let gateway = Gateway::default();
    let again = executor
        .execute(&spec, &ctx, &args, || gateway.charge(&args))
        .await
        .unwrap_err();
    let ExecuteError::OutcomeUnknown {
        reason,
        key: unknown_key,
        ..
    } = &again
    else {
        panic!("expected OutcomeUnknown, got {again:?}");
    };
    assert_eq!(unknown_key, key.as_str());
    assert!(reason.contains("gateway timeout"), "{reason}");
    assert_eq!(gateway.count(), 0, "the retry did not run the tool");
}

/// Without waiting, a duplicate of a call whose tool is running gets `InProgress` at once, while
/// the tool still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_waiting_a_duplicate_of_a_running_call_is_refused_at_once() {
    let executor = Arc::new(Executor::new(MemoryStore::new()));
    let spec = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.on_in_progress(InProgressPolicy::Fail))
        .build()
        .unwrap();
    let spec = Arc::new(spec);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let leader = {
        let (executor, spec) = (executor.clone(), spec.clone());
        tokio::spawn(async move {
            let args = payment("txn-running", 5.0);
            executor
                .execute(&spec, &Context::new(), &args, || async {
                    started_tx.send(()).unwrap();
                    finish_rx.await.unwrap();
                    Ok::<_, PaymentError>(Receipt {
                        charge_id: 1,
                        amount: 5.0,
                    })
                })
                .await
        })
    };
    started_rx.await.unwrap();
    let args = payment("txn-running", 5.0);
    let err = executor
        .execute(&spec, &Context::new(), &args, || async {
            Ok::<_, PaymentError>(Receipt {
                charge_id: 2,
                amount: 5.0,
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::InProgress { .. }), "{err}");
    finish_tx.send(()).unwrap();
    let led = leader.await.unwrap().unwrap();
    assert_eq!(led.outcome, Outcome::Executed { took_over: false });
}
