//! Several stores on one table, as a fleet shares it.

use std::sync::Arc;

use idem::store::{
    ClaimOutcome, Completion, PostgresOptions, PostgresStore, RecordKey, RecordState, Store,
};

use super::claim_by;
use crate::store_conformance::LONG_TTL as TTL;

/// Two stores, with pools of their own, on one table: a fleet. Claims racing through both get
/// one winner, and each store sees what the other wrote; a store on a shared pool does too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fleet_shares_one_table() {
    let pg = crate::support::postgres_fixture!();
    let first = pg.store(PostgresOptions::new().with_pool_size(4)).await;
    let options = PostgresOptions::new()
        .with_table(first.table().clone())
        .with_pool_size(4);
    let second = Arc::new(
        PostgresStore::connect_with(pg.url(), options.clone())
            .await
            .unwrap(),
    );
    let third = Arc::new(PostgresStore::from_pool(first.pool().clone(), options));
    let stores: [Arc<dyn Store>; 3] = [first.clone(), second.clone(), third];
    for round in 0..8 {
        let key = format!("k{round}");
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let store = Arc::clone(&stores[i % 3]);
                let key = key.clone();
                tokio::spawn(async move {
                    let key = RecordKey {
                        tool: "fleet",
                        key: &key,
                    };
                    store
                        .claim(key, &claim_by(&format!("w{i}")).claim())
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            if task.await.unwrap() == ClaimOutcome::Claimed {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
    let key = RecordKey {
        tool: "fleet",
        key: "k0",
    };
    let holder = first.get(key).await.unwrap().unwrap().token;
    let done = Completion::Output(b"[1]".to_vec());
    second
        .complete(key, &claim_by(&holder).claim(), &done, TTL)
        .await
        .unwrap();
    let seen = stores[2].get(key).await.unwrap().unwrap();
    assert!(matches!(seen.state, RecordState::Completed { .. }));
}
