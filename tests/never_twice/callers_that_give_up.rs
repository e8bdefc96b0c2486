//! Cancellation

use super::*;

/// A store that pauses before (or after) its claim or completion: where a caller can give up.
#[derive(Debug)]
pub(super) struct Paused {
    pub(super) inner: Arc<dyn Store>,
    pub(super) pause: Duration,
    pub(super) at: Pause,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pause {
    /// Before a claim reaches the store.
    BeforeClaim,
    /// After a claim landed, before its answer comes back.
    AfterClaim,
    /// Before a completion reaches the store.
    BeforeComplete,
}

impl Paused {
    pub(super) async fn pause_if(&self, at: Pause) {
        if self.at == at {
            tokio::time::sleep(self.pause).await;
        }
    }
}

impl Store for Paused {
    fn claim<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        Box::pin(async move {
            self.pause_if(Pause::BeforeClaim).await;
            let outcome = self.inner.claim(key, claim).await;
            self.pause_if(Pause::AfterClaim).await;
            outcome
        })
    }
    fn renew<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.renew(key, claim)
    }
    fn complete<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
        completion: &'a Completion,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.pause_if(Pause::BeforeComplete).await;
            self.inner.complete(key, claim, completion, ttl).await
        })
    }
    fn release<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.release(key, claim)
    }
    fn get<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        self.inner.get(key)
    }
    fn delete<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.delete(key)
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>> {
        self.inner.list()
    }
    fn purge(&self, all: bool) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.inner.purge(all)
    }
}

/// The result of a retry made until it stops finding the key in progress.
pub(super) async fn retry_until_settled(
    executor: &Executor,
    spec: &ToolSpec,
    args: &Value,
    runs: &Runs,
) -> Result<String, ExecuteError<std::io::Error>> {
    for _ in 0..100 {
        let result = executor
            .execute(spec, &Context::new(), args, || async {
                runs.add();
                Ok::<_, std::io::Error>("second run".to_owned())
            })
            .await;
        match result {
            Err(ExecuteError::InProgress { .. }) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other.map(|e| e.output),
        }
    }
    panic!("the key stayed in progress for 5 s");
}

/// A caller that gives up (its future dropped, as by `tokio::time::timeout` or a client that
/// disconnects) at each point of a call: before its claim lands, after it landed, while the tool
/// runs, while the result is being recorded, and while waiting for a duplicate. A retry never
/// runs the tool a second time when the first may have run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_caller_that_gives_up_at_any_point_never_causes_a_second_run() {
    let stores = stores(&crate::support::test_name!()).await;
    let lease = Duration::from_millis(400);
    let retry_spec = spec(lease, InProgressPolicy::Fail);
    for (name, inner) in &stores.list {
        // (pause, tool time, give up after, what the retry gets, runs in total)
        let cases = [
            (Pause::BeforeClaim, 0, 50, "second run", 1),
            (Pause::AfterClaim, 0, 50, "second run", 1),
            (Pause::BeforeComplete, 0, 50, "first run", 1),
            (Pause::BeforeComplete, 200, 100, "unknown", 1),
        ];
        for (i, (at, tool_ms, give_up_ms, expected, total)) in cases.into_iter().enumerate() {
            let args = args(&format!("cancel-{i}"), name);
            let store: Arc<dyn Store> = Arc::new(Paused {
                inner: Arc::clone(inner),
                pause: Duration::from_millis(150),
                at,
            });
            let executor = Executor::with_store(store);
            let runs = Runs::default();
            let ctx = Context::new();
            let call = executor.execute(&retry_spec, &ctx, &args, || async {
                runs.add();
                tokio::time::sleep(Duration::from_millis(tool_ms)).await;
                Ok::<_, std::io::Error>("first run".to_owned())
            });
            let gave_up = tokio::time::timeout(Duration::from_millis(give_up_ms), call).await;
            assert!(gave_up.is_err(), "{name} {at:?}: the caller gave up");
            // A crashed claim (landed, answer lost) frees the key after its lease.
            tokio::time::sleep(lease + Duration::from_millis(200)).await;
            let retry = Executor::with_store(Arc::clone(inner));
            let got = retry_until_settled(&retry, &retry_spec, &args, &runs).await;
            match (expected, got) {
                ("unknown", Err(ExecuteError::OutcomeUnknown { reason, .. })) => {
                    assert!(reason.contains("stopped waiting"), "{name}: {reason}");
                }
                (expected, Ok(output)) => assert_eq!(output, expected, "{name} {at:?}"),
                (expected, other) => panic!("{name} {at:?}: expected {expected}, got {other:?}"),
            }
            assert_eq!(runs.get(), total, "{name} {at:?} after {give_up_ms} ms");
        }

        // A duplicate that gives up while it waits changes nothing for the call it waited for.
        let args = args("cancel-waiter", name);
        let executor = Arc::new(Executor::with_store(Arc::clone(inner)));
        let runs = Runs::default();
        let leader = {
            let (executor, args, runs) = (Arc::clone(&executor), args.clone(), runs.clone());
            let spec = spec(lease, wait(Duration::from_secs(10)));
            tokio::spawn(async move {
                executor
                    .execute(&spec, &Context::new(), &args, || async {
                        runs.add();
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Ok::<_, std::io::Error>("first run".to_owned())
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting_spec = spec(lease, wait(Duration::from_secs(10)));
        let ctx = Context::new();
        let waiter = executor.execute(&waiting_spec, &ctx, &args, || async {
            runs.add();
            Ok::<_, std::io::Error>("second run".to_owned())
        });
        assert!(
            tokio::time::timeout(Duration::from_millis(50), waiter)
                .await
                .is_err()
        );
        assert_eq!(leader.await.unwrap().unwrap().output, "first run");
        let replay = retry_until_settled(&executor, &retry_spec, &args, &runs).await;
        assert_eq!(replay.unwrap(), "first run", "{name}");
        assert_eq!(runs.get(), 1, "{name}: a waiter that gave up");
    }
}
