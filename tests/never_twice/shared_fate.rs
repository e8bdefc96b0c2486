//! Panicking and failing leaders

use super::*;

/// What a call of these tests gives.
pub(super) type CallResult =
    Result<idem::executor::Execution<String>, ExecuteError<std::io::Error>>;

/// How the tool of [`spawn_call`] ends, after 100 ms.
#[derive(Clone, Copy)]
pub(super) enum Ending {
    Succeeds,
    Fails,
    Panics,
}

/// A call of `args` on `executor`, spawned; the tool counts its runs in `runs`.
pub(super) fn spawn_call(
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
pub(super) async fn leader_and_three_joined(
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
    let stores = stores(&crate::support::test_name!()).await;
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
    let stores = stores(&crate::support::test_name!()).await;
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
