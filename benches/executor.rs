//! Executor overhead: what one idempotent call costs on top of the key, measured in the same run
//! as its baselines.
//!
//! - `MemoryStore`: a fresh call (a new key each iteration) and a replay (the same key), against
//!   calling the tool directly and against the key alone (and the key plus the arguments'
//!   fingerprint, the two hashes the executor computes).
//! - `RedbStore`: a fresh call and a replay, against a raw redb write transaction (insert and
//!   commit) and a raw read transaction (begin_read and get) of the same size, in a database of
//!   the same kind in the same temporary directory.
//! - `SqliteStore` (with `--features sqlite`, `executor/sqlite.rs`): the same, against raw
//!   SQLite statements through rusqlite, on a file with the same PRAGMAs and table.
//!
//! Every async measurement runs its whole loop inside one `block_on` of a current-thread Tokio
//! runtime (`iter_custom`), so that no iteration pays for entering the runtime.
//!
//! Run with `cargo bench --bench executor` (`--features sqlite` for `SqliteStore`);
//! BENCHMARKS.md has the tables.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
mod common;

use common::{ProcessPayment, Receipt, TOOL, charge, payment, receipt};
use file_stores::Subject;
use idem::clock::SystemClock;
use idem::executor::{Executor, Outcome, ToolInput};
use idem::spec::ToolSpec;
use idem::store::{MemoryStore, RecordKey, RedbStore};
use idem::strategy::KeyOptions;
use idem::{Context, Idempotent};
use redb::{Database, ReadableDatabase, TableDefinition};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

/// The tool, waiting once (a yield to the runtime) before it answers, as any tool with I/O does:
/// what makes the executor arm the renewal of the call's lease.
pub async fn charge_after_a_wait(
    args: &ProcessPayment,
) -> Result<Receipt, std::convert::Infallible> {
    tokio::task::yield_now().await;
    Ok(receipt(args))
}

/// Transaction ids never repeat within a run (the redb stores outlive a sample).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// `n` payments with transaction ids never used before.
fn fresh_payments(n: u64) -> Vec<ProcessPayment> {
    let first = NEXT_ID.fetch_add(n, Ordering::Relaxed);
    (first..first + n).map(payment).collect()
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

/// What `#[tokio::main]` builds, with one worker per core of this machine.
fn multi_thread_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a multi-thread runtime")
}

/// Runs `calls` of `args` (each a fresh payment, or the same one for replays) inside a task
/// spawned on `rt`, where a service's handlers run, and returns the time they took (the spawn
/// not included).
fn time_calls_in_task(
    rt: &Runtime,
    executor: &Arc<Executor>,
    spec: &Arc<ToolSpec>,
    calls: Vec<ProcessPayment>,
) -> Duration {
    let (executor, spec) = (Arc::clone(executor), Arc::clone(spec));
    rt.block_on(async move {
        tokio::spawn(async move {
            let ctx = Context::new();
            let start = Instant::now();
            for args in &calls {
                let done = executor
                    .execute(&spec, &ctx, args, || charge(args))
                    .await
                    .expect("a call");
                black_box(done);
            }
            start.elapsed()
        })
        .await
        .expect("the task")
    })
}

/// Runs a fresh call for each of `payments` and returns the time they took.
fn time_fresh_calls(
    rt: &Runtime,
    executor: &Executor,
    spec: &ToolSpec,
    payments: &[ProcessPayment],
) -> Duration {
    time_fresh_calls_of(rt, executor, spec, payments, Tool::Answers)
}

/// The tool a measurement calls.
#[derive(Clone, Copy)]
enum Tool {
    /// [`charge`]: answers at once.
    Answers,
    /// [`charge_after_a_wait`]: waits once, as a tool with I/O does.
    Waits,
}

/// Runs a fresh call of `tool` for each of `payments` and returns the time they took.
fn time_fresh_calls_of(
    rt: &Runtime,
    executor: &Executor,
    spec: &ToolSpec,
    payments: &[ProcessPayment],
    tool: Tool,
) -> Duration {
    let ctx = Context::new();
    rt.block_on(async {
        let start = Instant::now();
        for args in payments {
            let done = match tool {
                Tool::Answers => executor.execute(spec, &ctx, args, || charge(args)).await,
                Tool::Waits => {
                    executor
                        .execute(spec, &ctx, args, || charge_after_a_wait(args))
                        .await
                }
            };
            black_box(done.expect("a fresh call"));
        }
        start.elapsed()
    })
}

/// Removes the records of `payments` (not timed).
fn forget(rt: &Runtime, executor: &Executor, payments: &[ProcessPayment]) {
    let ctx = Context::new();
    rt.block_on(async {
        for args in payments {
            let key = Idempotent::idempotency_key(args, &ctx).expect("a key");
            let address = RecordKey {
                tool: TOOL,
                key: key.as_str(),
            };
            let removed = executor.store().delete(address).await.expect("a delete");
            assert!(
                removed,
                "the record of {address} was not where the executor put it"
            );
        }
    });
}

/// Runs `iters` replays of `args` (already executed) and returns the time they took.
fn time_replays(
    rt: &Runtime,
    executor: &Executor,
    spec: &ToolSpec,
    args: &ProcessPayment,
    iters: u64,
) -> Duration {
    let ctx = Context::new();
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let done = executor
                .execute(spec, &ctx, black_box(args), || charge(args))
                .await
                .expect("a replay");
            black_box(done);
        }
        start.elapsed()
    })
}

/// Executes `args` once so that later calls replay it, and checks that they do.
fn prime_replay(rt: &Runtime, executor: &Executor, spec: &ToolSpec, args: &ProcessPayment) {
    let ctx = Context::new();
    rt.block_on(async {
        let first = executor.execute(spec, &ctx, args, || charge(args)).await;
        assert_eq!(
            first.map(|e| e.outcome).ok(),
            Some(Outcome::Executed { took_over: false })
        );
        let again = executor.execute(spec, &ctx, args, || charge(args)).await;
        assert_eq!(
            again.map(|e| e.outcome).ok(),
            Some(Outcome::Replayed { args_differ: false })
        );
    });
}

fn memory_store(c: &mut Criterion) {
    let rt = runtime();
    let spec = ToolSpec::for_args::<ProcessPayment>()
        .build()
        .expect("a spec");
    assert_eq!(spec.id(), TOOL);
    let ctx = Context::new();
    let args = payment(u64::MAX / 2);

    let mut group = c.benchmark_group("executor overhead (MemoryStore)");
    group.bench_function("baseline: the tool called directly", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(charge(black_box(&args)).await.ok());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("baseline: key alone (derived idempotency_key)", |b| {
        b.iter(|| Idempotent::idempotency_key(black_box(&args), black_box(&ctx)).expect("a key"))
    });
    group.bench_function(
        "diagnosis: key + fingerprint, as the executor computes them",
        |b| {
            b.iter(|| {
                let args = black_box(&args);
                let options = KeyOptions::new().with_clock(&SystemClock);
                let key = ToolInput::idempotency_key(args, &spec, &ctx, &options).expect("a key");
                let fingerprint = ToolInput::fingerprint(args).expect("a fingerprint");
                (key, fingerprint)
            })
        },
    );
    // One store for every sample, emptied after each (not timed): its map keeps its capacity, as
    // the map of a store at a steady size does. Nothing is ever evicted.
    let steady = Executor::new(MemoryStore::with_capacity(usize::MAX));
    group.bench_function("executor: fresh call (new key each iteration)", |b| {
        b.iter_custom(|iters| {
            let payments = fresh_payments(iters);
            let elapsed = time_fresh_calls(&rt, &steady, &spec, &payments);
            forget(&rt, &steady, &payments);
            elapsed
        })
    });
    group.bench_function("baseline: a tool that waits once, called directly", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(charge_after_a_wait(black_box(&args)).await.ok());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function(
        "executor: fresh call, the tool waits once (lease renewal armed)",
        |b| {
            b.iter_custom(|iters| {
                let payments = fresh_payments(iters);
                let elapsed = time_fresh_calls_of(&rt, &steady, &spec, &payments, Tool::Waits);
                forget(&rt, &steady, &payments);
                elapsed
            })
        },
    );
    group.bench_function("diagnosis: fresh call, the store growing from empty", |b| {
        b.iter_custom(|iters| {
            // A new store per sample: its map grows (and rehashes) during the sample.
            let executor = Executor::new(MemoryStore::with_capacity(usize::MAX));
            time_fresh_calls(&rt, &executor, &spec, &fresh_payments(iters))
        })
    });
    let executor = Executor::new(MemoryStore::new());
    prime_replay(&rt, &executor, &spec, &args);
    group.bench_function("executor: replay (same key)", |b| {
        b.iter_custom(|iters| time_replays(&rt, &executor, &spec, &args, iters))
    });
    group.finish();
}

/// The raw baseline's table: what `RedbStore` keeps, a string address to bytes.
const RAW: TableDefinition<'static, &'static str, &'static [u8]> = TableDefinition::new("raw");

/// `"{n}:{tool}:{key}"` with a 64-digit key, the layout of a `RedbStore` address; the key is
/// [`raw_key`].
fn raw_address(i: u64) -> String {
    format!("20:payment-processor-v1:{}", raw_key(i))
}

/// A 64-digit key: the SHA-256 of `i` in hex, so that raw writes land all over the B-tree as
/// idem's keys do.
fn raw_key(i: u64) -> String {
    hex::encode(Sha256::digest(i.to_be_bytes()))
}

fn redb_store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = RedbStore::open(dir.path().join("idem.redb")).expect("a redb store");
    let subject = Subject::new(store);
    let (stored, value) = subject.primed_record();
    assert_eq!(
        raw_address(0).len(),
        stored.tool.len() + stored.key.len() + 4
    );

    let db = Database::create(dir.path().join("raw.redb")).expect("a redb database");
    let write = |address: &str| {
        let txn = db.begin_write().expect("a write transaction");
        txn.open_table(RAW)
            .expect("the table")
            .insert(address, value.as_slice())
            .expect("an insert");
        txn.commit().expect("a commit");
    };
    write(&raw_address(u64::MAX));
    let next_raw = AtomicU64::new(0);

    let mut group = c.benchmark_group("executor on RedbStore");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(
        format!(
            "baseline: raw redb write txn (insert {} B + commit)",
            value.len()
        ),
        |b| {
            b.iter_custom(|iters| {
                let first = next_raw.fetch_add(iters, Ordering::Relaxed);
                let addresses: Vec<String> = (first..first + iters).map(raw_address).collect();
                let start = Instant::now();
                for address in &addresses {
                    write(address);
                }
                start.elapsed()
            })
        },
    );
    let read_address = raw_address(u64::MAX);
    group.bench_function("baseline: raw redb read txn (begin_read + get)", |b| {
        b.iter(|| {
            let txn = db.begin_read().expect("a read transaction");
            let table = txn.open_table(RAW).expect("the table");
            let found = table.get(black_box(read_address.as_str())).expect("a get");
            found.map(|bytes| bytes.value().len())
        })
    });
    subject.bench_calls(&mut group, true);
    // On a current-thread runtime, RedbStore runs each operation on Tokio's blocking pool: one
    // round trip per operation.
    group.bench_function(
        "diagnosis: tokio spawn_blocking round trip (empty closure)",
        |b| {
            b.iter_custom(|iters| {
                subject.rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        tokio::task::spawn_blocking(|| black_box(1))
                            .await
                            .expect("the closure ran");
                    }
                    start.elapsed()
                })
            })
        },
    );
    group.finish();

    let raw = |i: u64| {
        let address = raw_address(i);
        move || write(&address)
    };
    subject.paired("RedbStore", &raw, &next_raw, true);
}

// Beside this file, not in `benches/` (where cargo would take them for benchmarks of their own).
#[path = "executor/file_stores.rs"]
mod file_stores;
#[cfg(feature = "sqlite")]
#[path = "executor/sqlite.rs"]
mod sqlite;

#[cfg(not(feature = "sqlite"))]
criterion_group!(benches, memory_store, redb_store);
#[cfg(feature = "sqlite")]
criterion_group!(benches, memory_store, redb_store, sqlite::sqlite_store);
criterion_main!(benches);
