//! Clock skew

use super::*;

/// Two hosts whose clocks differ by 30 s and by 5 minutes share a store: while the first runs
/// the tool (past its lease, renewing it), the second never takes the key over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hosts_with_skewed_clocks_never_take_over_a_live_claim() {
    let stores = stores(&crate::support::test_name!()).await;
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
