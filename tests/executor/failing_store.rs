//! A store that fails: down (the call fails closed, the tool never runs), a claim whose answer was
//! lost (given back), a record deleted under a running call.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use idem::executor::{ExecuteError, Executor, Outcome};
use idem::spec::{InProgressPolicy, ToolSpec};
use idem::store::{
    BoxFuture, Claim, ClaimOutcome, Completion, MemoryStore, Record, RecordKey, Store, StoreError,
    StoredRecord,
};
use idem::{Context, Idempotent};

use super::{Gateway, PaymentError, ProcessPayment, Receipt, payment, setup};

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
