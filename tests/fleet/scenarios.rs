//! The fleet's proof, written once for every [`Backend`]: exactly once across processes (with a
//! corrupt record on the way), a worker killed in its tool, a worker stopped past its lease, and
//! an outage of the server in the middle of a load.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idem::executor::Executor;
use idem::store::{RecordKey, RecordState, StoreError};

use super::proc::Proc;
use super::proxy::Proxy;
use super::worker::{Done, InTool, Job, Metrics, Role};
use super::{
    Backend, CallReport, Charge, Fleet, Got, Tuning, assert_no_order_twice, by_order, call, now_ms,
    run, spec, tally,
};

/// The tool id of [`Charge`].
const TOOL: &str = "fleet-charge-v1";

fn record_key(key: &str) -> RecordKey<'_> {
    RecordKey { tool: TOOL, key }
}

/// The orders `k00000..k{n}`.
fn orders(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("k{i:05}")).collect()
}

/// Starts `jobs`, and waits until each says it is ready.
async fn start(jobs: Vec<Job>) -> Vec<Proc> {
    let mut procs: Vec<Proc> = jobs.iter().map(Proc::spawn).collect();
    for proc in &mut procs {
        let _: String = proc.expect("ready", Duration::from_secs(45)).await;
    }
    procs
}

/// Every worker's calls and last report, within `timeout` in all; each worker must then exit
/// successfully.
async fn finish(procs: &mut [Proc], timeout: Duration) -> Vec<(Vec<CallReport>, Done)> {
    let deadline = Instant::now() + timeout;
    let mut results = Vec::new();
    for proc in procs.iter_mut() {
        let left = deadline.saturating_duration_since(Instant::now());
        results.push(proc.calls_until_done(left).await);
    }
    for proc in procs.iter_mut() {
        let status = proc.wait(Duration::from_secs(10)).await;
        assert!(status.success(), "{}: exited with {status}", proc.name);
    }
    results
}

fn total(metrics: impl Iterator<Item = Metrics>) -> Metrics {
    metrics.fold(Metrics::default(), |a, m| Metrics {
        executions: a.executions + m.executions,
        replays: a.replays + m.replays,
        joins: a.joins + m.joins,
        waits: a.waits + m.waits,
        takeovers: a.takeovers + m.takeovers,
        errors: a.errors + m.errors,
    })
}

/// The output a completed record holds: the call id of its execution.
fn recorded_call(record: &idem::store::Record) -> Option<String> {
    match &record.state {
        RecordState::Completed {
            output: Some(bytes),
            ..
        } => serde_json::from_slice(bytes).ok(),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Exactly once across processes

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

const RACE_BLOCK: usize = 32;

async fn exactly_once_in<B: Backend>(backend: Arc<B>, fleet: Fleet, size: Race) {
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

// ---------------------------------------------------------------------------------------------
// 2. Crashes

/// The lease of the crash tests.
const SHORT_LEASE: Duration = Duration::from_secs(2);

/// A worker is killed (SIGKILL) inside its tool on 4 orders. Within its lease nobody runs them;
/// after it, 3 other processes racing on them (waiting meanwhile) take each over exactly once:
/// one `Executed { took_over: true }` per order, the others replay it, and the ledger holds that
/// execution only (the killed tool never reached its append).
pub fn killed_mid_tool<B: Backend>(test: &str) {
    run::<B, _, _>(test, "kill", |backend, fleet| {
        killed_mid_tool_in(backend, fleet)
    });
}

async fn killed_mid_tool_in<B: Backend>(backend: Arc<B>, fleet: Fleet) {
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

async fn stopped_past_lease_in<B: Backend>(backend: Arc<B>, fleet: Fleet) {
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

// ---------------------------------------------------------------------------------------------
// 3. An outage

const LOAD_WORKERS: usize = 2;
const LOAD_TASKS: usize = 8;
const LOAD_KEYS: usize = 3_000;
const LOAD_FRESH: usize = 200;
const LOAD_TOOL_MS: u64 = 30;
const LOAD_WAIT: Duration = Duration::from_secs(2);
/// Longer than the test: a key whose result could not be recorded stays claimed throughout.
const LOAD_LEASE: Duration = Duration::from_secs(300);
const CUT_AFTER: Duration = Duration::from_millis(1_000);
const CUT_FOR: Duration = Duration::from_millis(1_500);
const SETTLE: Duration = Duration::from_millis(1_000);
/// Calls that start this long after the cut (and end before the restore) were entirely in it.
const MARGIN_MS: u64 = 20;

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

async fn outage_in<B: Backend>(backend: Arc<B>, fleet: Fleet, op_bound: Duration) {
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
