//! Exactly once across processes, with a corrupt record on the way.

use super::*;

/// 8 worker processes × 16 tasks call each of 2,000 orders (every worker every order, in its own
/// order, the processes meeting block by block; every 8th order twice within one worker), plus
/// an order whose record is corrupt. The ledger in the server shows every order charged exactly
/// once; every call of every worker got the output of that one execution; the store holds it;
/// every worker's call of the corrupt order failed with `Store(Corrupt)` and its tool never ran.
pub fn exactly_once<B: Backend>(test: &str) {
    exactly_once_sized::<B>(test, Race::FLEET);
}

/// [`exactly_once`], with `size` workers, tasks and orders.
pub fn exactly_once_sized<B: Backend>(test: &str, size: Race) {
    run::<B, _, _>(test, "once", move |backend, fleet| {
        exactly_once_in(backend, fleet, size)
    });
}

/// The size of an [`exactly_once`] race.
#[derive(Debug, Clone, Copy)]
pub struct Race {
    /// Worker processes; every `workers`-th order is called twice within one worker.
    pub workers: usize,
    /// Tasks per worker.
    pub tasks: usize,
    /// Orders, each called by every worker.
    pub keys: usize,
}

impl Race {
    /// 8 processes × 16 tasks × 2,000 orders: the fleet stores' race.
    pub const FLEET: Race = Race {
        workers: 8,
        tasks: 16,
        keys: 2_000,
    };
}

pub(super) const RACE_BLOCK: usize = 32;

pub(super) async fn exactly_once_in<B: Backend>(backend: Arc<B>, fleet: Fleet, size: Race) {
    let test = fleet.test.as_str();
    let Race {
        workers,
        tasks,
        keys,
    } = size;
    let corrupt = "corrupt-0";
    let corrupt_key = Charge::new(corrupt).key();
    backend.plant_corrupt(record_key(&corrupt_key)).await;

    let jobs = (0..workers)
        .map(|w| {
            fleet.job(
                &format!("w{w}"),
                Role::Race {
                    seed: w as u64 + 1,
                    keys,
                    block: RACE_BLOCK,
                    tasks,
                    dup_every: workers,
                    dup_phase: w,
                    corrupt: corrupt.to_owned(),
                    tool_ms: 2,
                },
            )
        })
        .collect();
    let spawned = Instant::now();
    let mut procs = start(jobs).await;
    let ready = spawned.elapsed();
    let started = Instant::now();
    for proc in &mut procs {
        proc.send("go");
    }
    let results = finish(&mut procs, Duration::from_secs(50)).await;
    let elapsed = started.elapsed();

    // The ledger: every order once, nothing else (the corrupt order's tool never ran).
    let ledger = backend.ledger().await;
    let charged = by_order(&ledger);
    assert_no_order_twice(test, &ledger);
    let missing: Vec<_> = orders(keys)
        .into_iter()
        .filter(|o| !charged.contains_key(o.as_str()))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "{test}: orders never charged: {missing:?}"
    );
    assert_eq!(
        ledger.len(),
        keys,
        "{test}: the ledger holds other entries: {:?}",
        charged.keys().find(|o| !o.starts_with('k'))
    );

    // Every call: the output of the one execution; one execution per order.
    let mut executed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_worker = Vec::new();
    for (w, (calls, done)) in results.iter().enumerate() {
        // Every order, again those it calls twice (`dup_phase` = w), and the corrupt order.
        let expected = keys + (0..keys).filter(|i| i % workers == w).count() + 1;
        assert_eq!(
            calls.len(),
            expected,
            "{test}: w{w} made {} calls",
            calls.len()
        );
        assert_eq!(done.calls, expected);
        for c in calls {
            if c.order == corrupt {
                assert_eq!(
                    c.got,
                    Got::Corrupt,
                    "{test}: w{w} on the corrupt record: {c:?}"
                );
                continue;
            }
            assert!(c.got.is_ok(), "{test}: w{w}: {c:?}");
            let ran = charged[c.order.as_str()][0];
            assert_eq!(
                c.output.as_deref(),
                Some(ran),
                "{test}: w{w} got another output than the ledger's for {}: {c:?}",
                c.order
            );
            if let Got::Executed { took_over } = c.got {
                assert!(!took_over, "{test}: a takeover with 30 s leases: {c:?}");
                assert_eq!(c.call, ran, "{test}: {c:?}");
                *executed.entry(c.order.as_str()).or_default() += 1;
            }
        }
        per_worker.push(tally(calls.iter().map(|c| &c.got)));
    }
    assert_eq!(executed.len(), keys, "{test}: orders executed by no call");
    assert!(
        executed.values().all(|&n| n == 1),
        "{test}: orders executed twice: {:?}",
        executed
            .iter()
            .filter(|(_, n)| **n > 1)
            .take(10)
            .collect::<Vec<_>>()
    );

    // The store: each order's record holds the ledger's execution; the corrupt record is still
    // there, untouched (no claim overwrote it).
    let admin = backend.admin();
    let by_key: BTreeMap<String, &str> = charged
        .iter()
        .map(|(order, calls)| (Charge::new(order).key(), calls[0]))
        .collect();
    let listed = admin.list().await.expect("list the records");
    assert_eq!(listed.len(), keys + 1, "{test}: records in the store");
    for stored in &listed {
        if stored.key == corrupt_key {
            assert!(
                stored.record.is_err(),
                "{test}: the corrupt record was replaced"
            );
            continue;
        }
        let record = stored.record.as_ref().expect("a readable record");
        assert_eq!(
            recorded_call(record).as_deref(),
            by_key.get(&stored.key).copied(),
            "{test}: the record of {} is not the ledger's execution",
            stored.key
        );
    }
    let corrupt_now = admin.get(record_key(&corrupt_key)).await;
    assert!(
        matches!(corrupt_now, Err(StoreError::Corrupt { .. })),
        "{test}: {corrupt_now:?}"
    );

    // The summary.
    let calls: usize = results.iter().map(|(c, _)| c.len()).sum();
    let counts = tally(results.iter().flat_map(|(c, _)| c.iter().map(|c| &c.got)));
    let metrics = total(results.iter().map(|(_, d)| d.metrics));
    println!(
        "{test}: {workers} processes x {tasks} tasks, {keys} orders, {calls} calls \
         in {elapsed:.2?} ({:.0} calls/s; the workers started in {ready:.2?})",
        calls as f64 / elapsed.as_secs_f64()
    );
    println!("{test}: outcomes {counts:?}");
    println!(
        "{test}: executor counters: executions {}, replays {}, joins {}, waits {} (calls that \
         waited for a running execution), takeovers {}, errors {}",
        metrics.executions,
        metrics.replays,
        metrics.joins,
        metrics.waits,
        metrics.takeovers,
        metrics.errors
    );
    for (w, (counts, (_, done))) in per_worker.iter().zip(&results).enumerate() {
        println!(
            "{test}:   w{w}: {counts:?}, waits {}, {} ms",
            done.metrics.waits, done.elapsed_ms
        );
    }
    println!(
        "{test}: ledger: {} entries, every order once; all {workers} processes agree on \
         every output; {workers} of {workers} got Store(Corrupt) on the corrupt \
         record, whose tool never ran",
        ledger.len()
    );
    assert_eq!(counts.get("executed"), Some(&keys));
    assert_eq!(counts.get("Store(Corrupt)"), Some(&workers));
}
