//! A worker killed in its tool, and a worker stopped past its lease.

use super::*;

/// The lease of the crash tests.
pub(super) const SHORT_LEASE: Duration = Duration::from_secs(2);

/// A worker is killed (SIGKILL) inside its tool on 4 orders. Within its lease nobody runs them;
/// after it, 3 other processes racing on them (waiting meanwhile) take each over exactly once:
/// one `Executed { took_over: true }` per order, the others replay it, and the ledger holds that
/// execution only (the killed tool never reached its append).
pub fn killed_mid_tool<B: Backend>(test: &str) {
    run::<B, _, _>(test, "kill", |backend, fleet| {
        killed_mid_tool_in(backend, fleet)
    });
}

pub(super) async fn killed_mid_tool_in<B: Backend>(backend: Arc<B>, fleet: Fleet) {
    let test = fleet.test.as_str();
    let orders: Vec<String> = (0..4).map(|i| format!("crash-{i}")).collect();
    let short = |job: Job| Job {
        lease_ms: u64::try_from(SHORT_LEASE.as_millis()).unwrap(),
        wait_ms: Some(15_000),
        ..job
    };
    let mut holder = start(vec![short(fleet.job(
        "holder",
        Role::Hold {
            orders: orders.clone(),
        },
    ))])
    .await
    .remove(0);
    let mut claimed_ms = u64::MAX;
    for _ in &orders {
        let marker: InTool = holder.expect("in-tool", Duration::from_secs(30)).await;
        claimed_ms = claimed_ms.min(marker.at_ms);
    }
    holder.kill();
    let killed_ms = now_ms();
    println!(
        "{test}: the holder was killed {} ms after entering its tool on {} orders",
        killed_ms - claimed_ms,
        orders.len()
    );

    // Within the lease, the orders are in progress: a caller that does not wait gets
    // `InProgress`, and its tool does not run.
    let store = backend.store(None, Tuning::Normal).await.expect("a store");
    let executor = Executor::with_store(Arc::clone(&store));
    let no_wait = spec(SHORT_LEASE, None);
    for (n, order) in orders.iter().enumerate() {
        let id = format!("parent#{n}");
        let c = call(&*backend, &executor, &no_wait, order, &id, async {}).await;
        if now_ms() < claimed_ms + 1_500 {
            assert_eq!(c.got, Got::InProgress, "{test}: within the lease: {c:?}");
        } else {
            println!("{test}: (the machine is slow: the in-lease check of {order} is skipped)");
            assert!(
                !c.got.ran() || c.got == Got::Executed { took_over: true },
                "{c:?}"
            );
        }
    }

    // Three processes race on the orders; they wait until the lease ends, then one takes each
    // over.
    let jobs = (0..3)
        .map(|c| {
            short(fleet.job(
                &format!("c{c}"),
                Role::Contend {
                    orders: orders.clone(),
                },
            ))
        })
        .collect();
    let mut contenders = start(jobs).await;
    for proc in &mut contenders {
        proc.send("go");
    }
    let results = finish(&mut contenders, Duration::from_secs(30)).await;
    let ledger = backend.ledger().await;
    let charged = by_order(&ledger);
    assert_no_order_twice(test, &ledger);
    let mut taken_ms = 0;
    for order in &orders {
        let calls: Vec<&CallReport> = results
            .iter()
            .flat_map(|(calls, _)| calls)
            .filter(|c| &c.order == order)
            .collect();
        let winners: Vec<_> = calls
            .iter()
            .filter(|c| c.got == Got::Executed { took_over: true })
            .collect();
        assert_eq!(winners.len(), 1, "{test}: {order}: {calls:?}");
        let winner = winners[0];
        taken_ms = taken_ms.max(winner.end_ms);
        assert!(
            winner.end_ms >= claimed_ms + 1_000,
            "{test}: {order} taken over before the lease could end: {winner:?}"
        );
        for c in &calls {
            assert!(
                c.got == Got::Replayed || c.call == winner.call,
                "{test}: {order}: {c:?}"
            );
            assert_eq!(c.output.as_ref(), Some(&winner.call), "{test}: {c:?}");
        }
        assert_eq!(
            charged.get(order.as_str()),
            Some(&vec![winner.call.as_str()]),
            "{test}: the ledger of {order}: only the execution that took it over"
        );
        let replay = call(
            &*backend,
            &executor,
            &no_wait,
            order,
            "parent#replay",
            async {},
        )
        .await;
        assert_eq!(replay.got, Got::Replayed, "{test}: {replay:?}");
        assert_eq!(replay.output.as_ref(), Some(&winner.call));
    }
    assert!(
        ledger.iter().all(|e| !e.call.starts_with("holder")),
        "{test}: the killed worker's tool appended: {ledger:?}"
    );
    let metrics = total(results.iter().map(|(_, d)| d.metrics));
    assert_eq!(
        metrics.takeovers,
        orders.len() as u64,
        "{test}: {metrics:?}"
    );
    let counts = tally(results.iter().flat_map(|(c, _)| c.iter().map(|c| &c.got)));
    println!(
        "{test}: after the lease, 3 processes x {} orders: {counts:?}; executor counters: \
         takeovers {}, waits {}; the last takeover ended {} ms after the holder entered its tool \
         (lease {SHORT_LEASE:?}); ledger: {} entries, none by the killed worker",
        orders.len(),
        metrics.takeovers,
        metrics.waits,
        taken_ms - claimed_ms,
        ledger.len()
    );
}

/// Two workers A0 and A1 each claim an order and enter their tool; both are stopped (SIGSTOP)
/// past their lease, and other processes take the orders over: B0 completes `stall-0`, B1 takes
/// `stall-1` and is still inside its tool when A0 and A1 are continued (SIGCONT) and finish their
/// tools. Both late completions are refused (`ClaimLost`): over B0's completed record, and over
/// B1's live claim, which stays B1's until B1 completes. Each store record is its B's (a replay
/// returns B's output); nothing of A's is in the store.
pub fn stopped_past_lease<B: Backend>(test: &str) {
    run::<B, _, _>(test, "stop", |backend, fleet| {
        stopped_past_lease_in(backend, fleet)
    });
}

pub(super) async fn stopped_past_lease_in<B: Backend>(backend: Arc<B>, fleet: Fleet) {
    let test = fleet.test.as_str();
    let orders = ["stall-0", "stall-1"];
    let job = |name: &str, lease: Duration, role: Role| Job {
        lease_ms: u64::try_from(lease.as_millis()).unwrap(),
        wait_ms: Some(15_000),
        ..fleet.job(name, role)
    };
    let stall = |order: &str| Role::Stall {
        order: order.to_owned(),
    };
    let mut a = start(vec![
        job("stalled-0", SHORT_LEASE, stall(orders[0])),
        job("stalled-1", SHORT_LEASE, stall(orders[1])),
    ])
    .await;
    let (mut entered, mut stopped_after) = ([0; 2], [0; 2]);
    for (i, proc) in a.iter_mut().enumerate() {
        let marker: InTool = proc.expect("in-tool", Duration::from_secs(30)).await;
        proc.signal("STOP");
        entered[i] = marker.at_ms;
        stopped_after[i] = now_ms() - marker.at_ms;
    }

    // Past both leases (which began before the tools did), B0 takes `stall-0` over and
    // completes it; B1 takes `stall-1` over and stays in its tool, holding the new claim for 30 s.
    let lease_end = entered[0].max(entered[1]) + u64::try_from(SHORT_LEASE.as_millis()).unwrap();
    tokio::time::sleep(Duration::from_millis(
        (lease_end + 300).saturating_sub(now_ms()),
    ))
    .await;
    let mut b = start(vec![
        job(
            "taker-0",
            SHORT_LEASE,
            Role::Contend {
                orders: vec![orders[0].to_owned()],
            },
        ),
        job("taker-1", Duration::from_secs(30), stall(orders[1])),
    ])
    .await;
    b[0].send("go");
    let (b0_calls, _) = finish(&mut b[..1], Duration::from_secs(20)).await.remove(0);
    let b0 = b0_calls[0].clone();
    assert_eq!(
        b0.got,
        Got::Executed { took_over: true },
        "{test}: B0 takes {} over: {b0:?}",
        orders[0]
    );
    let b1_entered: InTool = b[1].expect("in-tool", Duration::from_secs(20)).await;

    // A0 and A1 go on: their tools end, and their completions are refused.
    let mut lost = Vec::new();
    for proc in &mut a {
        proc.signal("CONT");
        proc.send("finish");
    }
    for (calls, _) in finish(&mut a, Duration::from_secs(20)).await {
        let c = calls[0].clone();
        assert_eq!(c.got, Got::ClaimLost, "{test}: a late completion: {c:?}");
        assert_eq!(c.output, None);
        lost.push(c);
    }

    // `stall-1` is still B1's claim: A1's completion left it alone.
    let admin = backend.admin();
    let key1 = Charge::new(orders[1]).key();
    let claim = admin
        .get(record_key(&key1))
        .await
        .expect("get")
        .expect("a record");
    match claim.state {
        RecordState::InProgress { lease_until } => assert!(
            lease_until.0 >= b1_entered.at_ms + 25_000,
            "{test}: the claim on {} is not B1's 30 s claim: {claim:?}",
            orders[1]
        ),
        _ => panic!("{test}: A1's completion replaced B1's claim: {claim:?}"),
    }
    b[1].send("finish");
    let (b1_calls, _) = finish(&mut b[1..], Duration::from_secs(20)).await.remove(0);
    let b1 = b1_calls[0].clone();
    assert_eq!(b1.got, Got::Executed { took_over: true }, "{test}: {b1:?}");

    // The store holds B's records, and only them; a replay returns B's outputs.
    let store = backend.store(None, Tuning::Normal).await.expect("a store");
    let executor = Executor::with_store(store);
    let no_wait = spec(SHORT_LEASE, None);
    for (order, taker) in orders.iter().zip([&b0, &b1]) {
        let key = Charge::new(order).key();
        let record = admin
            .get(record_key(&key))
            .await
            .expect("get")
            .expect("a record");
        assert_eq!(
            recorded_call(&record).as_deref(),
            Some(taker.call.as_str()),
            "{test}: the record of {order} is B's: {record:?}"
        );
        let replay = call(
            &*backend,
            &executor,
            &no_wait,
            order,
            "parent#replay",
            async {},
        )
        .await;
        assert_eq!(replay.got, Got::Replayed, "{test}: {replay:?}");
        assert_eq!(
            replay.output.as_ref(),
            Some(&taker.call),
            "{test}: B's output"
        );
    }
    let listed = admin.list().await.expect("list");
    assert_eq!(listed.len(), orders.len(), "{test}: {listed:?}");

    // The side effects: each B's, and each A's own (A's tool ran to its end after SIGCONT:
    // idem refused its result, it cannot undo what the tool did; hence a lease longer than the
    // tool's longest run).
    let ledger = backend.ledger().await;
    let charged = by_order(&ledger);
    assert_eq!(
        charged.get(orders[0]),
        Some(&vec![b0.call.as_str(), lost[0].call.as_str()]),
        "{test}: {ledger:?}"
    );
    assert_eq!(
        charged.get(orders[1]),
        Some(&vec![lost[1].call.as_str(), b1.call.as_str()]),
        "{test}: {ledger:?}"
    );
    println!(
        "{test}: A0 and A1 stopped {} and {} ms into their tools; after the lease \
         ({SHORT_LEASE:?}), B0 took {} over and completed it, B1 took {} over and held it; A0 and \
         A1, continued, got ClaimLost (over B0's record, over B1's live claim); the records and \
         replays are B's; ledger: {:?} (A's side effects are the tool's business)",
        stopped_after[0],
        stopped_after[1],
        orders[0],
        orders[1],
        ledger
            .iter()
            .map(|e| format!("{}:{}", e.order, e.call))
            .collect::<Vec<_>>()
    );
}
