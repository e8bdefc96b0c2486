//! A tool longer than its lease

use super::*;

/// A tool that runs three times its lease keeps its claim (renewed while it runs): another
/// host asking all along finds it in progress, then replays its result.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tool_running_three_times_its_lease_runs_once() {
    let stores = stores(&crate::support::test_name!()).await;
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
