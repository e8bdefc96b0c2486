//! Fleet stores: an idem call on `RedisStore` and on `PostgresStore` against the raw commands it
//! is made of, measured in the same run against the same server.
//!
//! For each store (skipped, saying why, when its variable is unset):
//!
//! - **fresh call** (a new key each operation): `Executor::execute` against the same round trips
//!   issued directly with the client, with values of the same size. Redis: `SET key claim NX PX`,
//!   then a small `EVALSHA` that compares the head of the claim and sets the completed record;
//!   PostgreSQL: `INSERT ... ON CONFLICT DO NOTHING`, then `UPDATE ... WHERE token = $3`, both
//!   prepared, in a table of idem's own schema.
//! - **replay** (a completed key): `Executor::execute` against a raw `GET` / prepared `SELECT` of a
//!   record of the same size.
//! - Each sequentially (the median latency of one operation, the two sides taking turns
//!   operation by operation, so that both meet the same load on a shared machine) and with 64
//!   concurrent tasks (operations per second), on a Tokio multi-thread runtime. Redis: each side
//!   has one multiplexed `ConnectionManager`, with the same settings; PostgreSQL: each side has a
//!   pool of 16 connections built the same way (`PostgresStore::connect_with`: the raw side uses
//!   the pool of a second store, on a table of its own).
//! - Diagnosis: the store alone (`Store::claim` + `Store::complete`; `Store::claim` of a completed
//!   key), without the executor; and what each operation costs: CPU time of this process and of
//!   the whole machine, and on the server, Redis CPU time and network bytes (`INFO`), PostgreSQL
//!   transaction ids consumed and WAL bytes written.
//!
//! The concurrent runs of a repetition alternate which side goes first; a figure is the median
//! over the repetitions, a ratio the median of the per-repetition ratios (with their range).
//!
//! ```console
//! IDEM_REDIS_URL=redis://127.0.0.1:6379 \
//! IDEM_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/idem_dev \
//! cargo bench --bench stores --features redis,postgres
//! ```
//!
//! BENCHMARKS.md has the tables. The keys go under a private Redis prefix and the rows into
//! private tables, all removed at the end; nothing else on the servers is touched. Without
//! `--bench` (as `cargo test --benches` runs it) every figure is taken once, on a few operations:
//! a smoke test, not a measurement.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;

use common::{ProcessPayment, TOOL, charge, payment, receipt};
use idem::clock::SystemClock;
use idem::executor::{Executor, Outcome, ToolInput};
use idem::spec::ToolSpec;
use idem::store::{
    Claim, ClaimOutcome, Completion, PostgresOptions, PostgresStore, PostgresTable, Record,
    RecordKey, RecordState, RedisOptions, RedisStore, Store, UnixMillis,
};
use idem::{Context, Idempotent};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// The tool

/// How many bytes a raw record may differ from idem's: the executor's tokens end with a counter
/// in hex, whose digits grow over a run.
const TOKEN_SLACK: usize = 6;

/// A claim token laid out as the executor's: 32 hex digits, `-`, a counter in hex.
fn token(n: u64) -> String {
    format!(
        "{:032x}-{n:x}",
        u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

/// Key `n`, made as idem's keys are: SHA-256, 64 hex digits (never one of the executor's keys,
/// which hash other bytes).
fn hashed_key(n: u64) -> String {
    hex::encode(Sha256::digest(n.to_be_bytes()))
}

/// The lease and result TTL of the tool's spec (the defaults).
const LEASE: Duration = idem::spec::IdempotencyConfig::DEFAULT_LEASE;
const TTL: Duration = Duration::from_secs(24 * 3600);

// ---------------------------------------------------------------------------------------------
// Measurement

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type OpFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
/// One operation. Its argument numbers it: a replay replays key `n % PRIMED`; a fresh call takes
/// a new id of its own.
type Op = Arc<dyn Fn(u64) -> OpFuture + Send + Sync>;
/// Something done between runs, untimed.
type Hook<T> =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>> + Send + Sync>;
/// Reads the server's counters: two figures, in the units of the store's [`Costs`] columns.
type Probe = Hook<[f64; 2]>;
/// Removes the keys written since the last call.
type Tidy = Hook<()>;

/// Concurrent tasks of the throughput runs.
const TASKS: u64 = 64;
/// Completed keys that replays go through: task `t` replays keys `t`, `t + 64`, ... only, so
/// that no two tasks replay the same key at once (the executor would join them in process).
const PRIMED: u64 = TASKS * 16;

fn op<F, Fut>(f: F) -> Op
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    Arc::new(move |n| Box::pin(f(n)))
}

/// An operation of `side`, shared by every run: `f(side, n)`.
fn op_of<S, F, Fut>(side: &Arc<S>, f: F) -> Op
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let side = Arc::clone(side);
    op(move |n| f(Arc::clone(&side), n))
}

/// The pairs every store is measured on: the executor's fresh call and replay against the raw
/// ones (the issue's targets), and the store alone against the same raw operations.
fn standard_pairs(
    idem: &Arc<IdemSide>,
    values: &Values,
    raw_fresh: Op,
    raw_replay: Op,
) -> Result<Vec<Pair>, BoxError> {
    Ok(vec![
        Pair {
            what: "fresh call",
            idem: idem.fresh(),
            raw: Arc::clone(&raw_fresh),
            target: true,
        },
        Pair {
            what: "replay",
            idem: idem.replay(),
            raw: Arc::clone(&raw_replay),
            target: true,
        },
        Pair {
            what: "store claim + complete, no executor",
            idem: idem.store_fresh(values.fingerprint.clone(), values.output.clone()),
            raw: raw_fresh,
            target: false,
        },
        Pair {
            what: "store claim of a completed key, no executor",
            idem: idem.store_replay(values.fingerprint.clone())?,
            raw: raw_replay,
            target: false,
        },
    ])
}

/// The ids handed out by a side that writes new keys, and how far their keys were removed.
struct Ids {
    next: AtomicU64,
    removed: AtomicU64,
}

impl Ids {
    fn from(first: u64) -> Self {
        Ids {
            next: AtomicU64::new(first),
            removed: AtomicU64::new(first),
        }
    }

    fn take(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// The ids handed out since the last call (call it between runs).
    fn unremoved(&self) -> std::ops::Range<u64> {
        let end = self.next.load(Ordering::Relaxed);
        self.removed.swap(end, Ordering::Relaxed)..end
    }
}

/// How much of each measurement.
#[derive(Clone, Copy)]
struct Plan {
    repetitions: usize,
    /// Operations of one sequential run.
    sequential: u64,
    /// Operations of each task in one concurrent run.
    per_task: u64,
}

/// An idem operation and its raw baseline.
struct Pair {
    what: &'static str,
    idem: Op,
    raw: Op,
    /// A row of the issue's targets (otherwise a diagnosis).
    target: bool,
}

/// CPU time used so far, in seconds: this process's, and the whole machine's.
#[derive(Clone, Copy, Default)]
struct Cpu {
    process: f64,
    machine: f64,
}

/// Clock ticks per second of `/proc` (`getconf CLK_TCK`: 100 on Linux).
const TICKS: f64 = 100.0;

fn cpu() -> Cpu {
    // /proc/self/stat: utime and stime are fields 14 and 15, the 12th and 13th after the `)`
    // that closes the command name.
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / TICKS)
        })
        .unwrap_or(f64::NAN);
    // /proc/stat: `cpu user nice system idle iowait irq softirq steal ...`; busy = all but idle
    // and iowait.
    let machine = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| {
            let line = stat.lines().next()?;
            let ticks: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .take(8)
                .map(|t| t.parse().unwrap_or(0.0))
                .collect();
            let busy: f64 = ticks.iter().sum::<f64>() - ticks.get(3)? - ticks.get(4)?;
            Some(busy / TICKS)
        })
        .unwrap_or(f64::NAN);
    Cpu { process, machine }
}

/// What a run cost, summed over runs.
#[derive(Clone, Copy, Default)]
struct Cost {
    ops: u64,
    process: f64,
    machine: f64,
    server: [f64; 2],
}

impl Cost {
    fn add(&mut self, ops: u64, before: (Cpu, [f64; 2]), after: (Cpu, [f64; 2])) {
        self.ops += ops;
        self.process += after.0.process - before.0.process;
        self.machine += after.0.machine - before.0.machine;
        for i in 0..2 {
            self.server[i] += after.1[i] - before.1[i];
        }
    }
}

/// Runs `idem` and `raw` `ops` times each, one operation after the other in a task of the
/// runtime, taking turns (which side goes first alternates), so that both meet the same load of
/// a shared machine; the median time of an operation of each, in µs.
async fn sequential(idem: &Op, raw: &Op, ops: u64) -> Result<(f64, f64), BoxError> {
    let (idem, raw) = (Arc::clone(idem), Arc::clone(raw));
    tokio::spawn(async move {
        let mut idem_times = Vec::with_capacity(ops as usize);
        let mut raw_times = Vec::with_capacity(ops as usize);
        for n in 0..ops {
            let turns = if n.is_multiple_of(2) {
                [(&idem, &mut idem_times), (&raw, &mut raw_times)]
            } else {
                [(&raw, &mut raw_times), (&idem, &mut idem_times)]
            };
            for (op, times) in turns {
                let start = Instant::now();
                op(n).await?;
                times.push(start.elapsed().as_secs_f64() * 1e6);
            }
        }
        Ok((median(&mut idem_times), median(&mut raw_times)))
    })
    .await?
}

/// Runs `op` in [`TASKS`] concurrent tasks, `per_task` times each; the time until all are done.
async fn concurrent(op: &Op, per_task: u64) -> Result<Duration, BoxError> {
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let op = Arc::clone(op);
            tokio::spawn(async move {
                for j in 0..per_task {
                    op(j * TASKS + task).await?;
                }
                Ok::<(), BoxError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(start.elapsed())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// One figure of a pair, per repetition: latencies (µs) or throughputs (ops/s), idem and raw.
#[derive(Default)]
struct Series {
    idem: Vec<f64>,
    raw: Vec<f64>,
}

struct PairResult {
    what: &'static str,
    target: bool,
    latency: Series,
    throughput: Series,
    /// What the concurrent runs cost.
    idem_cost: Cost,
    raw_cost: Cost,
}

/// Measures every pair: warm-up, then sequential runs (the two sides in turns), then concurrent
/// runs (each repetition alternating which side goes first). `tidy`, if any, runs after each
/// run, untimed.
async fn measure(
    pairs: &[Pair],
    plan: Plan,
    probe: &Probe,
    tidy: Option<&Tidy>,
) -> Result<Vec<PairResult>, BoxError> {
    let tidy = || async {
        match tidy {
            Some(tidy) => tidy().await,
            None => Ok(()),
        }
    };
    // Warm-up: connections opened, scripts loaded, statements prepared on every connection.
    for pair in pairs {
        sequential(&pair.idem, &pair.raw, plan.sequential.min(100)).await?;
        for side in [&pair.idem, &pair.raw] {
            concurrent(side, 2).await?;
        }
        tidy().await?;
    }
    let mut results: Vec<PairResult> = pairs
        .iter()
        .map(|pair| PairResult {
            what: pair.what,
            target: pair.target,
            latency: Series::default(),
            throughput: Series::default(),
            idem_cost: Cost::default(),
            raw_cost: Cost::default(),
        })
        .collect();
    for _ in 0..plan.repetitions {
        for (pair, result) in pairs.iter().zip(&mut results) {
            let (idem, raw) = sequential(&pair.idem, &pair.raw, plan.sequential).await?;
            result.latency.idem.push(idem);
            result.latency.raw.push(raw);
            tidy().await?;
        }
    }
    for repetition in 0..plan.repetitions {
        for (pair, result) in pairs.iter().zip(&mut results) {
            for idem in order(repetition) {
                let side = if idem { &pair.idem } else { &pair.raw };
                let before = (cpu(), probe().await?);
                let elapsed = concurrent(side, plan.per_task).await?;
                let after = (cpu(), probe().await?);
                let ops = TASKS * plan.per_task;
                let (values, cost) = if idem {
                    (&mut result.throughput.idem, &mut result.idem_cost)
                } else {
                    (&mut result.throughput.raw, &mut result.raw_cost)
                };
                values.push(ops as f64 / elapsed.as_secs_f64());
                cost.add(ops, before, after);
                tidy().await?;
            }
        }
    }
    Ok(results)
}

/// Which side goes first in `repetition`: idem (`true`) on even ones.
fn order(repetition: usize) -> [bool; 2] {
    if repetition.is_multiple_of(2) {
        [true, false]
    } else {
        [false, true]
    }
}

/// The per-operation cost columns of a store's server.
struct Costs {
    names: [&'static str; 2],
    decimals: [usize; 2],
}

fn report(store: &str, plan: Plan, results: &mut [PairResult], costs: &Costs) {
    println!();
    println!(
        "### {store}: {} repetitions; sequential runs of {} operations; concurrent runs of \
         {TASKS} tasks x {} operations\n",
        plan.repetitions, plan.sequential, plan.per_task
    );
    println!("| what | idem | raw | idem / raw (range over repetitions) | target |");
    println!("|---|---:|---:|---:|---|");
    for result in results.iter_mut() {
        let name = if result.target {
            result.what.to_owned()
        } else {
            format!("diagnosis: {}", result.what)
        };
        for (series, latency) in [(&mut result.latency, true), (&mut result.throughput, false)] {
            let mut ratios: Vec<f64> = series
                .idem
                .iter()
                .zip(&series.raw)
                .map(|(idem, raw)| idem / raw)
                .collect();
            let ratio = median(&mut ratios);
            let (low, high) = (ratios[0], ratios[ratios.len() - 1]);
            let (idem, raw) = (median(&mut series.idem), median(&mut series.raw));
            let (row, figures, target) = if latency {
                (
                    format!("{name}, sequential latency (median)"),
                    format!("{idem:.1} µs | {raw:.1} µs"),
                    format!(
                        "≤ 1.15x: {}",
                        if ratio <= 1.15 { "met" } else { "**not met**" }
                    ),
                )
            } else {
                (
                    format!("{name}, throughput at {TASKS} tasks"),
                    format!("{idem:.0} ops/s | {raw:.0} ops/s"),
                    format!(
                        "≥ 0.85x: {}",
                        if ratio >= 0.85 { "met" } else { "**not met**" }
                    ),
                )
            };
            let target = if result.target { target } else { "-".into() };
            println!("| {row} | {figures} | {ratio:.3}x ({low:.2}x to {high:.2}x) | {target} |");
        }
    }
    println!();
    println!(
        "Per operation of the concurrent runs, over all repetitions (CPU time from /proc; the \
         server's counters are server-wide):\n"
    );
    println!(
        "| {TASKS} tasks | side | this process CPU | machine CPU | {} | {} |",
        costs.names[0], costs.names[1]
    );
    println!("|---|---|---:|---:|---:|---:|");
    for result in results.iter() {
        for (side, cost) in [("idem", &result.idem_cost), ("raw", &result.raw_cost)] {
            let ops = cost.ops as f64;
            println!(
                "| {} | {side} | {:.1} µs | {:.1} µs | {:.*} | {:.*} |",
                result.what,
                cost.process / ops * 1e6,
                cost.machine / ops * 1e6,
                costs.decimals[0],
                cost.server[0] / ops,
                costs.decimals[1],
                cost.server[1] / ops,
            );
        }
    }
}

/// A name no other run uses: `{stem}_{pid}_{nanos}` (hex nanoseconds, 48 bits).
fn unique(stem: &str, separator: char) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{stem}{separator}{}{separator}{:x}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    )
}

fn ensure(condition: bool, what: impl FnOnce() -> String) -> Result<(), BoxError> {
    if condition {
        Ok(())
    } else {
        Err(what().into())
    }
}

// ---------------------------------------------------------------------------------------------
// The idem side, on any store

/// An executor over the store under test, and the payments it has completed (for replays).
struct IdemSide {
    executor: Executor,
    spec: ToolSpec,
    /// Transaction ids of fresh calls (after the primed ones).
    fresh_ids: Ids,
    /// Keys of the store's own fresh claims (`hashed_key(n)`).
    store_ids: Ids,
    primed: Vec<ProcessPayment>,
}

impl IdemSide {
    /// An executor over `store`, with [`PRIMED`] payments executed.
    async fn new(store: Arc<dyn Store>) -> Result<Arc<Self>, BoxError> {
        let mut side = IdemSide {
            executor: Executor::with_store(store),
            spec: ToolSpec::for_args::<ProcessPayment>().build()?,
            fresh_ids: Ids::from(PRIMED),
            store_ids: Ids::from(0),
            primed: (0..PRIMED).map(payment).collect(),
        };
        ensure(side.spec.id() == TOOL, || "the spec's tool id".into())?;
        ensure(
            side.spec.idempotency().lease() == LEASE && side.spec.idempotency().result_ttl() == TTL,
            || "the spec's lease and TTL are not the defaults".into(),
        )?;
        let primed = std::mem::take(&mut side.primed);
        for args in &primed {
            let done = side
                .executor
                .execute(&side.spec, &Context::new(), args, || charge(args))
                .await?;
            ensure(
                done.outcome == Outcome::Executed { took_over: false },
                || format!("priming: {:?}", done.outcome),
            )?;
        }
        side.primed = primed;
        Ok(Arc::new(side))
    }

    fn fresh(self: &Arc<Self>) -> Op {
        op_of(self, |side, _| async move {
            let args = payment(side.fresh_ids.take());
            let done = side
                .executor
                .execute(&side.spec, &Context::new(), &args, || charge(&args))
                .await?;
            ensure(
                done.outcome == Outcome::Executed { took_over: false },
                || format!("a fresh call: {:?}", done.outcome),
            )
        })
    }

    fn replay(self: &Arc<Self>) -> Op {
        op_of(self, |side, n| async move {
            let args = &side.primed[(n % PRIMED) as usize];
            let done = side
                .executor
                .execute(&side.spec, &Context::new(), args, || charge(args))
                .await?;
            ensure(
                done.outcome == Outcome::Replayed { args_differ: false },
                || format!("a replay: {:?}", done.outcome),
            )?;
            ensure(done.output == receipt(args), || "a replayed output".into())
        })
    }

    /// The store alone, as the executor uses it for a fresh call: claim, then complete.
    fn store_fresh(self: &Arc<Self>, fingerprint: String, output: Vec<u8>) -> Op {
        let side = Arc::clone(self);
        let values = Arc::new((fingerprint, Completion::Output(output)));
        op(move |_| {
            let (side, values) = (Arc::clone(&side), Arc::clone(&values));
            async move {
                let n = side.store_ids.take();
                let key = hashed_key(n);
                let key = RecordKey {
                    tool: TOOL,
                    key: &key,
                };
                let store = side.executor.store();
                let token = token(n);
                let claim = Claim {
                    token: &token,
                    fingerprint: &values.0,
                    now: UnixMillis::now(&SystemClock),
                    lease: LEASE,
                };
                let claimed = store.claim(key, &claim).await?;
                ensure(claimed == ClaimOutcome::Claimed, || {
                    format!("a store claim: {claimed:?}")
                })?;
                store.complete(key, &claim, &values.1, TTL).await?;
                Ok(())
            }
        })
    }

    /// The keys written by fresh calls (of the executor and of the store alone) since the last
    /// call.
    fn written_keys(&self) -> Result<Vec<String>, BoxError> {
        let mut keys = Vec::new();
        for id in self.fresh_ids.unremoved() {
            let key = Idempotent::idempotency_key(&payment(id), &Context::new())?;
            keys.push(key.as_str().to_owned());
        }
        keys.extend(self.store_ids.unremoved().map(hashed_key));
        Ok(keys)
    }

    /// The store alone, as the executor uses it for a replay: a claim that finds the record.
    fn store_replay(self: &Arc<Self>, fingerprint: String) -> Result<Op, BoxError> {
        let side = Arc::clone(self);
        let keys: Vec<String> = side
            .primed
            .iter()
            .map(|args| {
                Ok(Idempotent::idempotency_key(args, &Context::new())?
                    .as_str()
                    .to_owned())
            })
            .collect::<Result<_, BoxError>>()?;
        let values = Arc::new((keys, fingerprint));
        Ok(op(move |n| {
            let (side, values) = (Arc::clone(&side), Arc::clone(&values));
            async move {
                let key = RecordKey {
                    tool: TOOL,
                    key: &values.0[(n % PRIMED) as usize],
                };
                let token = token(n);
                let claim = Claim {
                    token: &token,
                    fingerprint: &values.1,
                    now: UnixMillis::now(&SystemClock),
                    lease: LEASE,
                };
                match side.executor.store().claim(key, &claim).await? {
                    ClaimOutcome::Existing(Record {
                        state:
                            RecordState::Completed {
                                output: Some(_), ..
                            },
                        ..
                    }) => Ok(()),
                    other => Err(format!("a store claim of a completed key: {other:?}").into()),
                }
            }
        }))
    }
}

/// The bytes idem keeps for a payment: its fingerprint, the tool's output, and the claim and
/// completed records as `Record::encode` writes them (a token laid out as the executor's, times of now).
struct Values {
    fingerprint: String,
    output: Vec<u8>,
    claim: Vec<u8>,
    completed: Vec<u8>,
    now: UnixMillis,
}

fn values() -> Result<Values, BoxError> {
    let args = payment(0);
    let fingerprint = ToolInput::fingerprint(&args)?;
    let output = serde_json::to_vec(&receipt(&args))?;
    let now = UnixMillis::now(&SystemClock);
    let claim = Record::in_progress(token(0), fingerprint.clone(), now, now.plus(LEASE));
    let completed = Record {
        state: RecordState::Completed {
            output: Some(output.clone()),
            expires_at: now.plus(TTL),
        },
        ..claim.clone()
    };
    Ok(Values {
        claim: claim.encode("bench")?,
        completed: completed.encode("bench")?,
        fingerprint,
        output,
        now,
    })
}

// ---------------------------------------------------------------------------------------------
// Redis

/// The raw side of Redis: its connection, its keys and the values it writes.
struct RawRedis {
    conn: ConnectionManager,
    prefix: String,
    ids: Ids,
    claim: Vec<u8>,
    /// The claim up to and including `"fingerprint":`: what the completion compares.
    claim_head: Vec<u8>,
    completed: Vec<u8>,
    claim_px: String,
    ttl_px: String,
    complete: redis::Script,
}

/// The raw completion: compare the head of the claim, set the completed record.
const RAW_COMPLETE: &str = r"
local found = redis.call('GET', KEYS[1])
if found and string.sub(found, 1, #ARGV[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

impl RawRedis {
    /// Key `n`, laid out as `RedisStore` lays out a key of 64 hex digits (`n` in hex: Redis
    /// hashes its keys, so their order does not matter, and the raw side need not pay for SHA-256).
    fn address(&self, n: u64) -> String {
        format!("{}:{}:{TOOL}:{n:064x}", self.prefix, TOOL.len())
    }

    async fn fresh_call(&self) -> Result<(), BoxError> {
        let address = self.address(self.ids.take());
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(&address)
            .arg(&self.claim)
            .arg("NX")
            .arg("PX")
            .arg(&self.claim_px)
            .query_async(&mut conn)
            .await?;
        ensure(set.is_some(), || format!("raw SET NX: {address} was taken"))?;
        let done: i64 = self
            .complete
            .key(&address)
            .arg(&self.claim_head)
            .arg(&self.completed)
            .arg(&self.ttl_px)
            .invoke_async(&mut conn)
            .await?;
        ensure(done == 1, || format!("raw completion of {address}: {done}"))
    }

    /// A replay made of the command `RedisStore` claims with on Redis 7: `SET claim NX PX GET`
    /// on a completed key, which answers with the record.
    async fn replay_set_nx_get(&self, n: u64) -> Result<(), BoxError> {
        let mut conn = self.conn.clone();
        let found: Option<Vec<u8>> = redis::cmd("SET")
            .arg(self.address(n % PRIMED))
            .arg(&self.claim)
            .arg("NX")
            .arg("PX")
            .arg(&self.claim_px)
            .arg("GET")
            .query_async(&mut conn)
            .await?;
        ensure(
            found.is_some_and(|v| v.len() == self.completed.len()),
            || "raw SET NX GET: not the completed record".into(),
        )
    }

    async fn replay(&self, n: u64) -> Result<(), BoxError> {
        let mut conn = self.conn.clone();
        let found: Option<Vec<u8>> = redis::cmd("GET")
            .arg(self.address(n % PRIMED))
            .query_async(&mut conn)
            .await?;
        ensure(
            found.is_some_and(|v| v.len() == self.completed.len()),
            || "raw GET: not the completed record".into(),
        )
    }
}

/// The server's CPU time (µs) and network bytes, in and out, from `INFO`.
async fn redis_counters(mut conn: ConnectionManager) -> Result<[f64; 2], BoxError> {
    let info: String = redis::cmd("INFO").query_async(&mut conn).await?;
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    Ok([
        (field("used_cpu_sys") + field("used_cpu_user")) * 1e6,
        field("total_net_input_bytes") + field("total_net_output_bytes"),
    ])
}

async fn redis_bench(url: &str, plan: Plan) -> Result<(), BoxError> {
    let base = unique("idem-bench", '-');
    let idem_prefix = format!("{base}:idem");
    let raw_prefix = format!("{base}:base");
    let store =
        RedisStore::connect_with(url, RedisOptions::new().with_prefix(&idem_prefix)?).await?;
    // Only to remove the raw side's keys at the end: they follow the store's layout.
    let raw_keys =
        RedisStore::connect_with(url, RedisOptions::new().with_prefix(&raw_prefix)?).await?;
    let measured = tokio::spawn(redis_measure(
        url.to_owned(),
        store.clone(),
        raw_prefix,
        plan,
    ))
    .await;
    let removed = store.purge(true).await;
    let raw_removed = raw_keys.purge(true).await;
    let mut results = measured??;
    println!(
        "(removed {} idem keys and {} raw keys)",
        removed?, raw_removed?
    );
    let costs = Costs {
        names: ["Redis CPU (µs)", "Redis network in + out (bytes)"],
        decimals: [1, 0],
    };
    report("Redis", plan, &mut results, &costs);
    Ok(())
}

async fn redis_measure(
    url: String,
    store: RedisStore,
    raw_prefix: String,
    plan: Plan,
) -> Result<Vec<PairResult>, BoxError> {
    let values = values()?;
    // The raw side's connection: a ConnectionManager set up as RedisStore sets up its own.
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(RedisOptions::DEFAULT_CONNECT_TIMEOUT))
        .set_response_timeout(Some(RedisOptions::DEFAULT_RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    let conn =
        ConnectionManager::new_with_config(redis::Client::open(url.as_str())?, config).await?;
    let head_end = values
        .claim
        .windows(14)
        .position(|w| w == br#""fingerprint":"#)
        .ok_or("no fingerprint in the claim record")?
        + 14;
    let px = |d: Duration| d.as_millis().to_string();
    let raw = Arc::new(RawRedis {
        conn: conn.clone(),
        prefix: raw_prefix,
        ids: Ids::from(0),
        claim_head: values.claim[..head_end].to_vec(),
        claim: values.claim.clone(),
        completed: values.completed.clone(),
        claim_px: px(LEASE + store.claim_grace()),
        ttl_px: px(TTL),
        complete: redis::Script::new(RAW_COMPLETE),
    });
    redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(RAW_COMPLETE)
        .exec_async(&mut conn.clone())
        .await?;
    // Keys 0..PRIMED completed for the raw replays; fresh calls go on from there.
    for _ in 0..PRIMED {
        raw.fresh_call().await?;
    }
    // The primed keys stay.
    raw.ids.unremoved();
    let idem = IdemSide::new(Arc::new(store.clone())).await?;

    // Same sizes: the raw values are those idem wrote, give or take their bytes.
    let first = Idempotent::idempotency_key(&idem.primed[0], &Context::new())?;
    let idem_address = store.redis_key(RecordKey {
        tool: TOOL,
        key: first.as_str(),
    });
    let idem_value: Option<Vec<u8>> = redis::cmd("GET")
        .arg(&idem_address)
        .query_async(&mut conn.clone())
        .await?;
    ensure(idem_address.len() == raw.address(0).len(), || {
        "raw and idem Redis keys differ in length".into()
    })?;
    // Tokens end with a counter in hex: a few digits more or less.
    ensure(
        idem_value.is_some_and(|v| v.len().abs_diff(values.completed.len()) <= TOKEN_SLACK),
        || "raw and idem completed records differ in length".into(),
    )?;

    let raw_fresh = op_of(&raw, |raw, _| async move { raw.fresh_call().await });
    let raw_replay = op_of(&raw, |raw, n| async move { raw.replay(n).await });
    let mut pairs = standard_pairs(&idem, &values, raw_fresh, raw_replay)?;
    pairs.push(Pair {
        what: "replay, against a raw `SET NX PX GET` (idem's claim command)",
        idem: idem.replay(),
        raw: op_of(&raw, |raw, n| async move { raw.replay_set_nx_get(n).await }),
        target: false,
    });
    // The keys of fresh calls are removed after each run, so that the database does not grow
    // (for the other users of a shared server too: a SCAN walks every key).
    let tidy: Tidy = {
        let (idem, raw, store) = (Arc::clone(&idem), Arc::clone(&raw), store.clone());
        Arc::new(move || {
            let (idem, raw, store) = (Arc::clone(&idem), Arc::clone(&raw), store.clone());
            Box::pin(async move {
                let mut addresses: Vec<Vec<u8>> = idem
                    .written_keys()?
                    .iter()
                    .map(|key| store.redis_key(RecordKey { tool: TOOL, key }))
                    .collect();
                addresses.extend(raw.ids.unremoved().map(|n| raw.address(n).into_bytes()));
                let mut conn = raw.conn.clone();
                let mut removed = 0;
                for chunk in addresses.chunks(1_000) {
                    let count: u64 = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await?;
                    removed += count;
                }
                ensure(removed == addresses.len() as u64, || {
                    format!("removed {removed} keys of {}", addresses.len())
                })
            })
        })
    };
    let probe: Probe = Arc::new(move || Box::pin(redis_counters(conn.clone())));
    measure(&pairs, plan, &probe, Some(&tidy)).await
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// Connections of each side's pool (PostgresOptions' default).
const POOL: usize = PostgresOptions::DEFAULT_POOL_SIZE;

/// The raw side of PostgreSQL: the pool of a second store (whose connection created a table of
/// idem's schema), its prepared statements, and the values it writes.
struct RawPostgres {
    store: PostgresStore,
    insert: String,
    update: String,
    select: String,
    ids: Ids,
    fingerprint: String,
    output: String,
    now: i64,
    lease_until: i64,
    expires_at: i64,
}

impl RawPostgres {
    fn new(store: PostgresStore, values: &Values) -> Result<Self, BoxError> {
        let t = store.table().quoted();
        let now = i64::try_from(values.now.0)?;
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Ok(RawPostgres {
            insert: format!(
                "INSERT INTO {t} (tool, key, format, state, token, fingerprint, created_at, \
                 lease_until) VALUES ($1, $2, 1, 'in_progress', $3, $4, $5, $6) \
                 ON CONFLICT (tool, key) DO NOTHING"
            ),
            update: format!(
                "UPDATE {t} SET state = 'completed', lease_until = NULL, expires_at = $4, \
                 output = $5::text::json WHERE tool = $1 AND key = $2 AND token = $3"
            ),
            select: format!(
                "SELECT format, state, token, fingerprint, created_at, lease_until, expires_at, \
                 output::text, error FROM {t} WHERE tool = $1 AND key = $2"
            ),
            ids: Ids::from(0),
            fingerprint: values.fingerprint.clone(),
            output: String::from_utf8(values.output.clone())?,
            now,
            lease_until: now + millis(LEASE),
            expires_at: now + millis(TTL),
            store,
        })
    }

    /// Key `n`: spread over the primary key's B-tree as idem's keys are (consecutive keys
    /// would all go to its rightmost leaf).
    fn key(n: u64) -> String {
        hashed_key(n)
    }

    async fn fresh_call(&self) -> Result<(), BoxError> {
        let n = self.ids.take();
        let (key, token) = (Self::key(n), token(n));
        // A connection from the pool for each statement, as the store takes one.
        let inserted = {
            let client = self.store.pool().get().await?;
            let insert = client.prepare_cached(&self.insert).await?;
            client
                .execute(
                    &insert,
                    &[
                        &TOOL.as_bytes(),
                        &key.as_bytes(),
                        &token,
                        &self.fingerprint,
                        &self.now,
                        &self.lease_until,
                    ],
                )
                .await?
        };
        ensure(inserted == 1, || {
            format!("raw INSERT of key {n}: {inserted} rows")
        })?;
        let updated = {
            let client = self.store.pool().get().await?;
            let update = client.prepare_cached(&self.update).await?;
            client
                .execute(
                    &update,
                    &[
                        &TOOL.as_bytes(),
                        &key.as_bytes(),
                        &token,
                        &self.expires_at,
                        &self.output,
                    ],
                )
                .await?
        };
        ensure(updated == 1, || {
            format!("raw UPDATE of key {n}: {updated} rows")
        })
    }

    async fn replay(&self, n: u64) -> Result<(), BoxError> {
        let key = Self::key(n % PRIMED);
        let client = self.store.pool().get().await?;
        let select = client.prepare_cached(&self.select).await?;
        let row = client
            .query_opt(&select, &[&TOOL.as_bytes(), &key.as_bytes()])
            .await?;
        let output: Option<String> = match &row {
            Some(row) => row.try_get(7)?,
            None => None,
        };
        ensure(output.is_some_and(|o| o.len() == self.output.len()), || {
            format!("raw SELECT of key {n}: not the completed record")
        })
    }

    /// Transaction ids consumed and WAL bytes written so far, server-wide.
    async fn counters(&self) -> Result<[f64; 2], BoxError> {
        let client = self.store.pool().get().await?;
        let row = client
            .query_one(
                "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, \
                 pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint",
                &[],
            )
            .await?;
        let (xid, wal): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        Ok([xid as f64, wal as f64])
    }

    /// Drops `tables` and their purge functions.
    async fn drop_tables(&self, tables: &[&PostgresTable]) -> Result<(), BoxError> {
        let client = self.store.pool().get().await?;
        for table in tables {
            client
                .batch_execute(&format!(
                    "DROP TABLE IF EXISTS {}; DROP FUNCTION IF EXISTS \"{}_purge\"(bigint);",
                    table.quoted(),
                    table.name()
                ))
                .await?;
        }
        Ok(())
    }
}

async fn postgres_bench(url: &str, plan: Plan) -> Result<(), BoxError> {
    let base = unique("idem_bench", '_');
    let idem_table = PostgresTable::new(&format!("{base}_idem"))?;
    let raw_table = PostgresTable::new(&format!("{base}_base"))?;
    let options = |table: &PostgresTable| {
        PostgresOptions::new()
            .with_table(table.clone())
            .with_pool_size(POOL)
    };
    let values = values()?;
    let raw_store = PostgresStore::connect_with(url, options(&raw_table)).await?;
    let raw = Arc::new(RawPostgres::new(raw_store, &values)?);
    let measured = match PostgresStore::connect_with(url, options(&idem_table)).await {
        Ok(store) => tokio::spawn(postgres_measure(store, Arc::clone(&raw), values, plan))
            .await
            .map_err(BoxError::from),
        Err(err) => Err(err.into()),
    };
    let dropped = raw.drop_tables(&[&idem_table, &raw_table]).await;
    let mut results = measured??;
    dropped?;
    println!("(dropped the tables {idem_table} and {raw_table})");
    let costs = Costs {
        names: ["transaction ids", "WAL (bytes)"],
        decimals: [2, 0],
    };
    report("PostgreSQL", plan, &mut results, &costs);
    Ok(())
}

async fn postgres_measure(
    store: PostgresStore,
    raw: Arc<RawPostgres>,
    values: Values,
    plan: Plan,
) -> Result<Vec<PairResult>, BoxError> {
    let idem_table = store.table().quoted();
    // Keys 0..PRIMED completed for the raw replays; fresh calls go on from there.
    for _ in 0..PRIMED {
        raw.fresh_call().await?;
    }
    let idem = IdemSide::new(Arc::new(store)).await?;
    // Same sizes: the raw rows hold values of the lengths idem wrote.
    {
        let client = raw.store.pool().get().await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT length(key), length(token), length(fingerprint), \
                     length(output::text) FROM {idem_table} LIMIT 1"
                ),
                &[],
            )
            .await?;
        let lengths: [i32; 4] = [
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        ];
        let expected = [64, token(0).len(), raw.fingerprint.len(), raw.output.len()];
        let expected = expected.map(|n| n as i32);
        let close = |(a, b): (&i32, &i32)| a.abs_diff(*b) as usize <= TOKEN_SLACK;
        ensure(lengths.iter().zip(&expected).all(close), || {
            format!("idem's row lengths {lengths:?}, the raw rows' {expected:?}")
        })?;
    }

    let raw_fresh = op_of(&raw, |raw, _| async move { raw.fresh_call().await });
    let raw_replay = op_of(&raw, |raw, n| async move { raw.replay(n).await });
    let pairs = standard_pairs(&idem, &values, raw_fresh, raw_replay)?;
    let probe: Probe = Arc::new(move || {
        let raw = Arc::clone(&raw);
        Box::pin(async move { raw.counters().await })
    });
    measure(&pairs, plan, &probe, None).await
}

// ---------------------------------------------------------------------------------------------
// Main

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then a smoke run.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let measuring = args.iter().any(|a| a == "--bench");
    // Other arguments (after `--`) select stores by name: `redis`, `postgres`.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let selected =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let smoke = Plan {
        repetitions: 1,
        sequential: 8,
        per_task: 2,
    };
    let (redis_plan, postgres_plan) = if measuring {
        (
            Plan {
                repetitions: 7,
                sequential: 2_000,
                per_task: 400,
            },
            Plan {
                repetitions: 7,
                sequential: 300,
                per_task: 80,
            },
        )
    } else {
        println!("stores: a smoke run (no --bench): every figure once, on a few operations");
        (smoke, smoke)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread Tokio runtime");
    println!(
        "stores: Tokio multi-thread runtime, {} worker threads",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut failed = false;
    let stores: [(&str, &str, &str, Plan); 2] = [
        (
            "redis",
            "IDEM_REDIS_URL",
            "redis://127.0.0.1:6379",
            redis_plan,
        ),
        (
            "postgres",
            "IDEM_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/idem_dev",
            postgres_plan,
        ),
    ];
    for (name, variable, example, plan) in stores {
        if !selected(name) {
            continue;
        }
        let url = match std::env::var(variable) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                println!(
                    "stores/{name}: skipped: {variable} is not set; set it to e.g. {example} \
                     to measure this store"
                );
                continue;
            }
        };
        let result = runtime.block_on(async {
            match name {
                "redis" => redis_bench(&url, plan).await,
                _ => postgres_bench(&url, plan).await,
            }
        });
        if let Err(err) = result {
            eprintln!("stores/{name}: failed: {err}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
