//! The executor's state machine: run once, replay, mismatches, failures, waits, takeovers,
//! stale completions, TTL expiry and a failing store, on the in-memory store with a manual clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use idem::executor::{ExecuteError, Executor, OnFailure, Outcome};
use idem::spec::{IdempotencyConfig, InProgressPolicy, MismatchPolicy, ParameterType, ToolSpec};
use idem::store::{
    BoxFuture, Claim, ClaimOutcome, Completion, MemoryStore, Record, RecordKey, Store, StoreError,
    StoredRecord, UnixMillis,
};
use idem::{
    Context, CustomStrategy, FieldsStrategy, HashStrategy, Idempotent, ManualClock, Window,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Charge a customer's card.
#[derive(Idempotent, Serialize, Deserialize, Clone, Debug)]
#[idem(
    tool = "payment-processor-v1",
    strategy = "fields",
    ttl = "24h",
    lease = "30s"
)]
struct ProcessPayment {
    /// The caller's transaction id.
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    note: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Receipt {
    charge_id: usize,
    amount: f64,
}

#[derive(Debug, PartialEq)]
enum PaymentError {
    Declined,
    Timeout,
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PaymentError::Declined => "card declined",
            PaymentError::Timeout => "gateway timeout",
        })
    }
}

fn payment(txn: &str, amount: f64) -> ProcessPayment {
    ProcessPayment {
        transaction_id: txn.into(),
        customer_id: "cust-1".into(),
        amount,
        note: None,
    }
}

const T0: u64 = 1_800_000_000;

fn setup() -> (Executor, Arc<ManualClock>, ToolSpec) {
    let clock = Arc::new(ManualClock::at_unix_seconds(T0));
    let store = MemoryStore::new().with_clock(clock.clone());
    let executor = Executor::new(store).with_clock(clock.clone());
    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    (executor, clock, spec)
}

/// A tool that counts its runs.
#[derive(Clone, Default)]
struct Gateway {
    charges: Arc<AtomicUsize>,
}

impl Gateway {
    async fn charge(&self, args: &ProcessPayment) -> Result<Receipt, PaymentError> {
        let charge_id = self.charges.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Receipt {
            charge_id,
            amount: args.amount,
        })
    }
    fn count(&self) -> usize {
        self.charges.load(Ordering::SeqCst)
    }
}

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

/// What goes wrong in a [`Faulty`] store.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// Every operation fails: the store is down.
    Down,
    /// The first claim lands, but its answer is lost (the connection drops on the way back).
    FirstClaimAnswerLost,
    /// Every claim takes 50 ms (a slow network): duplicates pile up behind a leader that is
    /// still claiming.
    SlowClaims,
}

/// A real in-memory store with a fault.
#[derive(Debug)]
struct Faulty {
    inner: MemoryStore,
    fault: Fault,
    claims: AtomicUsize,
}

impl Faulty {
    fn new(fault: Fault) -> Self {
        Faulty {
            inner: MemoryStore::new(),
            fault,
            claims: AtomicUsize::new(0),
        }
    }

    /// `op` on the inner store, or the outage.
    fn run<'a, T: Send + 'a>(
        &'a self,
        op: BoxFuture<'a, Result<T, StoreError>>,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        if self.fault == Fault::Down {
            return Box::pin(async { Err(unavailable("connection refused")) });
        }
        op
    }
}

fn unavailable(why: &'static str) -> StoreError {
    StoreError::Unavailable {
        store: "test",
        source: why.into(),
    }
}

impl Store for Faulty {
    fn claim<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        self.run(Box::pin(async move {
            if self.fault == Fault::SlowClaims {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let outcome = self.inner.claim(key, claim).await;
            let first = self.claims.fetch_add(1, Ordering::SeqCst) == 0;
            if first && self.fault == Fault::FirstClaimAnswerLost {
                return Err(unavailable("connection reset"));
            }
            outcome
        }))
    }
    fn complete<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
        completion: &'a Completion,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.run(self.inner.complete(key, claim, completion, ttl))
    }
    fn renew<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.run(self.inner.renew(key, claim))
    }
    fn release<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.run(self.inner.release(key, claim))
    }
    fn get<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        self.run(self.inner.get(key))
    }
    fn delete<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.run(self.inner.delete(key))
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>> {
        self.run(self.inner.list())
    }
    fn purge(&self, all: bool) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.run(self.inner.purge(all))
    }
}

/// Without waiting (`InProgressPolicy::Fail`), duplicates that race a call which only replays
/// a finished one get its output: "in progress" is for a tool that runs, not for a replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_waiting_duplicates_of_a_finished_call_get_the_replay() {
    let executor = Arc::new(Executor::new(Faulty::new(Fault::SlowClaims)));
    let spec = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.on_in_progress(InProgressPolicy::Fail))
        .build()
        .unwrap();
    let spec = Arc::new(spec);
    let gateway = Gateway::default();
    let args = payment("txn-replayed-at-once", 5.0);
    let first = executor
        .execute(&spec, &Context::new(), &args, || gateway.charge(&args))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (executor, spec, gateway) = (executor.clone(), spec.clone(), gateway.clone());
        tasks.push(tokio::spawn(async move {
            let args = payment("txn-replayed-at-once", 5.0);
            executor
                .execute(&spec, &Context::new(), &args, || gateway.charge(&args))
                .await
        }));
    }
    for task in tasks {
        let execution = task.await.unwrap().unwrap();
        assert_eq!(execution.output, first.output);
        assert!(
            matches!(
                execution.outcome,
                Outcome::Replayed { args_differ: false } | Outcome::Joined { args_differ: false }
            ),
            "{:?}",
            execution.outcome
        );
    }
    assert_eq!(gateway.count(), 1);
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

#[tokio::test]
async fn a_failing_store_fails_closed() {
    let executor = Executor::new(Faulty::new(Fault::Down));
    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    let gateway = Gateway::default();
    let args = payment("txn-down", 1.0);
    let err = executor
        .execute(&spec, &Context::new(), &args, || gateway.charge(&args))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecuteError::Store(StoreError::Unavailable { .. })),
        "{err}"
    );
    assert_eq!(
        gateway.count(),
        0,
        "the tool must not run when the store is down"
    );
}

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
    let registry = Arc::new(idem::Registry::new());
    registry
        .register(
            "executor_local_tenant",
            idem::CustomStrategy::new(|input| {
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

#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_given_back() {
    let executor = Executor::new(Faulty::new(Fault::FirstClaimAnswerLost));
    let spec = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.on_in_progress(InProgressPolicy::Fail))
        .build()
        .unwrap();
    let gateway = Gateway::default();
    let args = payment("txn-lost-answer", 1.0);
    let err = executor
        .execute(&spec, &Context::new(), &args, || gateway.charge(&args))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecuteError::Store(StoreError::Unavailable { .. })),
        "{err}"
    );
    assert_eq!(gateway.count(), 0);
    // The claim had landed; the executor gives it back in the background.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let retry = executor
        .execute(&spec, &Context::new(), &args, || gateway.charge(&args))
        .await
        .unwrap();
    assert_eq!(retry.outcome, Outcome::Executed { took_over: false });
    assert_eq!(gateway.count(), 1);
}

/// A claim lost because an operator deleted the record mid-call is explained as such (not as a
/// lease that ran out), and the result is not written over whatever came next.
#[tokio::test]
async fn a_claim_lost_to_a_delete_says_so() {
    let (executor, _clock, spec) = setup();
    let ctx = Context::new();
    let args = payment("txn-deleted", 2.0);
    let key = args.idempotency_key(&ctx).unwrap();
    let address = RecordKey {
        tool: spec.id(),
        key: key.as_str(),
    };
    let err = executor
        .execute(&spec, &ctx, &args, || async {
            assert!(executor.store().delete(address).await.unwrap());
            Ok::<_, PaymentError>(Receipt {
                charge_id: 1,
                amount: 2.0,
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::ClaimLost { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("the record was deleted"), "{message}");
    assert_eq!(executor.store().get(address).await.unwrap(), None);
}
