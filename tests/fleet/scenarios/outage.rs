//! An outage of the server in the middle of a load.

use super::*;

pub(super) const LOAD_WORKERS: usize = 2;
pub(super) const LOAD_TASKS: usize = 8;
pub(super) const LOAD_KEYS: usize = 3_000;
pub(super) const LOAD_FRESH: usize = 200;
pub(super) const LOAD_TOOL_MS: u64 = 30;
pub(super) const LOAD_WAIT: Duration = Duration::from_secs(2);
/// Longer than the test: a key whose result could not be recorded stays claimed throughout.
pub(super) const LOAD_LEASE: Duration = Duration::from_secs(300);
pub(super) const CUT_AFTER: Duration = Duration::from_millis(1_000);
pub(super) const CUT_FOR: Duration = Duration::from_millis(1_500);
pub(super) const SETTLE: Duration = Duration::from_millis(1_000);
/// Calls that start this long after the cut (and end before the restore) were entirely in it.
pub(super) const MARGIN_MS: u64 = 20;

/// Two worker processes × 8 tasks load the store through a proxy of the test's own (orders shared
/// by both processes, some twice within one, a tool of 30 ms); the proxy is cut for 1.5 s in the
/// middle, then restored:
///
/// - every call ends in time (the stores' short timeouts), with an output or a typed error:
///   the calls made entirely during the cut get `Store(Unavailable)` (their tool did not run);
///   a cut between claim and completion gives `NotRecorded` (the tool ran once; the key stays
///   claimed: the lease is longer than the test);
/// - once restored, every call of fresh orders succeeds;
/// - the ledger never shows an order twice, each call that ran its tool is in it once and no
///   other, and a last pass over every order (without waiting) runs no tool that already ran.
pub fn outage<B: Backend>(test: &str, op_bound: Duration) {
    run::<B, _, _>(test, "outage", move |backend, fleet| {
        outage_in(backend, fleet, op_bound)
    });
}

pub(super) async fn outage_in<B: Backend>(backend: Arc<B>, fleet: Fleet, op_bound: Duration) {
    let test = fleet.test.as_str();
    let Some(upstream) = B::upstream(&fleet.url) else {
        println!(
            "{test}: skipped: {} is not a URL with a host:port the proxy can forward to",
            B::URL_VAR
        );
        return;
    };
    let proxy = Proxy::start(&upstream);
    let via = proxy.addr.to_string();
    let jobs = (0..LOAD_WORKERS)
        .map(|w| Job {
            via: Some(via.clone()),
            tuning: Tuning::Short,
            lease_ms: u64::try_from(LOAD_LEASE.as_millis()).unwrap(),
            wait_ms: Some(u64::try_from(LOAD_WAIT.as_millis()).unwrap()),
            ..fleet.job(
                &format!("l{w}"),
                Role::Load {
                    seed: w as u64 + 1,
                    keys: LOAD_KEYS,
                    fresh: LOAD_FRESH,
                    block: 16,
                    tasks: LOAD_TASKS,
                    dup_every: 4,
                    tool_ms: LOAD_TOOL_MS,
                    pause_ms: 25,
                },
            )
        })
        .collect();
    let mut procs = start(jobs).await;
    for proc in &mut procs {
        proc.send("go");
    }
    let go_ms = now_ms();
    tokio::time::sleep(CUT_AFTER).await;
    proxy.cut();
    let cut_ms = now_ms();
    tokio::time::sleep(CUT_FOR).await;
    let restore_ms = now_ms();
    proxy.restore();
    tokio::time::sleep(SETTLE).await;
    let phase2_ms = now_ms();
    for proc in &mut procs {
        proc.send("phase2");
    }
    let results = finish(&mut procs, Duration::from_secs(40)).await;
    let (forwarded, refused) = proxy.counts();
    drop(proxy);
    let all: Vec<&CallReport> = results.iter().flat_map(|(calls, _)| calls).collect();

    // Every call: an output or a typed error, in time.
    let bound = LOAD_WAIT + op_bound * 3 + Duration::from_secs(1);
    let slowest = all.iter().map(|c| c.took()).max().unwrap_or_default();
    for c in &all {
        let typed = match c.got {
            Got::Executed { took_over } => !took_over,
            Got::Replayed
            | Got::Joined
            | Got::Unavailable
            | Got::NotRecorded
            | Got::SharedFate
            | Got::WaitTimedOut => true,
            _ => false,
        };
        assert!(typed, "{test}: an unexpected result: {c:?}");
        assert!(
            c.took() <= bound,
            "{test}: a call took {:?} (bound {bound:?}): {c:?}",
            c.took()
        );
    }

    // During the cut: `Store(Unavailable)`, the tool did not run; or, for a call that joined a
    // run of its process begun before the cut (whose result could then not be recorded), that
    // run's error: the call shares its fate and does not run the tool either.
    let during: Vec<&&CallReport> = all
        .iter()
        .filter(|c| c.start_ms >= cut_ms + MARGIN_MS && c.end_ms <= restore_ms)
        .collect();
    assert!(
        !during.is_empty(),
        "{test}: no call was made during the cut: the load missed it"
    );
    for c in &during {
        assert!(
            matches!(c.got, Got::Unavailable | Got::SharedFate),
            "{test}: during the cut: {c:?}"
        );
    }
    let in_flight: Vec<&&CallReport> = all
        .iter()
        .filter(|c| c.start_ms < cut_ms && c.end_ms >= cut_ms)
        .collect();

    // After the restore: fresh orders all succeed.
    let fresh: Vec<&&CallReport> = all.iter().filter(|c| c.order.starts_with('f')).collect();
    assert_eq!(
        fresh.len(),
        LOAD_WORKERS * (LOAD_FRESH + LOAD_FRESH / 4),
        "{test}: fresh calls"
    );
    for c in &fresh {
        assert!(c.got.is_ok(), "{test}: after the restore: {c:?}");
    }

    // The ledger: no order twice; a call is in it if and only if its tool ran; replays give the
    // ledger's execution.
    let ledger = backend.ledger().await;
    assert_no_order_twice(test, &ledger);
    let charged = by_order(&ledger);
    let ran: BTreeSet<&str> = ledger.iter().map(|e| e.call.as_str()).collect();
    for c in &all {
        assert_eq!(
            ran.contains(c.call.as_str()),
            c.got.ran(),
            "{test}: the ledger and the call disagree on whether the tool ran: {c:?}"
        );
        if c.got.is_ok() {
            assert_eq!(
                c.output.as_deref(),
                charged.get(c.order.as_str()).map(|calls| calls[0]),
                "{test}: {c:?}"
            );
        }
    }
    let reported: BTreeSet<&str> = all.iter().map(|c| c.call.as_str()).collect();
    assert!(
        ran.iter().all(|call| reported.contains(call)),
        "{test}: the ledger holds executions no call reported"
    );

    // A last pass over every order touched, without waiting: the orders that ran are replayed,
    // or still claimed (their result was not recorded); only orders whose tool never ran may
    // run now.
    let not_recorded: BTreeSet<&str> = all
        .iter()
        .filter(|c| c.got == Got::NotRecorded)
        .map(|c| c.order.as_str())
        .collect();
    let touched: BTreeSet<&str> = all.iter().map(|c| c.order.as_str()).collect();
    let store = backend.store(None, Tuning::Normal).await.expect("a store");
    let executor = Arc::new(Executor::with_store(store));
    let no_wait = Arc::new(spec(LOAD_LEASE, None));
    let last: Vec<CallReport> = {
        let orders: Arc<Vec<String>> = Arc::new(touched.iter().map(|o| (*o).to_owned()).collect());
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (backend, executor, no_wait, orders, next) = (
                    Arc::clone(&backend),
                    Arc::clone(&executor),
                    Arc::clone(&no_wait),
                    Arc::clone(&orders),
                    Arc::clone(&next),
                );
                tokio::spawn(async move {
                    let mut reports = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(order) = orders.get(i) else { break };
                        let id = format!("last#{i}");
                        reports
                            .push(call(&*backend, &executor, &no_wait, order, &id, async {}).await);
                    }
                    reports
                })
            })
            .collect();
        let mut reports = Vec::new();
        for task in tasks {
            reports.extend(task.await.expect("a task of the last pass"));
        }
        reports
    };
    let mut orphans = 0;
    for c in &last {
        let before = charged.get(c.order.as_str());
        match &c.got {
            Got::Replayed => assert_eq!(
                c.output.as_deref(),
                before.map(|calls| calls[0]),
                "{test}: last pass: {c:?}"
            ),
            Got::InProgress => {
                if before.is_none() {
                    // A claim that reached the server, whose answer the cut lost: the tool never
                    // ran, and the key waits for its lease.
                    orphans += 1;
                }
            }
            Got::Executed { took_over: false } => {
                assert!(
                    before.is_none() && !not_recorded.contains(c.order.as_str()),
                    "{test}: last pass ran an order that had run: {c:?}"
                );
            }
            _ => panic!("{test}: last pass: {c:?}"),
        }
    }
    for order in &not_recorded {
        let c = last
            .iter()
            .find(|c| c.order == *order)
            .expect("a last call");
        assert!(
            matches!(c.got, Got::InProgress | Got::Replayed),
            "{test}: {c:?}"
        );
    }
    let final_ledger = backend.ledger().await;
    assert_no_order_twice(test, &final_ledger);

    // The summary.
    let window = |from: u64, to: u64| {
        tally(
            all.iter()
                .filter(|c| c.start_ms >= from && c.start_ms < to)
                .map(|c| &c.got),
        )
    };
    let metrics = total(results.iter().map(|(_, d)| d.metrics));
    println!(
        "{test}: {LOAD_WORKERS} processes x {LOAD_TASKS} tasks through a proxy; cut {} ms after \
         go, for {} ms; {} calls, the slowest {slowest:?} (bound {bound:?})",
        cut_ms - go_ms,
        restore_ms - cut_ms,
        all.len()
    );
    println!("{test}:   started before the cut: {:?}", window(0, cut_ms));
    println!(
        "{test}:   in flight at the cut: {:?}",
        tally(in_flight.iter().map(|c| &c.got))
    );
    println!(
        "{test}:   started during the cut: {:?} ({} entirely within it, all Store(Unavailable))",
        window(cut_ms, restore_ms),
        during.len()
    );
    println!(
        "{test}:   started after the restore, before phase 2: {:?}",
        window(restore_ms, phase2_ms)
    );
    println!(
        "{test}:   fresh orders after the restore: {:?}",
        tally(fresh.iter().map(|c| &c.got))
    );
    for (_, done) in &results {
        println!(
            "{test}:   {}: store answering again {} ms after phase 2 ({} failed looks)",
            done.name, done.probe_ms, done.probe_failures
        );
    }
    println!(
        "{test}: executor counters: executions {}, replays {}, joins {}, waits {}, errors {}; \
         proxy: {forwarded} connections forwarded, {refused} refused while cut",
        metrics.executions, metrics.replays, metrics.joins, metrics.waits, metrics.errors
    );
    println!(
        "{test}: ledger: {} entries, no order twice; {} NotRecorded (tool ran once, key still \
         claimed); last pass over {} orders: {:?}, {orphans} orders claimed but never run \
         (a claim whose answer the cut lost)",
        ledger.len(),
        not_recorded.len(),
        touched.len(),
        tally(last.iter().map(|c| &c.got))
    );
}
