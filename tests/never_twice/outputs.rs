//! Outputs of `()` and `None`

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_and_none_outputs_replay_on_every_store() {
    let stores = stores(&crate::support::test_name!()).await;
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
