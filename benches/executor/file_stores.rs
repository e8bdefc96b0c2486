//! What the benchmarks of the stores kept in a file (redb, SQLite) share: the executor on the
//! store with a recorded call to replay ([`Subject`]), its calls on both kinds of runtime, and
//! the paired measurement of fresh calls against raw writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use idem::clock::SystemClock;
use idem::executor::Executor;
use idem::spec::ToolSpec;
use idem::store::{Store, StoredRecord, UnixMillis};
use tokio::runtime::Runtime;

use super::common::{ProcessPayment, payment};
use super::{
    fresh_payments, multi_thread_runtime, prime_replay, runtime, time_calls_in_task,
    time_fresh_calls, time_replays,
};

/// The executor on a store, on both kinds of runtime, with one call of `args` recorded for the
/// replays.
pub(super) struct Subject {
    pub(super) rt: Runtime,
    pub(super) rt_multi: Runtime,
    pub(super) executor: Arc<Executor>,
    pub(super) spec: Arc<ToolSpec>,
    pub(super) args: ProcessPayment,
}

impl Subject {
    pub(super) fn new(store: impl Store + 'static) -> Subject {
        let subject = Subject {
            rt: runtime(),
            rt_multi: multi_thread_runtime(),
            executor: Arc::new(Executor::new(store)),
            spec: Arc::new(
                ToolSpec::for_args::<ProcessPayment>()
                    .build()
                    .expect("a spec"),
            ),
            args: payment(u64::MAX / 2),
        };
        prime_replay(&subject.rt, &subject.executor, &subject.spec, &subject.args);
        subject
    }

    /// The recorded call's record, and its bytes as the store encodes them: what a raw write of
    /// the same size writes.
    pub(super) fn primed_record(&self) -> (StoredRecord, Vec<u8>) {
        let records = self
            .rt
            .block_on(self.executor.store().list())
            .expect("the records");
        let stored = records.into_iter().next().expect("the primed record");
        let name = format!("{}/{}", stored.tool, stored.key);
        let record = stored.record.as_ref().expect("a readable record");
        assert!(!record.is_expired(UnixMillis::now(&SystemClock)));
        let value = record.encode(&name).expect("an encoding");
        (stored, value)
    }

    /// Registers the executor's calls in `group`: a fresh call in a task of the multi-thread
    /// runtime, and with `all` the replay there and both on a current-thread runtime.
    pub(super) fn bench_calls(&self, group: &mut BenchmarkGroup<'_, WallTime>, all: bool) {
        let Subject {
            rt,
            rt_multi,
            executor,
            spec,
            args,
        } = self;
        group.bench_function(
            "executor: fresh call (multi-thread runtime, in a task)",
            |b| {
                b.iter_custom(|iters| {
                    time_calls_in_task(rt_multi, executor, spec, fresh_payments(iters))
                })
            },
        );
        if !all {
            return;
        }
        group.bench_function("executor: replay (multi-thread runtime, in a task)", |b| {
            b.iter_custom(|iters| {
                let calls = (0..iters).map(|_| args.clone()).collect();
                time_calls_in_task(rt_multi, executor, spec, calls)
            })
        });
        group.bench_function("executor: fresh call (current-thread runtime)", |b| {
            b.iter_custom(|iters| time_fresh_calls(rt, executor, spec, &fresh_payments(iters)))
        });
        group.bench_function("executor: replay (current-thread runtime)", |b| {
            b.iter_custom(|iters| time_replays(rt, executor, spec, args, iters))
        });
    }

    /// [`paired_fresh_and_raw_writes`] on the multi-thread runtime (in a task) and, with
    /// `current_thread`, on a current-thread runtime.
    pub(super) fn paired<W: FnOnce()>(
        &self,
        store: &str,
        raw_write: &dyn Fn(u64) -> W,
        next_raw: &AtomicU64,
        current_thread: bool,
    ) {
        let Subject {
            rt,
            rt_multi,
            executor,
            spec,
            ..
        } = self;
        paired_fresh_and_raw_writes(
            store,
            "multi-thread runtime, in a task",
            raw_write,
            next_raw,
            || time_calls_in_task(rt_multi, executor, spec, fresh_payments(1)),
        );
        if current_thread {
            paired_fresh_and_raw_writes(
                store,
                "current-thread runtime",
                raw_write,
                next_raw,
                || time_fresh_calls(rt, executor, spec, &fresh_payments(1)),
            );
        }
    }
}

/// Rounds of the paired measurement.
const PAIRED_ROUNDS: usize = 1_000;

/// Raw writes and fresh calls (`fresh_call` times one) taken in turns, so that both meet the same
/// disk: the fsync latency of a shared virtual disk drifts during a run, which moves two
/// benchmarks measured one after the other apart. `raw_write(i)` prepares the `i`-th raw write
/// (not timed) and returns it. Prints the medians and the median of the per-round ratios, under
/// `store` and `flavour`.
fn paired_fresh_and_raw_writes<W: FnOnce()>(
    store: &str,
    flavour: &str,
    raw_write: &dyn Fn(u64) -> W,
    next_raw: &AtomicU64,
    fresh_call: impl Fn() -> Duration,
) {
    let mut raw = Vec::with_capacity(PAIRED_ROUNDS);
    let mut fresh = Vec::with_capacity(PAIRED_ROUNDS);
    let mut ratios = Vec::with_capacity(PAIRED_ROUNDS);
    for round in 0..PAIRED_ROUNDS {
        let write = raw_write(next_raw.fetch_add(1, Ordering::Relaxed));
        let time_raw = || {
            let start = Instant::now();
            write();
            start.elapsed()
        };
        // Either goes first in turn.
        let (r, f) = if round % 2 == 0 {
            let r = time_raw();
            (r, fresh_call())
        } else {
            let f = fresh_call();
            (time_raw(), f)
        };
        raw.push(r);
        fresh.push(f);
        ratios.push(f.as_secs_f64() / r.as_secs_f64());
    }
    raw.sort();
    fresh.sort();
    ratios.sort_by(f64::total_cmp);
    let middle = PAIRED_ROUNDS / 2;
    println!(
        "executor on {store}/paired ({flavour}), {PAIRED_ROUNDS} rounds: raw write median \
         {:.1} µs, fresh call median {:.1} µs, median of the per-round ratios {:.2}x \
         (quartiles {:.2}x to {:.2}x)",
        raw[middle].as_secs_f64() * 1e6,
        fresh[middle].as_secs_f64() * 1e6,
        ratios[middle],
        ratios[PAIRED_ROUNDS / 4],
        ratios[PAIRED_ROUNDS * 3 / 4],
    );
}
