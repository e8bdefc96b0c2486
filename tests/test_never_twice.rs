//! "A duplicate never runs twice" on the ordinary paths where it used to break: hosts whose
//! clocks disagree, a caller that gives up mid-call, a tool that panics or fails while
//! duplicates wait for it, a tool that runs longer than its lease, outputs of `()` and `None`, a
//! waiter meeting a dead holder.
//!
//! Every test runs on every store: memory, redb, SQLite (with the `sqlite` feature), and Redis
//! and PostgreSQL when `IDEM_REDIS_URL` and `IDEM_POSTGRES_URL` are set (with the `redis` and
//! `postgres` features). Each counts the tool's runs: the expected count is 1.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idem::Context;
use idem::clock::ManualClock;
use idem::executor::{ExecuteError, Executor, Holder, Outcome};
use idem::spec::{IdempotencyConfig, InProgressPolicy, ToolSpec};
use idem::store::{
    BoxFuture, Claim, ClaimOutcome, Completion, MemoryStore, Record, RecordKey, RedbStore, Store,
    StoreError, StoredRecord, UnixMillis,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

// ---------------------------------------------------------------------------------------------
// Stores and helpers

/// The stores every test runs on, and what keeps them alive.
struct Stores {
    list: Vec<(&'static str, Arc<dyn Store>)>,
    _dir: tempfile::TempDir,
}

/// Every store this build and environment can give, each fresh.
async fn stores(test: &str) -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let redb = RedbStore::open(dir.path().join("idem.redb")).unwrap();
    #[allow(unused_mut)]
    let mut list: Vec<(&'static str, Arc<dyn Store>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        ("redb", Arc::new(redb)),
    ];
    let run = format!(
        "{test}-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    #[cfg(feature = "redis")]
    if let Some(url) = support::servers::server_url("IDEM_REDIS_URL", test) {
        let options = idem::store::RedisOptions::new()
            .with_prefix(&format!("idem-test:t{run}"))
            .expect("a valid prefix");
        let store = idem::store::RedisStore::connect_with(&url, options)
            .await
            .expect("connect to IDEM_REDIS_URL");
        list.push(("redis", Arc::new(store)));
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = support::servers::server_url("IDEM_POSTGRES_URL", test) {
        let table = format!("idem_test_{}", run.replace('-', "_"));
        let table = idem::store::PostgresTable::new(&table).expect("a valid table name");
        let options = idem::store::PostgresOptions::new().with_table(table);
        let store = idem::store::PostgresStore::connect_with(&url, options)
            .await
            .expect("connect to IDEM_POSTGRES_URL");
        list.push(("postgres", Arc::new(store)));
    }
    #[cfg(feature = "sqlite")]
    {
        let sqlite = idem::store::SqliteStore::open(dir.path().join("idem.sqlite")).unwrap();
        list.push(("sqlite", Arc::new(sqlite)));
    }
    let _ = run;
    Stores { list, _dir: dir }
}

/// A tool spec with this lease and in-progress policy.
fn spec(lease: Duration, on_in_progress: InProgressPolicy) -> ToolSpec {
    ToolSpec::function("never-twice-v1", "never_twice")
        .configure(|c| c.in_progress_ttl(lease).on_in_progress(on_in_progress))
        .build()
        .unwrap()
}

fn wait(timeout: Duration) -> InProgressPolicy {
    InProgressPolicy::Wait { timeout }
}

/// The arguments of a call: one per test and store, so that stores shared between tests (Redis,
/// PostgreSQL) never mix them.
fn args(test: &str, store: &str) -> Value {
    json!({"test": test, "store": store})
}

/// A hosted executor: on `store`, with a clock of its own `skew` ahead of the true time.
fn host(store: &Arc<dyn Store>, skew: Duration) -> Executor {
    let clock = ManualClock::at_unix_seconds(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    clock.advance(now + skew);
    Executor::with_store(Arc::clone(store)).with_clock(Arc::new(clock))
}

/// How many times a tool ran.
#[derive(Clone, Default)]
struct Runs(Arc<AtomicUsize>);

impl Runs {
    fn add(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Clock skew

/// Two hosts whose clocks differ by 30 s and by 5 minutes share a store: while the first runs
/// the tool (past its lease, renewing it), the second never takes the key over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hosts_with_skewed_clocks_never_take_over_a_live_claim() {
    let stores = stores("skew").await;
    for (name, store) in &stores.list {
        for skew in [Duration::from_secs(30), Duration::from_secs(300)] {
            let test = format!("skew-{}", skew.as_secs());
            let args = args(&test, name);
            let lease = Duration::from_millis(600);
            let a = Arc::new(host(store, Duration::ZERO));
            let b = host(store, skew);
            let runs = Runs::default();
            let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
            let first = {
                let (a, args, runs) = (Arc::clone(&a), args.clone(), runs.clone());
                let (started, release) = (Arc::clone(&started), Arc::clone(&release));
                let spec = spec(lease, wait(Duration::from_secs(10)));
                tokio::spawn(async move {
                    a.execute(&spec, &Context::new(), &args, || async {
                        runs.add();
                        started.notify_one();
                        release.notified().await;
                        Ok::<_, std::io::Error>("charged".to_owned())
                    })
                    .await
                })
            };
            started.notified().await;
            // Host B is `skew` ahead: by its clock, A's lease ended long ago.
            let refuse = spec(lease, InProgressPolicy::Fail);
            for _ in 0..3 {
                let err = b
                    .execute(&refuse, &Context::new(), &args, || async {
                        runs.add();
                        Ok::<_, std::io::Error>("twice".to_owned())
                    })
                    .await
                    .unwrap_err();
                assert!(
                    matches!(err, ExecuteError::InProgress { .. }),
                    "{name}, skew {skew:?}: {err}"
                );
                tokio::time::sleep(lease / 2).await;
            }
            release.notify_one();
            let first = first.await.unwrap().unwrap();
            assert_eq!(first.outcome, Outcome::Executed { took_over: false });
            let replay = b
                .execute(&refuse, &Context::new(), &args, || async {
                    runs.add();
                    Ok::<_, std::io::Error>("twice".to_owned())
                })
                .await
                .unwrap();
            assert_eq!(replay.output, "charged", "{name}");
            assert_eq!(runs.get(), 1, "{name}, skew {skew:?}: the tool ran once");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Cancellation

/// A store that pauses before (or after) its claim or completion: where a caller can give up.
#[derive(Debug)]
struct Paused {
    inner: Arc<dyn Store>,
    pause: Duration,
    at: Pause,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Pause {
    /// Before a claim reaches the store.
    BeforeClaim,
    /// After a claim landed, before its answer comes back.
    AfterClaim,
    /// Before a completion reaches the store.
    BeforeComplete,
}

impl Paused {
    async fn pause_if(&self, at: Pause) {
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
async fn retry_until_settled(
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
    let stores = stores("cancel").await;
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

// ---------------------------------------------------------------------------------------------
// 3. Panicking and failing leaders

/// What a call of these tests gives.
type CallResult = Result<idem::executor::Execution<String>, ExecuteError<std::io::Error>>;

/// How the tool of [`spawn_call`] ends, after 100 ms.
#[derive(Clone, Copy)]
enum Ending {
    Succeeds,
    Fails,
    Panics,
}

/// A call of `args` on `executor`, spawned; the tool counts its runs in `runs`.
fn spawn_call(
    executor: &Arc<Executor>,
    spec: &Arc<ToolSpec>,
    args: &Value,
    runs: &Runs,
    ending: Ending,
) -> tokio::task::JoinHandle<CallResult> {
    let (executor, spec, args, runs) = (
        Arc::clone(executor),
        Arc::clone(spec),
        args.clone(),
        runs.clone(),
    );
    tokio::spawn(async move {
        executor
            .execute(&spec, &Context::new(), &args, || async {
                runs.add();
                tokio::time::sleep(Duration::from_millis(100)).await;
                match ending {
                    Ending::Succeeds => Ok("charged".to_owned()),
                    Ending::Fails => Err(std::io::Error::other("gateway timeout")),
                    Ending::Panics => panic!("the card reader exploded"),
                }
            })
            .await
    })
}

/// A leader whose tool ends as `ending`, then three duplicates that join it while it runs: the
/// leader's result, and the duplicates'.
async fn leader_and_three_joined(
    executor: &Arc<Executor>,
    spec: &Arc<ToolSpec>,
    args: &Value,
    runs: &Runs,
    ending: Ending,
) -> (Result<CallResult, tokio::task::JoinError>, Vec<CallResult>) {
    let leader = spawn_call(executor, spec, args, runs, ending);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let duplicates: Vec<_> = (0..3)
        .map(|_| spawn_call(executor, spec, args, runs, Ending::Succeeds))
        .collect();
    let leader = leader.await;
    let mut joined = Vec::new();
    for duplicate in duplicates {
        joined.push(duplicate.await.expect("a duplicate does not panic"));
    }
    (leader, joined)
}

/// A tool that panics while three duplicates of its call wait for it: the duplicates get an
/// unknown outcome (never a run of their own), the panic reaches the leader's caller, and a
/// retry 9 ms later, in this process or another, is told the outcome is unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_panicking_tool_with_waiting_duplicates_runs_once() {
    let stores = stores("panic").await;
    for (name, store) in &stores.list {
        let args = args("panic", name);
        let executor = Arc::new(Executor::with_store(Arc::clone(store)));
        let spec = Arc::new(spec(Duration::from_secs(2), wait(Duration::from_secs(10))));
        let runs = Runs::default();
        let (leader, joined) =
            leader_and_three_joined(&executor, &spec, &args, &runs, Ending::Panics).await;
        let panicked = leader.unwrap_err();
        assert!(panicked.is_panic(), "{name}: the panic reaches the caller");
        for duplicate in joined {
            match duplicate {
                Err(ExecuteError::OutcomeUnknown { reason, .. }) => {
                    assert!(reason.contains("the card reader exploded"), "{reason}");
                }
                other => panic!("{name}: a joined duplicate got {other:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(9)).await;
        let elsewhere = Arc::new(Executor::with_store(Arc::clone(store)));
        for executor in [&executor, &elsewhere] {
            let err = spawn_call(executor, &spec, &args, &runs, Ending::Succeeds)
                .await
                .unwrap()
                .unwrap_err();
            assert!(
                matches!(err, ExecuteError::OutcomeUnknown { .. }),
                "{name}: {err}"
            );
            assert!(err.to_string().contains("will not run again"), "{err}");
        }
        assert_eq!(runs.get(), 1, "{name}: 1 leader, 3 joined, 2 retries");
    }
}

/// A tool that fails (and is released for a retry) while three duplicates wait: they share its
/// error instead of running the tool; the next call after them runs it again, as the policy says.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_that_joined_a_failing_call_share_its_error() {
    let stores = stores("fail").await;
    for (name, store) in &stores.list {
        let args = args("fail", name);
        let executor = Arc::new(Executor::with_store(Arc::clone(store)));
        let spec = Arc::new(spec(Duration::from_secs(2), wait(Duration::from_secs(10))));
        let runs = Runs::default();
        let (leader, joined) =
            leader_and_three_joined(&executor, &spec, &args, &runs, Ending::Fails).await;
        let err = leader.unwrap().unwrap_err();
        assert!(matches!(err, ExecuteError::Tool(_)), "{name}: {err}");
        for duplicate in joined {
            match duplicate {
                Err(ExecuteError::Joined { error, .. }) => assert_eq!(error, "gateway timeout"),
                other => panic!("{name}: a joined duplicate got {other:?}"),
            }
        }
        assert_eq!(runs.get(), 1, "{name}: the duplicates did not run");
        let again = spawn_call(&executor, &spec, &args, &runs, Ending::Fails)
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(again, ExecuteError::Tool(_)), "{name}: {again}");
        assert_eq!(runs.get(), 2, "{name}: released, so the next call runs");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Outputs of `()` and `None`

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_and_none_outputs_replay_on_every_store() {
    let stores = stores("null").await;
    for (name, store) in &stores.list {
        let executor = Executor::with_store(Arc::clone(store));
        let spec = spec(Duration::from_secs(5), InProgressPolicy::Fail);
        let runs = Runs::default();
        let unit_args = args("unit", name);
        for expected in [
            Outcome::Executed { took_over: false },
            Outcome::Replayed { args_differ: false },
        ] {
            let run = executor
                .execute(&spec, &Context::new(), &unit_args, || async {
                    runs.add();
                    Ok::<(), std::io::Error>(())
                })
                .await
                .unwrap_or_else(|e| panic!("{name}: (): {e}"));
            assert_eq!(run.outcome, expected, "{name}: ()");
        }
        let none_args = args("none", name);
        for expected in [
            Outcome::Executed { took_over: false },
            Outcome::Replayed { args_differ: false },
        ] {
            let run = executor
                .execute(&spec, &Context::new(), &none_args, || async {
                    runs.add();
                    Ok::<Option<u32>, std::io::Error>(None)
                })
                .await
                .unwrap_or_else(|e| panic!("{name}: None: {e}"));
            assert_eq!((run.outcome, run.output), (expected, None), "{name}: None");
        }
        assert_eq!(runs.get(), 2, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. A tool longer than its lease

/// A tool that runs three times its lease keeps its claim (renewed while it runs): another
/// host asking all along finds it in progress, then replays its result.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tool_running_three_times_its_lease_runs_once() {
    let stores = stores("long").await;
    let lease = Duration::from_millis(300);
    for (name, store) in &stores.list {
        let args = args("long", name);
        let runs = Runs::default();
        let first = {
            let executor = Executor::with_store(Arc::clone(store));
            let (args, runs) = (args.clone(), runs.clone());
            tokio::spawn(async move {
                executor
                    .execute(
                        &spec(lease, InProgressPolicy::Fail),
                        &Context::new(),
                        &args,
                        || async {
                            runs.add();
                            tokio::time::sleep(lease * 3).await;
                            Ok::<_, std::io::Error>("slow result".to_owned())
                        },
                    )
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let other = Executor::with_store(Arc::clone(store));
        let refuse = spec(lease, InProgressPolicy::Fail);
        let mut asked = 0;
        while !first.is_finished() {
            let result = other
                .execute(&refuse, &Context::new(), &args, || async {
                    runs.add();
                    Ok::<_, std::io::Error>("twice".to_owned())
                })
                .await;
            match result {
                Err(ExecuteError::InProgress { .. }) => asked += 1,
                // The first call finished between the check and this call.
                Ok(replay) => assert_eq!(replay.output, "slow result", "{name}"),
                Err(err) => panic!("{name}: {err}"),
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        assert!(asked >= 10, "{name}: asked {asked} times");
        assert_eq!(first.await.unwrap().unwrap().output, "slow result");
        assert_eq!(runs.get(), 1, "{name}: the tool ran once");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. A dead holder

/// The default wait outlives the default lease: a duplicate waiting on a holder that died takes
/// the key over after its lease (one run). A wait that ends first says who holds the key and
/// when it can be taken over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_outlives_a_dead_holders_lease() {
    assert!(IdempotencyConfig::DEFAULT_WAIT > IdempotencyConfig::DEFAULT_LEASE);
    let stores = stores("dead").await;
    let lease = Duration::from_millis(400);
    for (name, store) in &stores.list {
        let args = args("dead", name);
        let spec_ = spec(lease, wait(lease * 3));
        let executor = Executor::with_store(Arc::clone(store));
        let key = executor.explain(&spec_, &Context::new(), &args).unwrap();
        // A holder claims the key and dies: it never renews.
        let dead = Claim {
            token: "dead-holder",
            fingerprint: "f",
            now: UnixMillis(0),
            lease,
        };
        let address = RecordKey {
            tool: spec_.id(),
            key: key.key().as_str(),
        };
        assert_eq!(
            store.claim(address, &dead).await.unwrap(),
            ClaimOutcome::Claimed
        );
        let impatient = spec(lease, wait(Duration::from_millis(100)));
        let err = executor
            .execute(&impatient, &Context::new(), &args, || async {
                Ok::<_, std::io::Error>("impatient".to_owned())
            })
            .await
            .unwrap_err();
        match &err {
            ExecuteError::WaitTimedOut {
                holder: Holder::Claim { .. },
                ..
            } => assert!(
                err.to_string().contains("taken over once its lease ends"),
                "{err}"
            ),
            other => panic!("{name}: {other}"),
        }
        let runs = Runs::default();
        let taken = executor
            .execute(&spec_, &Context::new(), &args, || async {
                runs.add();
                Ok::<_, std::io::Error>("after the takeover".to_owned())
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(taken.outcome.executed(), "{name}: {:?}", taken.outcome);
        assert_eq!(runs.get(), 1, "{name}");
    }
}
