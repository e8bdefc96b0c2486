//! How a pair is measured: sequential latency, concurrent throughput, CPU and server costs, the report.

#[allow(unused_imports)]
use super::*;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type OpFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;
/// One operation. Its argument numbers it: a replay replays key `n % PRIMED`; a fresh call takes
/// a new id of its own.
pub(crate) type Op = Arc<dyn Fn(u64) -> OpFuture + Send + Sync>;
/// Something done between runs, untimed.
pub(crate) type Hook<T> =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>> + Send + Sync>;
/// Reads the server's counters: two figures, in the units of the store's [`Costs`] columns.
pub(crate) type Probe = Hook<[f64; 2]>;
/// Removes the keys written since the last call.
pub(crate) type Tidy = Hook<()>;

/// Concurrent tasks of the throughput runs.
pub(crate) const TASKS: u64 = 64;
/// Completed keys that replays go through: task `t` replays keys `t`, `t + 64`, ... only, so
/// that no two tasks replay the same key at once (the executor would join them in process).
pub(crate) const PRIMED: u64 = TASKS * 16;

pub(crate) fn op<F, Fut>(f: F) -> Op
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    Arc::new(move |n| Box::pin(f(n)))
}

/// An operation of `side`, shared by every run: `f(side, n)`.
pub(crate) fn op_of<S, F, Fut>(side: &Arc<S>, f: F) -> Op
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let side = Arc::clone(side);
    op(move |n| f(Arc::clone(&side), n))
}

/// The pairs every store is measured on: the executor's fresh call and replay against the raw
/// ones (the targets), and the store alone against the same raw operations.
pub(crate) fn standard_pairs(
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
pub(crate) struct Ids {
    pub(crate) next: AtomicU64,
    pub(crate) removed: AtomicU64,
}

impl Ids {
    pub(crate) fn from(first: u64) -> Self {
        Ids {
            next: AtomicU64::new(first),
            removed: AtomicU64::new(first),
        }
    }

    pub(crate) fn take(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// The ids handed out since the last call (call it between runs).
    pub(crate) fn unremoved(&self) -> std::ops::Range<u64> {
        let end = self.next.load(Ordering::Relaxed);
        self.removed.swap(end, Ordering::Relaxed)..end
    }
}

/// How much of each measurement.
#[derive(Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) repetitions: usize,
    /// Operations of one sequential run.
    pub(crate) sequential: u64,
    /// Operations of each task in one concurrent run.
    pub(crate) per_task: u64,
}

/// An idem operation and its raw baseline.
pub(crate) struct Pair {
    pub(crate) what: &'static str,
    pub(crate) idem: Op,
    pub(crate) raw: Op,
    /// A row of the targets (otherwise a diagnosis).
    pub(crate) target: bool,
}

/// CPU time used so far, in seconds: this process's, and the whole machine's.
#[derive(Clone, Copy, Default)]
pub(crate) struct Cpu {
    pub(crate) process: f64,
    pub(crate) machine: f64,
}

/// Clock ticks per second of `/proc` (`getconf CLK_TCK`: 100 on Linux).
pub(crate) const TICKS: f64 = 100.0;

pub(crate) fn cpu() -> Cpu {
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
pub(crate) struct Cost {
    pub(crate) ops: u64,
    pub(crate) process: f64,
    pub(crate) machine: f64,
    pub(crate) server: [f64; 2],
}

impl Cost {
    pub(crate) fn add(&mut self, ops: u64, before: (Cpu, [f64; 2]), after: (Cpu, [f64; 2])) {
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
pub(crate) async fn sequential(idem: &Op, raw: &Op, ops: u64) -> Result<(f64, f64), BoxError> {
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
pub(crate) async fn concurrent(op: &Op, per_task: u64) -> Result<Duration, BoxError> {
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

pub(crate) fn median(values: &mut [f64]) -> f64 {
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
pub(crate) struct Series {
    pub(crate) idem: Vec<f64>,
    pub(crate) raw: Vec<f64>,
}

pub(crate) struct PairResult {
    pub(crate) what: &'static str,
    pub(crate) target: bool,
    pub(crate) latency: Series,
    pub(crate) throughput: Series,
    /// What the concurrent runs cost.
    pub(crate) idem_cost: Cost,
    pub(crate) raw_cost: Cost,
}

/// Measures every pair: warm-up, then sequential runs (the two sides in turns), then concurrent
/// runs (each repetition alternating which side goes first). `tidy`, if any, runs after each
/// run, untimed.
pub(crate) async fn measure(
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
pub(crate) fn order(repetition: usize) -> [bool; 2] {
    if repetition.is_multiple_of(2) {
        [true, false]
    } else {
        [false, true]
    }
}

/// The per-operation cost columns of a store's server.
pub(crate) struct Costs {
    pub(crate) names: [&'static str; 2],
    pub(crate) decimals: [usize; 2],
}

pub(crate) fn report(store: &str, plan: Plan, results: &mut [PairResult], costs: &Costs) {
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
pub(crate) fn unique(stem: &str, separator: char) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{stem}{separator}{}{separator}{:x}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    )
}

pub(crate) fn ensure(condition: bool, what: impl FnOnce() -> String) -> Result<(), BoxError> {
    if condition {
        Ok(())
    } else {
        Err(what().into())
    }
}
