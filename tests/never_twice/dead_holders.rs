//! A dead holder

use super::*;

/// The default wait outlives the default lease: a duplicate waiting on a holder that died takes
/// the key over after its lease (one run). A wait that ends first says who holds the key and
/// when it can be taken over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_outlives_a_dead_holders_lease() {
    assert!(IdempotencyConfig::DEFAULT_WAIT > IdempotencyConfig::DEFAULT_LEASE);
    let stores = stores(&crate::support::test_name!()).await;
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
